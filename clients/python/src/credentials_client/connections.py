"""A resolved credential as the fields of an Airflow connection, per credential type.

Pure (no Airflow import), so that the mapping is tested without Airflow; the secrets
backend (`credentials_client.airflow`) turns the result into an `airflow` `Connection`.
Secret values stay `Secret`s here (in `password` and in `extra`) until `extra_json()`
and the backend reveal them for Airflow, so a `repr` of the fields shows none.
docs/python-client.md has the table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import ResolvedCredential
from .secret import Secret

# database `engine` -> Airflow conn_type (the provider's `conn_type`).
ENGINE_CONN_TYPES: Mapping[str, str] = {
    "postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlserver": "mssql",
    "oracle": "oracle",
    "snowflake": "snowflake",
    "redshift": "redshift",
    "bigquery": "gcpbigquery",
    "databricks": "databricks",
    "mongodb": "mongo",
    "clickhouse": "clickhouse",
}

# Extras renamed to what the provider's hook reads (libpq's `sslmode`, pymongo's camelCase).
_EXTRA_NAMES: Mapping[str, Mapping[str, str]] = {
    "postgres": {"ssl_mode": "sslmode"},
    "redshift": {"ssl_mode": "sslmode"},
    "mongo": {"auth_source": "authSource", "replica_set": "replicaSet"},
}


@dataclass(frozen=True)
class ConnectionFields:
    """What an Airflow `Connection` is made of. `password` and secret extras are `Secret`s."""

    conn_type: str
    host: str | None = None
    port: int | None = None
    schema: str | None = None
    login: str | None = None
    password: Secret | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None

    def extra_json(self) -> str | None:
        """The extras as Airflow stores them (JSON text), secrets revealed; None if none."""
        if not self.extra:
            return None
        return json.dumps(self.extra, default=_reveal, sort_keys=True)


def _reveal(value: object) -> str:
    if isinstance(value, Secret):
        return value.reveal()
    raise TypeError(f"{type(value).__name__} is not JSON")


class _Fields:
    """The credential's fields, taken one by one; what is left goes to the extras."""

    def __init__(self, credential: ResolvedCredential) -> None:
        self._left: dict[str, Any] = dict(credential.visible)
        self._left.update(credential.secrets)

    def take(self, name: str) -> Any:
        return self._left.pop(name, None)

    def text(self, name: str) -> str | None:
        value = self.take(name)
        return value if isinstance(value, str) else None

    def secret(self, name: str) -> Secret | None:
        value = self.take(name)
        return value if isinstance(value, Secret) else None

    def rest(self, renames: Mapping[str, str] | None = None) -> dict[str, Any]:
        names = renames or {}
        return {names.get(k, k): v for k, v in sorted(self._left.items())}


def _port(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _database(c: ResolvedCredential, f: _Fields) -> ConnectionFields:
    engine = f.text("engine")
    conn_type = ENGINE_CONN_TYPES.get(engine or "", engine or "generic")
    host, port = f.text("host"), _port(f.take("port"))
    login, password = f.text("username"), f.secret("password")
    # Snowflake's hook reads the schema from `schema` and the database from the extras.
    schema = f.text("schema") if conn_type == "snowflake" else f.text("database")
    extra = f.rest(_EXTRA_NAMES.get(conn_type))
    return ConnectionFields(conn_type, host, port, schema, login, password, extra)


def _aws(c: ResolvedCredential, f: _Fields) -> ConnectionFields:
    # The amazon provider: keys as login/password, the rest in extras it reads;
    # ExternalId and DurationSeconds are passed to sts:AssumeRole through assume_role_kwargs.
    login, password = f.text("access_key_id"), f.secret("secret_access_key")
    extra: dict[str, Any] = {"region_name": f.take("region")}
    duration = f.take("duration_seconds")
    if isinstance(duration, float) and duration.is_integer():
        duration = int(duration)  # sts:AssumeRole takes an integer
    assume = {"ExternalId": f.take("external_id"), "DurationSeconds": duration}
    for name, value in (
        ("role_arn", f.take("role_arn")),
        ("aws_session_token", f.take("session_token")),
        ("endpoint_url", f.take("endpoint_url")),
        ("assume_role_kwargs", {k: v for k, v in assume.items() if v is not None}),
    ):
        if value:
            extra[name] = value
    extra.update(f.rest())
    return ConnectionFields("aws", login=login, password=password, extra=extra)


def _azure(c: ResolvedCredential, f: _Fields) -> ConnectionFields:
    # The microsoft-azure provider: the service principal as login/password; the tenant as
    # `tenantId` (azure hooks) and `tenant_id` (wasb), the subscription as `subscriptionId`.
    login, password = f.text("client_id"), f.secret("client_secret")
    tenant = f.take("tenant_id")
    extra: dict[str, Any] = {"tenantId": tenant, "tenant_id": tenant}
    subscription = f.take("subscription_id")
    if subscription is not None:
        extra["subscriptionId"] = subscription
    extra.update(f.rest())
    return ConnectionFields("azure", login=login, password=password, extra=extra)


def _gcp(c: ResolvedCredential, f: _Fields) -> ConnectionFields:
    # The google provider: the key file's JSON text as `keyfile_dict` (its hook parses it),
    # the project as `project`; impersonation as `impersonation_chain`.
    extra: dict[str, Any] = {
        "keyfile_dict": f.take("credentials_json"),
        "project": f.take("project_id"),
    }
    chain = f.take("impersonate_service_account")
    if chain is not None:
        extra["impersonation_chain"] = chain
    extra.update(f.rest())
    return ConnectionFields("google_cloud_platform", extra=extra)


def _api_key(c: ResolvedCredential, f: _Fields) -> ConnectionFields:
    host, password = f.text("base_url"), f.secret("api_key")
    return ConnectionFields("http", host=host, password=password, extra=f.rest())


def _oauth(c: ResolvedCredential, f: _Fields) -> ConnectionFields:
    # With a token_url the service answers the access token (token_type, expires_at,
    # scopes) and neither client_secret nor refresh_token; without one, what is stored.
    login, password = f.text("client_id"), f.secret("access_token")
    extra = f.rest()
    if c.stale:
        extra["stale"] = True
    return ConnectionFields("http", login=login, password=password, extra=extra)


def _password(c: ResolvedCredential, f: _Fields) -> ConnectionFields:
    host, login, password = f.text("url"), f.text("username"), f.secret("password")
    return ConnectionFields("http", host=host, login=login, password=password, extra=f.rest())


def _other(c: ResolvedCredential, f: _Fields) -> ConnectionFields:
    # A type this client does not know yet: every field in the extras.
    return ConnectionFields(c.type, extra=f.rest())


_BY_TYPE: Mapping[str, Callable[[ResolvedCredential, _Fields], ConnectionFields]] = {
    "database": _database,
    "aws": _aws,
    "azure": _azure,
    "gcp": _gcp,
    "api_key": _api_key,
    "oauth": _oauth,
    "password": _password,
}


def connection_fields(credential: ResolvedCredential) -> ConnectionFields:
    """The Airflow connection fields of `credential` (by its type; see the module doc)."""
    mapped = _BY_TYPE.get(credential.type, _other)(credential, _Fields(credential))
    description = (
        f"{credential.type} credential {credential.id}, "
        f"secret version {credential.secret_version} (Credentials API)"
    )
    return ConnectionFields(
        mapped.conn_type,
        mapped.host,
        mapped.port,
        mapped.schema,
        mapped.login,
        mapped.password,
        {k: v for k, v in mapped.extra.items() if v is not None},
        description,
    )
