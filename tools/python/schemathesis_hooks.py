"""Schemathesis hooks for the Credentials API: a check that no submitted secret value ever
comes back in a response. Loaded with SCHEMATHESIS_HOOKS=schemathesis_hooks.

Which submitted values are secret, without restating the service's classifier:
- a field the type declares is secret exactly when openapi.yaml declares it a `Secret`
  (so `token_url` is visible, `refresh_token` secret);
- an undeclared field is secret when its name contains one of a few unmistakable markers
  (a floor the service must meet; its own rule is wider), or when the answer itself lists
  it in `secret_fields` (what the service sealed must not come back either).
"""

import json
import pathlib

import schemathesis
import yaml

MARKERS = ("password", "passwd", "secret", "token", "private_key", "privatekey", "api_key", "apikey")
# Shorter values could occur in a response by chance (a digit in an id, a date).
MIN_CHECKED_LENGTH = 8

_SPEC = yaml.safe_load((pathlib.Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())
_SCHEMAS = _SPEC["components"]["schemas"]


def _declared(kind):
    """{field: is_secret} of a credential type, from its `<Type>Config` schema."""
    name = "".join(part.capitalize() for part in str(kind).split("_")) + "Config"
    props = _SCHEMAS.get(name, {}).get("properties", {})
    return {field: schema.get("$ref", "").endswith("/Secret") for field, schema in props.items()}


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _answer_data(response):
    try:
        data = json.loads(response.text).get("data")
    except (ValueError, AttributeError):
        return {}
    return data if isinstance(data, dict) else {}


def _submitted_secrets(body, answer):
    if not isinstance(body, dict) or not isinstance(body.get("config"), dict):
        return set()
    config = body["config"]
    sealed = set(answer.get("secret_fields") or [])
    # An update body need not name the type: the answer does.
    declared = _declared(body.get("type") or answer.get("type"))

    def is_secret(key):
        if not isinstance(key, str):
            return False
        if key in declared:
            return declared[key]
        return key in sealed or any(m in key.lower() for m in MARKERS)

    secret_keys = {k for k in config if is_secret(k)}
    secrets = {v for k, v in config.items() if k in secret_keys and isinstance(v, str)}
    # A value also sent in a non-secret place may rightly come back from there.
    public = set(_strings({k: v for k, v in body.items() if k != "config"}))
    public |= set(_strings({k: v for k, v in config.items() if k not in secret_keys}))
    return {s for s in secrets - public if len(s) >= MIN_CHECKED_LENGTH}


@schemathesis.check
def no_secret_in_response(ctx, response, case):
    for secret in _submitted_secrets(case.body, _answer_data(response)):
        if secret in response.text:
            raise AssertionError("A submitted secret value came back in the response")
