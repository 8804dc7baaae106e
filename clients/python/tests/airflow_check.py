"""The Airflow secrets backend in real Apache Airflow (the pinned one, .venv-airflow), without
a DAG: `Connection.get_connection_from_secrets(name)` for one credential of each type,
through `[secrets] backend` configured as a deployment would, once with the API key in an
environment variable and once in Secrets Manager (the emulator's).

Usage: airflow_check.py <base url> <api key>   (scripts/test.sh runs it in .venv-airflow;
Secrets Manager is the one AWS_ENDPOINT_URL names, the emulator)

The parent makes the credentials and the secret, then runs each configuration in a child
process (Airflow reads its configuration once, at import) and checks that no output of
either child carries a secret value.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from typing import Any

from api import CANARY, Api, seven_types

BACKEND = "credentials_client.airflow.CredentialsSecretsBackend"
KEY_VAR = "CREDENTIALS_API_KEY"


def expected(name: str, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """What each connection must hold (the table in docs/python-client.md)."""
    if kind == "database":
        return {
            "conn_type": "postgres",
            "host": config["host"],
            "port": config["port"],
            "schema": config["database"],
            "login": config["username"],
            "password": config["password"],
            "extra": {"sslmode": config["ssl_mode"]},
        }
    if kind == "aws":
        return {
            "conn_type": "aws",
            "login": config["access_key_id"],
            "password": config["secret_access_key"],
            "extra": {
                "region_name": config["region"],
                "role_arn": config["role_arn"],
                "assume_role_kwargs": {"ExternalId": config["external_id"]},
            },
        }
    if kind == "azure":
        return {
            "conn_type": "azure",
            "login": config["client_id"],
            "password": config["client_secret"],
            "extra": {
                "tenantId": config["tenant_id"],
                "tenant_id": config["tenant_id"],
                "subscriptionId": config["subscription_id"],
            },
        }
    if kind == "gcp":
        return {
            "conn_type": "google_cloud_platform",
            "password": None,
            "extra": {"keyfile_dict": config["credentials_json"], "project": config["project_id"]},
        }
    if kind == "api_key":
        return {
            "conn_type": "http",
            "host": config["base_url"],
            "password": config["api_key"],
            "extra": {"header_name": config["header_name"]},
        }
    if kind == "oauth":
        return {
            "conn_type": "http",
            "login": config["client_id"],
            "password": config["access_token"],
            "extra": {"client_secret": config["client_secret"], "scopes": config["scopes"]},
        }
    return {
        "conn_type": "http",
        "host": config["url"],
        "login": config["username"],
        "password": config["password"],
        "extra": {},
    }


def check(names: dict[str, Any]) -> None:
    """In the child: Airflow configured through its environment variables."""
    from airflow.configuration import ensure_secrets_loaded
    from airflow.models.connection import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    from credentials_client.airflow import CredentialsSecretsBackend

    backend = ensure_secrets_loaded()[0]
    assert isinstance(backend, CredentialsSecretsBackend), type(backend)
    for name, (kind, config) in names.items():
        conn = Connection.get_connection_from_secrets(name)
        want = expected(name, kind, config)
        got = {
            "conn_type": conn.conn_type,
            "host": conn.host,
            "port": conn.port,
            "schema": conn.schema,
            "login": conn.login,
            "password": conn.password,
            "extra": conn.extra_dejson,
        }
        for field, value in want.items():
            assert got[field] == value, f"{name}: {field} is not as mapped"
        assert conn.conn_id == name and conn.description
        print(f"ok: {kind:8} {name} -> conn_type {conn.conn_type}")
    unknown = f"no-such-credential-{uuid.uuid4().hex[:8]}"
    assert backend.get_connection(unknown) is None
    try:
        Connection.get_connection_from_secrets(unknown)
        raise AssertionError("an unknown name was found")
    except AirflowNotFoundException:
        print("ok: an unknown name: the backend answers None, Airflow AirflowNotFoundException")
    assert backend.get_variable("anything") is None and backend.get_config("core") is None
    try:
        CredentialsSecretsBackend("resolve-credential", api_key="cak_inline")
        raise AssertionError("an inline key was accepted")
    except ValueError:
        print("ok: a key inline in backend_kwargs is refused")


def run(source: str, names: dict[str, Any], base: str, key: str, secret_id: str) -> str:
    """One child: Airflow with the backend, the key from `source`."""
    kwargs: dict[str, Any] = {
        "function_name": "resolve-credential",
        "endpoint_url": base,
        "region_name": "us-east-1",
        "cache_ttl": 30,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    if source == "env":
        kwargs["api_key_env"] = KEY_VAR
        env[KEY_VAR] = key
    else:
        kwargs["api_key_secret_id"] = secret_id
    with tempfile.TemporaryDirectory() as home:
        env.update(
            {
                "AIRFLOW_HOME": home,
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__SECRETS__BACKEND": BACKEND,
                "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(kwargs),
                "AIRFLOW_CHECK_NAMES": json.dumps(names),
            }
        )
        child = subprocess.run(  # noqa: S603 (this interpreter and this file)
            [sys.executable, __file__, "--child"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    output = child.stdout + child.stderr
    assert CANARY not in output and key not in output, f"{source}: a secret in the output"
    if child.returncode != 0:
        sys.exit(f"FAILED ({source}):\n{output}")
    return child.stdout


def main() -> None:
    if sys.argv[1:] == ["--child"]:
        check(json.loads(os.environ["AIRFLOW_CHECK_NAMES"]))
        return
    base, key = sys.argv[1], sys.argv[2]
    api = Api(base, key)
    suffix = uuid.uuid4().hex[:8]
    names = seven_types(f"airflow-{suffix}")
    for name, (kind, config) in names.items():
        api.create(name, kind, config)
    import boto3

    secret_id = f"credentials-api/airflow-resolve-key-{suffix}"
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name=secret_id, SecretString=json.dumps({"api_key": key})
    )
    for source in ("env", "secretsmanager"):
        print(f"-- key from {source}")
        print(run(source, names, base, key, secret_id), end="")
    print(
        f"airflow: {len(names)} connection types mapped, with the key from env and Secrets Manager"
    )


if __name__ == "__main__":
    main()
