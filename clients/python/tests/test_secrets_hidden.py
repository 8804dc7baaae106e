"""No secret in a log line, a repr, a str or an error: every log record of the process (the
client's, botocore's and urllib3's, at DEBUG) is captured while credentials are resolved,
shown and failed, then searched for the canary every test secret carries, and for the API
key, which botocore would print at DEBUG but for the client's filter."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from api import CANARY
from conftest import Live
from helpers import lambda_client
from stub_lambda import StubLambda

from credentials_client import AsyncResolver, ResolveError, Resolver
from credentials_client.connections import connection_fields


@pytest.fixture
def everything_logged() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_no_secret_in_logs_reprs_or_errors(
    live: Live,
    typed: dict[str, tuple[str, str]],
    stub: StubLambda,
    everything_logged: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = logging.getLogger("pytest.secrets")
    resolver = live.resolver(cache_ttl=60)
    shown = [repr(resolver), repr(AsyncResolver(resolver))]
    for name, (credential, _) in typed.items():
        resolved = resolver.resolve(credential, "pytest:secrets")
        by_name = resolver.resolve_by_name(name, "pytest:secrets", fresh=True)
        fields = connection_fields(by_name)
        # What careless code does with them: print, log, format.
        print(resolved, by_name.secrets, fields)
        log.info("resolved %s %r %s", resolved, resolved, dict(resolved.secrets))
        log.info("connection %r", fields)
        shown += [
            repr(resolved),
            str(resolved),
            f"{resolved}",
            repr(fields),
            repr(resolved.secrets),
        ]
        assert any(CANARY in s.reveal() for s in resolved.secrets.values())
    failures = [
        Resolver("reauthorization", live.key, lambda_client=lambda_client(stub.url)),
        Resolver("throttled", live.key, lambda_client=lambda_client(stub.url)),
        Resolver("resolve-credential", live.key, lambda_client=lambda_client(live.down)),
    ]
    for failing in failures:
        with pytest.raises(ResolveError) as raised:
            failing.resolve(next(iter(typed.values()))[0], "pytest:secrets")
        log.error("resolve failed", exc_info=raised.value)
        shown.append(repr(raised.value))

    logged = everything_logged.getvalue()
    printed = capsys.readouterr()
    # The capture saw botocore's request lines (which carry the event) and the client's
    # warnings: the search below is over real output.
    assert "Making request for OperationModel(name=Invoke)" in logged
    assert "lambda Invoke failed: TooManyRequestsException" in logged
    assert "Bearer ***" in logged  # the key, redacted where botocore printed the event
    for text in (logged, printed.out, printed.err, *shown):
        assert CANARY not in text
        assert live.key not in text
