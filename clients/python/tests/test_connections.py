"""The Airflow mapping of each credential type (credentials_client.connections), on the
seven credentials the local server resolves by name, and on the OAuth answer that carries
an access token instead of the client secret."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

from api import secret
from conftest import Live

from credentials_client import ResolvedCredential, Secret
from credentials_client.connections import ConnectionFields, connection_fields


def mapped(live: Live, typed: dict[str, tuple[str, str]], prefix: str) -> ConnectionFields:
    name = next(n for n in typed if n.startswith(prefix))
    return connection_fields(live.resolver().resolve_by_name(name, "pytest:connections"))


def revealed(fields: ConnectionFields) -> tuple[str | None, dict[str, Any]]:
    password = fields.password.reveal() if fields.password else None
    return password, json.loads(fields.extra_json() or "{}")


def test_database(live: Live, typed: dict[str, tuple[str, str]]) -> None:
    fields = mapped(live, typed, "orders-db")
    password, extra = revealed(fields)
    assert (fields.conn_type, fields.host, fields.port) == (
        "postgres",
        "db.internal.example.com",
        5432,
    )
    assert (fields.schema, fields.login, password) == ("orders", "etl", secret("db-password"))
    assert extra == {"sslmode": "require"}


def test_aws(live: Live, typed: dict[str, tuple[str, str]]) -> None:
    fields = mapped(live, typed, "warehouse-aws")
    password, extra = revealed(fields)
    assert (fields.conn_type, fields.login, password) == (
        "aws",
        "AKIAEXAMPLEEXAMPLE01",
        secret("aws-secret"),
    )
    assert extra == {
        "region_name": "eu-west-1",
        "role_arn": "arn:aws:iam::123456789012:role/etl",
        "assume_role_kwargs": {"ExternalId": "etl-external"},
    }


def test_azure(live: Live, typed: dict[str, tuple[str, str]]) -> None:
    fields = mapped(live, typed, "lake-azure")
    password, extra = revealed(fields)
    assert (fields.conn_type, fields.login, password) == (
        "azure",
        "00000000-0000-0000-0000-000000000002",
        secret("azure-secret"),
    )
    tenant = "00000000-0000-0000-0000-000000000001"
    assert extra == {
        "tenantId": tenant,
        "tenant_id": tenant,
        "subscriptionId": "00000000-0000-0000-0000-000000000003",
    }


def test_gcp(live: Live, typed: dict[str, tuple[str, str]]) -> None:
    fields = mapped(live, typed, "analytics-gcp")
    password, extra = revealed(fields)
    assert (fields.conn_type, password) == ("google_cloud_platform", None)
    assert extra["project"] == "analytics-prod"
    assert json.loads(extra["keyfile_dict"]) == {"private_key": secret("gcp-key")}


def test_api_key(live: Live, typed: dict[str, tuple[str, str]]) -> None:
    fields = mapped(live, typed, "crm-api")
    password, extra = revealed(fields)
    assert (fields.conn_type, fields.host, password) == (
        "http",
        "https://api.crm.example.com",
        secret("api-key"),
    )
    assert extra == {"header_name": "X-Api-Key"}


def test_oauth_as_stored(live: Live, typed: dict[str, tuple[str, str]]) -> None:
    fields = mapped(live, typed, "billing-oauth")
    password, extra = revealed(fields)
    assert (fields.conn_type, fields.login, password) == (
        "http",
        "billing-etl",
        secret("oauth-access-token"),
    )
    assert extra == {"client_secret": secret("oauth-client-secret"), "scopes": ["invoices.read"]}


def test_password(live: Live, typed: dict[str, tuple[str, str]]) -> None:
    fields = mapped(live, typed, "sftp-password")
    password, extra = revealed(fields)
    assert (fields.conn_type, fields.host, fields.login, password) == (
        "http",
        "https://drop.example.com",
        "drop",
        secret("sftp-password"),
    )
    assert extra == {}


def credential(
    kind: str, visible: dict[str, Any], secrets: dict[str, str], stale: bool = False
) -> ResolvedCredential:
    return ResolvedCredential(
        id="cred_1", name="n", type=kind, status="active", version=1,
        updated_at="2026-01-01T00:00:00Z", secret_version=1, stage="current",
        rotated_at=None, valid_until=None, visible=MappingProxyType(visible),
        secrets=MappingProxyType({k: Secret(v) for k, v in secrets.items()}), stale=stale,
    )  # fmt: skip


def test_oauth_with_a_token_url_maps_the_access_token() -> None:
    # What resolve answers for an oauth credential with a token_url once the service
    # fetches tokens: an access token, no client_secret and no refresh_token.
    resolved = credential(
        "oauth",
        {
            "client_id": "billing-etl",
            "token_url": "https://auth.example.com/oauth/token",
            "token_type": "Bearer",
            "expires_at": "2026-12-01T10:00:00Z",
            "scopes": ["invoices.read"],
        },
        {"access_token": secret("token")},
        stale=True,
    )
    fields = connection_fields(resolved)
    password, extra = revealed(fields)
    assert (fields.conn_type, fields.login, password) == ("http", "billing-etl", secret("token"))
    assert extra == {
        "token_url": "https://auth.example.com/oauth/token",
        "token_type": "Bearer",
        "expires_at": "2026-12-01T10:00:00Z",
        "scopes": ["invoices.read"],
        "stale": True,
    }


def test_engines_and_their_conn_types() -> None:
    def conn_type(engine: str | None) -> str:
        visible = {"host": "h"} if engine is None else {"host": "h", "engine": engine}
        return connection_fields(credential("database", visible, {})).conn_type

    assert [conn_type(e) for e in ("postgresql", "mariadb", "sqlserver", "mongodb", None)] == [
        "postgres",
        "mysql",
        "mssql",
        "mongo",
        "generic",
    ]
    snowflake = connection_fields(
        credential(
            "database",
            {
                "engine": "snowflake",
                "host": "h",
                "account": "acme",
                "database": "DB",
                "schema": "S",
                "warehouse": "W",
            },
            {"password": "pw"},
        )
    )
    assert (snowflake.conn_type, snowflake.schema) == ("snowflake", "S")
    assert dict(snowflake.extra) == {"account": "acme", "database": "DB", "warehouse": "W"}
    mongo = connection_fields(
        credential("database", {"engine": "mongodb", "host": "h", "auth_source": "admin"}, {})
    )
    assert dict(mongo.extra) == {"authSource": "admin"}


def test_an_unknown_type_keeps_every_field_in_extras() -> None:
    fields = connection_fields(credential("kafka", {"brokers": "b:9092"}, {"sasl": "pw"}))
    assert fields.conn_type == "kafka"
    assert json.loads(fields.extra_json() or "{}") == {"brokers": "b:9092", "sasl": "pw"}
    assert "pw" not in repr(fields)
