"""A secret value that does not show itself by accident."""

from __future__ import annotations

import hmac
from typing import NoReturn

_MASK = "***"


class Secret:
    """Holds a secret string. `repr`, `str`, f-strings, `%s` in log calls and `print` show
    `***`; only `reveal()` gives the value. Not a `str` subclass, so it cannot be passed
    where text is expected without an explicit `reveal()`."""

    __slots__ = ("__weakref__", "_value")

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a secret is a string")
        self._value = value

    def reveal(self) -> str:
        """The value: call it where it is used, and keep what it returns out of logs."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            # In constant time: a comparison must not tell how much of a guess was right.
            return hmac.compare_digest(self._value.encode(), other._value.encode())
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    # Pickling (multiprocessing, a cache on disk) would carry the value out of the process
    # silently: refused; pass `reveal()` explicitly where that is meant.
    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")
