"""Why a credential could not be resolved: the Rust client's `ResolveError`, one class per
variant. Messages are fixed text here: never a secret, never text from the server or AWS."""

from __future__ import annotations


class ResolveError(Exception):
    """Base of every error a resolve raises."""

    message = "resolving failed"

    def __init__(self) -> None:
        super().__init__(self.message)

    # Picklable (multiprocessing, executors) although the constructors differ from
    # Exception's: rebuilt from what each one keeps.
    def __reduce__(self) -> tuple[type[ResolveError], tuple[object, ...]]:
        return (type(self), self._arguments())

    def _arguments(self) -> tuple[object, ...]:
        return ()


class NotFound(ResolveError):
    """404: no such credential (or version) in the key's workspace, or purged."""

    message = "no such credential"


class Deleted(ResolveError):
    """409 `credential_deleted`: soft-deleted. Fail the run without retrying; restoring
    the credential makes it resolvable again."""

    message = "the credential is deleted; restore it to use it"


class VersionExpired(ResolveError):
    """409 `version_expired`: `previous` past its grace window (resolve current)."""

    message = "the previous version's grace window has ended"


class VersionDestroyed(ResolveError):
    """409 `version_destroyed`: that version's sealed data was destroyed."""

    message = "that secret version was destroyed"


class ReauthorizationRequired(ResolveError):
    """409 `reauthorization_required`: an OAuth credential whose refresh token the
    provider refused; a person must authorize it again."""

    message = "the OAuth credential must be authorized again"


class NoNewerVersion(ResolveError):
    """`resolve_newer_than`: the current version is still the one that failed."""

    def __init__(self, current: int) -> None:
        self.current = current
        self.message = f"no secret version newer than {current} exists yet"
        super().__init__()

    def _arguments(self) -> tuple[object, ...]:
        return (self.current,)


class Unauthorized(ResolveError):
    """401: the API key is missing, unknown or revoked."""

    message = "the API key is missing, unknown or revoked"


class Forbidden(ResolveError):
    """403: the API key lacks the `credentials:resolve` scope."""

    message = "the API key lacks the credentials:resolve scope"


class Invalid(ResolveError):
    """Another 4xx: the id, name or purpose was refused; `code` is the API's error code
    (e.g. `validation_failed`), empty when the answer had none."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.message = f"the request was refused ({code})"
        super().__init__()

    def _arguments(self) -> tuple[object, ...]:
        return (self.code,)


class Unavailable(ResolveError):
    """The service or AWS could not answer now (503, Lambda throttling, a timeout): retry
    later. `retry_after` is the answer's `Retry-After` in seconds, when it had one."""

    message = "the credentials service is unavailable; retry"

    def __init__(self, retry_after: int | None = None) -> None:
        self.retry_after = retry_after
        super().__init__()

    def _arguments(self) -> tuple[object, ...]:
        return (self.retry_after,)


class Failed(ResolveError):
    """Anything else: a 5xx, a function error, an answer that does not parse, an unknown
    function, an Invoke that IAM refused. `reason` is fixed text or an AWS error code."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.message = f"resolving failed: {reason}"
        super().__init__()

    def _arguments(self) -> tuple[object, ...]:
        return (self.reason,)
