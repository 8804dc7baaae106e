"""The event and the reading of answers, without a server (the Rust client's unit tests,
and the cases it does not have)."""

from __future__ import annotations

import base64
import json
import pickle
from typing import Any

import pytest

from credentials_client import (
    Deleted,
    Failed,
    Forbidden,
    Invalid,
    NotFound,
    ReauthorizationRequired,
    ResolveError,
    Secret,
    Target,
    Unauthorized,
    Unavailable,
    VersionDestroyed,
    VersionExpired,
)
from credentials_client.model import selector
from credentials_client.wire import answer, event

KEY = Secret("cak_test")


def result(status: int, body: Any, headers: dict[str, str] | None = None) -> bytes:
    text = json.dumps(body)
    return json.dumps({"statusCode": status, "headers": headers or {}, "body": text}).encode()


def body(e: bytes) -> Any:
    return json.loads(json.loads(e)["body"])


def test_events_name_the_target_and_the_version() -> None:
    by_id = json.loads(event(Target.by_id("cred_1"), None, "p", KEY, "ua"))
    assert by_id["pathParameters"] == {"id": "cred_1"}
    assert by_id["rawPath"] == "/api/credentials/cred_1/resolve"
    assert by_id["requestContext"]["http"]["path"] == "/api/credentials/cred_1/resolve"
    assert by_id["headers"]["authorization"] == "Bearer cak_test"
    assert json.loads(by_id["body"]) == {"purpose": "p"}
    previous = event(Target.by_id("cred_1"), "previous", "p", KEY, "ua")
    assert body(previous) == {"purpose": "p", "stage": "previous"}
    numbered = event(Target.by_id("cred_1"), 4, "p", KEY, "ua")
    assert body(numbered) == {"purpose": "p", "version": 4}
    named = json.loads(event(Target.by_name("Orders DB"), "pending", "p", KEY, "ua"))
    assert named["pathParameters"] == {}
    assert named["rawPath"] == "/api/credentials/{id}/resolve"
    assert json.loads(named["body"]) == {"purpose": "p", "stage": "pending", "name": "Orders DB"}


def test_selectors() -> None:
    assert selector(None, None) is None
    assert selector("current", None) is None  # one cache entry for both spellings
    assert selector("previous", None) == "previous"
    assert selector(None, 3) == 3
    with pytest.raises(ValueError, match="not both"):
        selector("previous", 3)
    with pytest.raises(ValueError, match="stage is"):
        selector("latest", None)
    with pytest.raises(TypeError):
        selector(None, True)


def test_targets_parse_ids_and_names() -> None:
    assert Target.parse("cred_01j9k2m4n5p6q7r8s9t0v1w2x3") == Target.by_id(
        "cred_01j9k2m4n5p6q7r8s9t0v1w2x3"
    )
    assert Target.parse("orders-db") == Target.by_name("orders-db")
    assert Target.parse("cred_short") == Target.by_name("cred_short")


DATA = {
    "id": "cred_1",
    "name": "db",
    "type": "database",
    "status": "active",
    "version": 3,
    "updated_at": "2026-01-01T00:00:00Z",
    "secret_version": 2,
    "stage": "current",
    "rotated_at": "2026-01-01T00:00:00Z",
    "secret_fields": ["password", "pin", "hosts"],
    "config": {
        "host": "h",
        "port": 5432,
        "password": "s3cr3t-canary-5e3c7",
        "pin": 1234,
        "hosts": ["a", "b"],
    },
}


def test_a_resolved_credential_keeps_secrets_apart_and_out_of_repr() -> None:
    resolved = answer(result(200, {"data": DATA}))
    assert dict(resolved.visible) == {"host": "h", "port": 5432}
    password = resolved.secret("password")
    assert password is not None and password.reveal() == "s3cr3t-canary-5e3c7"
    # Undeclared sealed values that are not strings: kept, as JSON text.
    pin, hosts = resolved.secret("pin"), resolved.secret("hosts")
    assert pin is not None and json.loads(pin.reveal()) == 1234
    assert hosts is not None and json.loads(hosts.reveal()) == ["a", "b"]
    assert (resolved.secret_version, resolved.stage, resolved.valid_until) == (2, "current", None)
    for shown in (repr(resolved), str(resolved), f"{resolved}", repr(resolved.secrets)):
        assert "canary-5e3c7" not in shown
    assert "password" in repr(resolved)


def test_a_base64_body_is_read() -> None:
    text = json.dumps({"data": DATA}).encode()
    payload = {"statusCode": 200, "body": base64.b64encode(text).decode(), "isBase64Encoded": True}
    assert answer(json.dumps(payload).encode()).id == "cred_1"


def test_secrets_do_not_show_and_do_not_pickle() -> None:
    value = Secret("pw-canary-5e3c7")
    for shown in (repr(value), str(value), f"{value}", f"{value!r}", "%s" % value):  # noqa: UP031
        assert "canary" not in shown
    assert value == Secret("pw-canary-5e3c7") and value != Secret("other")
    with pytest.raises(TypeError):
        pickle.dumps(value)
    with pytest.raises(TypeError):
        Secret(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (404, "not_found", NotFound),
        (409, "credential_deleted", Deleted),
        (409, "version_expired", VersionExpired),
        (409, "version_destroyed", VersionDestroyed),
        (409, "reauthorization_required", ReauthorizationRequired),
        (401, "unauthorized", Unauthorized),
        (403, "forbidden", Forbidden),
        (503, "service_unavailable", Unavailable),
    ],
)
def test_errors_are_typed(status: int, code: str, expected: type[ResolveError]) -> None:
    with pytest.raises(expected):
        answer(result(status, {"error": {"code": code, "message": "server text"}}))


def test_other_answers() -> None:
    with pytest.raises(Invalid) as invalid:
        answer(result(400, {"error": {"code": "validation_failed"}}))
    assert invalid.value.code == "validation_failed"
    with pytest.raises(Invalid) as conflict:  # another 409: a 4xx like the others
        answer(result(409, {"error": {"code": "invalid_state"}}))
    assert conflict.value.code == "invalid_state"
    with pytest.raises(Unavailable) as unavailable:
        answer(result(503, {"error": {"code": "service_unavailable"}}, {"Retry-After": "12"}))
    assert unavailable.value.retry_after == 12
    with pytest.raises(Unavailable) as dated:
        answer(result(503, {}, {"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}))
    assert dated.value.retry_after is None
    with pytest.raises(Failed, match="status 500"):
        answer(result(500, {"error": {"code": "internal_error"}}))
    for garbage in (b"not json", b"[]", b'{"statusCode": "200"}', result(200, {"data": {}})):
        with pytest.raises(Failed, match="does not parse"):
            answer(garbage)


def test_errors_survive_pickling() -> None:
    # Executors and multiprocessing pickle what a worker raised.
    for error in (NotFound(), Invalid("validation_failed"), Unavailable(3), Failed("x")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)
    assert pickle.loads(pickle.dumps(Unavailable(3))).retry_after == 3


def test_messages_are_fixed_text() -> None:
    for error in (Invalid("validation_failed"), Unavailable(3), Failed("status 500")):
        assert "server text" not in str(error)
    assert str(NotFound()) == "no such credential"
