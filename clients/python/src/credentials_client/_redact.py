"""Keeps the API key out of botocore's DEBUG logs.

At DEBUG, botocore's endpoint logger prints each request's parameters, and an Invoke's
payload is the event, which carries the API key in its `authorization` header. A filter on
the loggers that print requests and answers replaces the text of every registered key with
`***` before any handler sees the record. Answers are not at risk there: Invoke's payload
is a stream, which botocore logs as an object, not as its content.
"""

from __future__ import annotations

import logging
import threading
import weakref

from .secret import Secret

# The loggers that print request parameters, prepared requests or answers.
_LOGGERS = (
    "botocore.endpoint",
    "botocore.parsers",
    "botocore.auth",
    "botocore.hooks",
    "botocore.retryhandler",
    "urllib3.connectionpool",
)


class _Redact(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        # Weak references by identity (not a WeakSet: equal keys held by two resolvers
        # would share one entry, which would go when the first resolver does).
        self._refs: list[weakref.ref[Secret]] = []

    def add(self, secret: Secret) -> None:
        with self._lock:
            self._refs = [r for r in self._refs if r() is not None and r() is not secret]
            self._refs.append(weakref.ref(secret))

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            values = [s.reveal() for s in (r() for r in self._refs) if s is not None]
        if not values:
            return True
        try:
            text = record.getMessage()
        except Exception:  # a record that does not format: let logging report it
            return True
        redacted = text
        for value in values:
            redacted = redacted.replace(value, "***")
        if redacted != text:
            record.msg, record.args = redacted, None
        return True


_FILTER = _Redact()
_installed = False
_install_lock = threading.Lock()


def hide_from_botocore_logs(secret: Secret) -> None:
    """Redacts `secret` from the botocore and urllib3 loggers' records from now on."""
    global _installed
    with _install_lock:
        if not _installed:
            for name in _LOGGERS:
                logging.getLogger(name).addFilter(_FILTER)
            _installed = True
    _FILTER.add(secret)
