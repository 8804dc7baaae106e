"""Schemathesis hooks for the Credentials API: a check that no submitted secret value ever
comes back in a response. Loaded with SCHEMATHESIS_HOOKS=schemathesis_hooks."""

import schemathesis

# Same rule as shared/src/schema.rs: names that make a config field secret.
SECRET_MARKERS = (
    "password", "passwd", "secret", "token", "private_key", "privatekey", "api_key",
    "apikey", "passphrase", "credentials_json", "connection_string", "sas_key",
)
# Shorter values could occur in a response by chance (a digit in an id, a date).
MIN_CHECKED_LENGTH = 8


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _submitted_secrets(body):
    if not isinstance(body, dict) or not isinstance(body.get("config"), dict):
        return set()
    config = body["config"]
    secret_keys = {k for k in config if isinstance(k, str) and any(m in k.lower() for m in SECRET_MARKERS)}
    secrets = {v for k, v in config.items() if k in secret_keys and isinstance(v, str)}
    # A value also sent in a non-secret place may rightly come back from there.
    public = set(_strings({k: v for k, v in body.items() if k != "config"}))
    public |= set(_strings({k: v for k, v in config.items() if k not in secret_keys}))
    return {s for s in secrets - public if len(s) >= MIN_CHECKED_LENGTH}


@schemathesis.check
def no_secret_in_response(ctx, response, case):
    for secret in _submitted_secrets(case.body):
        if secret in response.text:
            raise AssertionError("A submitted secret value came back in the response")
