"""Every error kind through boto3: from the local server where it can answer it, from the
stub Invoke API (tests/stub_lambda.py) for what it cannot (Lambda's own errors, a function
error, garbage, `reauthorization_required`, which the service does not answer yet)."""

from __future__ import annotations

import socket
import time
import traceback

import pytest
from conftest import Live
from helpers import lambda_client
from stub_lambda import StubLambda

from credentials_client import (
    Deleted,
    Failed,
    Forbidden,
    Invalid,
    NotFound,
    ReauthorizationRequired,
    ResolveError,
    Resolver,
    Unauthorized,
    Unavailable,
    VersionDestroyed,
    VersionExpired,
)
from credentials_client.wire import _malformed

PURPOSE = "pytest:errors"
UNKNOWN = "cred_01j9k2m4n5p6q7r8s9t0v1w2x3"


def test_not_found(live: Live) -> None:
    with pytest.raises(NotFound):
        live.resolver().resolve(UNKNOWN, PURPOSE)
    with pytest.raises(NotFound):
        live.resolver().resolve_by_name(f"no-such-{live.suffix}", PURPOSE)
    credential, _ = live.new_database("no-version-9")
    with pytest.raises(NotFound):
        live.resolver().resolve(credential, PURPOSE, version=9)


def test_deleted(live: Live) -> None:
    credential, name = live.new_database("deleted")
    live.api.delete(credential)
    with pytest.raises(Deleted):
        live.resolver().resolve(credential, PURPOSE)
    with pytest.raises(Deleted):
        live.resolver().resolve_by_name(name, PURPOSE)


def test_version_expired(live: Live) -> None:
    # A zero grace window ends `previous` once the second of the rotation is over: the
    # server's clock has whole seconds, so the resolve waits for the next one.
    credential, _ = live.new_database("no-grace", rotation_grace_seconds=0)
    live.api.set_secret(credential, {"password": "second-canary-5e3c7"})
    resolver = live.resolver()
    try:
        resolver.resolve(credential, PURPOSE, stage="previous")
    except VersionExpired:
        return
    time.sleep(1.05 - time.time() % 1)
    with pytest.raises(VersionExpired):
        resolver.resolve(credential, PURPOSE, stage="previous")


def test_version_destroyed(live: Live) -> None:
    credential, _ = live.new_database("destroyed")
    live.api.set_secret(credential, {"password": "second-canary-5e3c7"})
    live.api.destroy_version(credential, 1)
    with pytest.raises(VersionDestroyed):
        live.resolver().resolve(credential, PURPOSE, version=1)


def test_unauthorized_and_forbidden(live: Live) -> None:
    credential, _ = live.new_database("keys")
    wrong = Resolver(
        "resolve-credential",
        "cak_00000000000000000000000000000000000000000000",
        lambda_client=lambda_client(live.endpoint),
    )
    with pytest.raises(Unauthorized):
        wrong.resolve(credential, PURPOSE)
    read_only = Resolver(
        "resolve-credential", live.read_key, lambda_client=lambda_client(live.endpoint)
    )
    with pytest.raises(Forbidden):
        read_only.resolve(credential, PURPOSE)


def test_invalid(live: Live) -> None:
    # A purpose: 1 to 200 printable characters.
    for purpose in ("", "x" * 201, "run\u0007"):
        with pytest.raises(Invalid) as refused:
            live.resolver().resolve(UNKNOWN, purpose)
        assert refused.value.code == "validation_failed"


def test_unavailable_when_the_service_cannot_reach_its_store(live: Live) -> None:
    down = Resolver("resolve-credential", live.key, lambda_client=lambda_client(live.down))
    with pytest.raises(Unavailable) as unavailable:
        down.resolve(UNKNOWN, PURPOSE)
    assert unavailable.value.retry_after is None


def test_an_unknown_function_fails(live: Live) -> None:
    missing = Resolver("no-such-function", live.key, lambda_client=lambda_client(live.endpoint))
    with pytest.raises(Failed, match="does not exist"):
        missing.resolve(UNKNOWN, PURPOSE)


def test_nothing_listening_is_unavailable() -> None:
    # A port nothing listens on: one a socket had, closed again.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    nobody = Resolver(
        "resolve-credential", "cak_x", lambda_client=lambda_client(f"http://127.0.0.1:{closed}")
    )
    with pytest.raises(Unavailable):
        nobody.resolve(UNKNOWN, PURPOSE)


@pytest.mark.parametrize(
    ("function", "expected", "detail"),
    [
        ("reauthorization", ReauthorizationRequired, None),
        ("unavailable-retry-after", Unavailable, 7),
        ("throttled", Unavailable, 3),
        ("service-error", Unavailable, None),
        ("internal-error", Failed, "status 500"),
        ("teapot", Invalid, "teapot"),
        ("not-json", Failed, "the answer does not parse"),
        ("no-status", Failed, "the answer does not parse"),
        ("function-error", Failed, "the function failed"),
        ("denied", Failed, "Invoke was refused (AccessDeniedException)"),
        ("missing", Failed, "the resolve function does not exist"),
    ],
)
def test_answers_only_the_stub_gives(
    stub: StubLambda, function: str, expected: type[ResolveError], detail: object
) -> None:
    resolver = Resolver(function, "cak_x", lambda_client=lambda_client(stub.url))
    with pytest.raises(expected) as raised:
        resolver.resolve(UNKNOWN, PURPOSE)
    error = raised.value
    if isinstance(error, Unavailable):
        assert error.retry_after == detail
    elif isinstance(error, Failed):
        assert error.reason == detail
    elif isinstance(error, Invalid):
        assert error.code == detail
    # Server text reaches neither the message nor the traceback (botocore's exception is
    # not chained).
    assert "server says" not in "".join(traceback.format_exception(error))


def test_failed_messages_name_no_server_text() -> None:
    assert str(_malformed()) == "resolving failed: the answer does not parse"
