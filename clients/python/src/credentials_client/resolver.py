"""`Resolver`: invokes `resolve-credential` by name or ARN with boto3, with an optional cache."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from . import errors, wire
from ._redact import hide_from_botocore_logs
from .cache import CacheStats, TTLCache
from .model import ResolvedCredential, Selector, Target, selector
from .secret import Secret

__version__ = "0.1.0"
USER_AGENT = f"credentials-client-python/{__version__}"

logger = logging.getLogger("credentials_client")

# Lambda's answers that mean "not now": retry later.
_UNAVAILABLE = {"TooManyRequestsException", "ServiceException", "ResourceNotReadyException"}

# As the Rust client: 5 s to connect; 65 s to read, longer than the resolver's own timeout
# (60 s), since a resolve that refreshes an OAuth token waits for the token endpoint and
# for another caller's refresh (a shorter read would invoke again while the first runs);
# three attempts for throttling and connection errors.
DEFAULT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=65,
    retries={"mode": "standard", "max_attempts": 3},
    user_agent_extra=USER_AGENT,
)


class LambdaInvoker(Protocol):
    """What the resolver needs of a boto3 Lambda client (any object with this `invoke`)."""

    def invoke(self, *, FunctionName: str, Payload: bytes) -> Mapping[str, object]: ...


CacheKey = tuple[Target, Selector, str]


class Resolver:
    """Resolves credentials through `resolve-credential`. Build one per process (or Lambda
    container) and share it: it is thread-safe.

    `function_name_or_arn`: the stack's `ResolveCredentialFunctionArn` output (or the
    function's name). `api_key`: a key with the `credentials:resolve` scope, from Secrets
    Manager or the environment, never from source code. `lambda_client`: a boto3 Lambda
    client (default: one with `DEFAULT_CONFIG`'s timeouts and retries). `cache_ttl`:
    seconds to keep each answer, per credential, version selector and purpose; None (the
    default) turns the cache off. With the cache on, concurrent callers of one key share one
    invocation; a hit makes no invocation, so the service records no audit event for it,
    and sees a rotation or a delete only once the entry expires, or through `fresh=True` or
    `resolve_newer_than`.
    """

    def __init__(
        self,
        function_name_or_arn: str,
        api_key: str | Secret,
        *,
        lambda_client: LambdaInvoker | None = None,
        cache_ttl: float | None = None,
        cache_max_entries: int = 256,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.function = function_name_or_arn
        self._api_key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        if not self._api_key:
            raise ValueError("the API key is empty")
        # Even at DEBUG, botocore must not log the event (it carries the key).
        hide_from_botocore_logs(self._api_key)
        self._lambda = lambda_client if lambda_client is not None else _default_client()
        self._cache: TTLCache[ResolvedCredential] | None = (
            TTLCache(cache_ttl, cache_max_entries, clock) if cache_ttl is not None else None
        )

    def __repr__(self) -> str:
        ttl = self._cache.ttl if self._cache is not None else None
        return f"Resolver(function={self.function!r}, cache_ttl={ttl!r})"

    @property
    def cache_stats(self) -> CacheStats | None:
        return self._cache.stats if self._cache is not None else None

    def resolve(
        self,
        credential_id: str,
        purpose: str,
        *,
        stage: str | None = None,
        version: int | None = None,
        fresh: bool = False,
    ) -> ResolvedCredential:
        """The credential `credential_id` with the secrets of its current version (or of
        `stage`, or of `version`); `purpose` (1–200 printable characters, e.g.
        `pipeline:orders-nightly/run-42`) says why, and the service records it. `fresh`
        skips the cache, and its answer replaces what the cache held."""
        return self.resolve_target(
            Target.by_id(credential_id), purpose, stage=stage, version=version, fresh=fresh
        )

    def resolve_by_name(
        self,
        name: str,
        purpose: str,
        *,
        stage: str | None = None,
        version: int | None = None,
        fresh: bool = False,
    ) -> ResolvedCredential:
        """As `resolve`, naming the credential by its name (any case)."""
        return self.resolve_target(
            Target.by_name(name), purpose, stage=stage, version=version, fresh=fresh
        )

    def resolve_target(
        self,
        target: Target,
        purpose: str,
        *,
        stage: str | None = None,
        version: int | None = None,
        fresh: bool = False,
    ) -> ResolvedCredential:
        chosen = selector(stage, version)
        if self._cache is None:
            return self._invoke(target, chosen, purpose)
        key: CacheKey = (target, chosen, purpose)
        if not fresh:
            return self._cache.get_or_load(key, lambda: self._invoke(target, chosen, purpose))
        try:
            resolved = self._invoke(target, chosen, purpose)
        except errors.ResolveError:
            self._cache.forget(key)
            raise
        self._cache.put(key, resolved)
        return resolved

    def resolve_newer_than(
        self, credential_id_or_name: str | Target, failed_version: int, purpose: str
    ) -> ResolvedCredential:
        """After a downstream system refused the secrets of `failed_version` (their
        `secret_version`): the current version if it is newer, fetched past the cache (and
        cached in place of the stale one), else `NoNewerVersion`. Never `failed_version`
        again. A string is an id when it has an id's shape, else a name."""
        target = Target.parse(credential_id_or_name)
        current = self.resolve_target(target, purpose, fresh=True)
        if current.secret_version > failed_version:
            return current
        raise errors.NoNewerVersion(current.secret_version)

    def _invoke(self, target: Target, chosen: Selector, purpose: str) -> ResolvedCredential:
        payload = wire.event(target, chosen, purpose, self._api_key, USER_AGENT)
        try:
            output = self._lambda.invoke(FunctionName=self.function, Payload=payload)
        except ClientError as error:
            raise _client_error(error) from None
        except (HTTPClientError, BotoConnectionError):
            logger.warning("lambda Invoke failed: no answer (connection or timeout)")
            raise errors.Unavailable() from None
        except BotoCoreError as error:
            # Configuration: no region, no AWS credentials, a bad parameter.
            logger.warning("lambda Invoke failed: %s", type(error).__name__)
            raise errors.Failed(type(error).__name__) from None
        if output.get("FunctionError"):
            logger.warning("lambda Invoke: the function failed")
            raise errors.Failed("the function failed")
        return wire.answer(_read(output.get("Payload")))


def _client_error(error: ClientError) -> errors.ResolveError:
    code = str(error.response.get("Error", {}).get("Code", "none"))
    logger.warning("lambda Invoke failed: %s", code)
    if code in _UNAVAILABLE:
        headers = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        return errors.Unavailable(wire.retry_after(headers))
    if code == "ResourceNotFoundException":
        return errors.Failed("the resolve function does not exist")
    return errors.Failed(f"Invoke was refused ({code})")


def _read(payload: object) -> bytes:
    """The Invoke answer's payload: a botocore StreamingBody (or bytes, from a stub)."""
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    read = getattr(payload, "read", None)
    if read is None:
        raise errors.Failed("empty answer")
    try:
        data = read()
    except (BotoCoreError, OSError):
        raise errors.Unavailable() from None
    finally:
        close = getattr(payload, "close", None)
        if close is not None:
            close()
    if not isinstance(data, bytes):
        raise errors.Failed("empty answer")
    return data


def _default_client() -> LambdaInvoker:
    import boto3  # here: a resolver given a client needs no default session

    client: LambdaInvoker = boto3.client("lambda", config=DEFAULT_CONFIG)
    return client
