"""The event `resolve-credential` expects and the reading of its answer, as the Rust client
(clients/rust/src/lib.rs) builds and reads them."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from . import errors
from .model import ResolvedCredential, Selector, Target
from .secret import Secret

ROUTE = "POST /api/credentials/{id}/resolve"


def event(
    target: Target, selector: Selector, purpose: str, api_key: Secret, user_agent: str
) -> bytes:
    """The API Gateway HTTP API (2.0) event, as bytes. It carries the API key: the caller
    sends it and drops it, and nothing logs it. By name, the path keeps the route's `{id}`
    template and the body names the credential."""
    body: dict[str, Any] = {"purpose": purpose}
    if isinstance(selector, int):
        body["version"] = selector
    elif selector is not None:
        body["stage"] = selector
    if target.kind == "name":
        body["name"] = target.value
        path_id, parameters = "{id}", {}
    else:
        path_id, parameters = target.value, {"id": target.value}
    path = f"/api/credentials/{path_id}/resolve"
    return json.dumps(
        {
            "version": "2.0",
            "routeKey": ROUTE,
            "rawPath": path,
            "rawQueryString": "",
            "headers": {
                "authorization": f"Bearer {api_key.reveal()}",
                "content-type": "application/json",
                "user-agent": user_agent,
            },
            "requestContext": {
                "http": {
                    "method": "POST",
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": user_agent,
                },
                "routeKey": ROUTE,
                "stage": "$default",
            },
            "pathParameters": parameters,
            "body": json.dumps(body),
            "isBase64Encoded": False,
        }
    ).encode()


def _malformed() -> errors.Failed:
    return errors.Failed("the answer does not parse")


def answer(payload: bytes) -> ResolvedCredential:
    """Reads the function's result (`statusCode`, `headers`, `body`): the credential, or
    the typed error its status and code mean."""
    try:
        result = json.loads(payload)
    except ValueError:
        raise _malformed() from None
    if not isinstance(result, dict):
        raise _malformed()
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int):
        raise _malformed()
    raw = result.get("body")
    raw = raw if isinstance(raw, str) else ""
    if result.get("isBase64Encoded") is True:
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise _malformed() from None
    else:
        body = raw.encode()
    if status == 200:
        return credential(body)
    raise error(status, body, result.get("headers"))


def error(status: int, body: bytes, headers: object) -> errors.ResolveError:
    """The typed error of a non-200 answer (the API's `error.code` decides among 409s)."""
    code = ""
    try:
        parsed = json.loads(body)
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
            found = parsed["error"].get("code")
            code = found if isinstance(found, str) else ""
    except ValueError:
        pass
    if status == 404:
        return errors.NotFound()
    if status == 409:
        conflict = {
            "credential_deleted": errors.Deleted,
            "version_expired": errors.VersionExpired,
            "version_destroyed": errors.VersionDestroyed,
            "reauthorization_required": errors.ReauthorizationRequired,
        }.get(code)
        if conflict is not None:
            return conflict()
    if status == 401:
        return errors.Unauthorized()
    if status == 403:
        return errors.Forbidden()
    if 400 <= status <= 499:
        return errors.Invalid(code)
    if status == 503:
        return errors.Unavailable(retry_after(headers))
    return errors.Failed(f"status {status}")


def retry_after(headers: object) -> int | None:
    """`Retry-After` as delay-seconds (header names in any case); an HTTP date or anything
    else is ignored."""
    if not isinstance(headers, Mapping):
        return None
    for name, value in headers.items():
        if isinstance(name, str) and name.lower() == "retry-after":
            text = str(value).strip()
            return int(text) if text.isascii() and text.isdigit() else None
    return None


def credential(body: bytes) -> ResolvedCredential:
    """Parses a 200 body (`{"data": …}`), moving secret values into `Secret`s."""
    try:
        parsed = json.loads(body)
    except ValueError:
        raise _malformed() from None
    data = parsed.get("data") if isinstance(parsed, dict) else None
    if not isinstance(data, dict):
        raise _malformed()
    config = data.get("config")
    fields = data.get("secret_fields")
    if not isinstance(config, dict) or not isinstance(fields, list):
        raise _malformed()
    secret_names = {f for f in fields if isinstance(f, str)}
    secrets: dict[str, Secret] = {}
    visible: dict[str, Any] = {}
    for name, value in config.items():
        if name not in secret_names:
            visible[name] = value
        elif isinstance(value, str):
            secrets[name] = Secret(value)
        elif value is not None:
            # An undeclared sealed number, boolean or list: kept, as its JSON text.
            secrets[name] = Secret(json.dumps(value))
    return ResolvedCredential(
        id=_text(data, "id"),
        name=_text(data, "name"),
        type=_text(data, "type"),
        status=_text(data, "status"),
        version=_number(data, "version"),
        updated_at=_text(data, "updated_at"),
        secret_version=_number(data, "secret_version"),
        stage=_optional(data, "stage"),
        rotated_at=_optional(data, "rotated_at"),
        valid_until=_optional(data, "valid_until"),
        visible=MappingProxyType(visible),
        secrets=MappingProxyType(secrets),
        stale=data.get("stale") is True,
    )


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise _malformed()
    return value


def _number(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _malformed()
    return value


def _optional(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None
