"""What a resolve names (a credential, a version) and what it returns."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .secret import Secret

Stage = Literal["current", "previous", "pending"]
STAGES: tuple[Stage, ...] = ("current", "previous", "pending")

# Which secret version: a stage other than current, a version number, or None (current).
# Current is None, so that `stage="current"` and no stage share one cache entry.
Selector = Literal["previous", "pending"] | int | None

_ID = re.compile(r"^cred_[0-9a-hjkmnp-tv-z]{26}$")


@dataclass(frozen=True)
class Target:
    """Which credential: by id, or by its name (one more read on the service's side)."""

    kind: Literal["id", "name"]
    value: str

    @classmethod
    def by_id(cls, credential_id: str) -> Target:
        return cls("id", credential_id)

    @classmethod
    def by_name(cls, name: str) -> Target:
        return cls("name", name)

    @classmethod
    def parse(cls, id_or_name: str | Target) -> Target:
        """An id when the text has the shape of one (`cred_` and 26 base32 characters),
        else a name. A name of that exact shape must be passed as `Target.by_name`."""
        if isinstance(id_or_name, Target):
            return id_or_name
        return cls.by_id(id_or_name) if _ID.match(id_or_name) else cls.by_name(id_or_name)


def selector(stage: str | None, version: int | None) -> Selector:
    """The selector of `resolve`'s `stage` and `version` keywords (not both)."""
    if stage is not None and version is not None:
        raise ValueError("pass stage or version, not both")
    if version is not None:
        # bool is an int in Python; the service wants a number.
        if isinstance(version, bool) or not isinstance(version, int):
            raise TypeError("version is an int")
        return version
    if stage is None or stage == "current":
        return None
    if stage == "previous":
        return "previous"
    if stage == "pending":
        return "pending"
    raise ValueError("stage is 'current', 'previous' or 'pending'")


@dataclass(frozen=True, repr=False)
class ResolvedCredential:
    """A credential with its secrets. `repr`/`str` show secret field names, never values.

    `visible` holds the fields that are not secret, as JSON values; `secrets` the secret
    ones as `Secret`s. A secret that is not a string (an undeclared number, boolean or list)
    is kept as its JSON text: `json.loads(cred.secret("x").reveal())`.
    """

    id: str
    name: str
    type: str
    status: str
    version: int
    updated_at: str
    # The secret version resolved (0: secrets written before versions existed).
    secret_version: int
    # The stage that version carries now (None for an old version asked by number).
    stage: str | None
    # When the current version became current.
    rotated_at: str | None
    # For `previous`: when its grace window ends.
    valid_until: str | None
    visible: Mapping[str, Any]
    secrets: Mapping[str, Secret]
    # OAuth: the service answered an access token it could not refresh (still valid).
    stale: bool = False

    def secret(self, name: str) -> Secret | None:
        return self.secrets.get(name)

    def __repr__(self) -> str:
        return (
            f"ResolvedCredential(id={self.id!r}, name={self.name!r}, type={self.type!r}, "
            f"secret_version={self.secret_version}, stage={self.stage!r}, "
            f"visible={sorted(self.visible)!r}, secrets={sorted(self.secrets)!r})"
        )

    __str__ = __repr__
