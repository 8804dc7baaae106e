"""The Credentials API's HTTP routes, for making fixtures (standard library only: the
Airflow check uses it from a venv without the test tools)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

CANARY = "canary-5e3c7"


def secret(label: str) -> str:
    """A secret value: every one carries the canary that the log and repr checks look for."""
    return f"{label}-{CANARY}"


class Api:
    def __init__(self, base: str, key: str) -> None:
        self.base = base.rstrip("/") + "/api"
        self.key = key

    def request(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def ok(self, method: str, path: str, body: object = None) -> Any:
        status, answer = self.request(method, path, body)
        if status >= 300:
            raise AssertionError(f"{method} {path}: {status} {answer}")
        return answer["data"]

    def create(self, name: str, kind: str, config: dict[str, Any], **more: Any) -> str:
        data = self.ok(
            "POST", "/credentials", {"name": name, "type": kind, "config": config, **more}
        )
        return str(data["id"])

    def set_secret(self, credential_id: str, config: dict[str, Any]) -> int:
        """An update that sets a secret: a new current version; returns its number."""
        data = self.ok("PUT", f"/credentials/{credential_id}", {"config": config})
        return int(data["secret_version"])

    def delete(self, credential_id: str) -> None:
        self.ok("DELETE", f"/credentials/{credential_id}")

    def destroy_version(self, credential_id: str, version: int) -> None:
        self.ok("DELETE", f"/credentials/{credential_id}/versions/{version}")


def seven_types(suffix: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """One credential of each type: name -> (type, config). Secrets carry the canary."""
    return {
        f"orders-db-{suffix}": (
            "database",
            {
                "engine": "postgresql",
                "host": "db.internal.example.com",
                "port": 5432,
                "database": "orders",
                "username": "etl",
                "password": secret("db-password"),
                "ssl_mode": "require",
            },
        ),
        f"warehouse-aws-{suffix}": (
            "aws",
            {
                "region": "eu-west-1",
                "role_arn": "arn:aws:iam::123456789012:role/etl",
                "external_id": "etl-external",
                "access_key_id": "AKIAEXAMPLEEXAMPLE01",
                "secret_access_key": secret("aws-secret"),
            },
        ),
        f"lake-azure-{suffix}": (
            "azure",
            {
                "tenant_id": "00000000-0000-0000-0000-000000000001",
                "client_id": "00000000-0000-0000-0000-000000000002",
                "client_secret": secret("azure-secret"),
                "subscription_id": "00000000-0000-0000-0000-000000000003",
            },
        ),
        f"analytics-gcp-{suffix}": (
            "gcp",
            {
                "project_id": "analytics-prod",
                "credentials_json": json.dumps({"private_key": secret("gcp-key")}),
            },
        ),
        f"crm-api-{suffix}": (
            "api_key",
            {
                "api_key": secret("api-key"),
                "base_url": "https://api.crm.example.com",
                "header_name": "X-Api-Key",
            },
        ),
        f"billing-oauth-{suffix}": (
            "oauth",
            {
                "client_id": "billing-etl",
                "client_secret": secret("oauth-client-secret"),
                "access_token": secret("oauth-access-token"),
                "scopes": ["invoices.read"],
            },
        ),
        f"sftp-password-{suffix}": (
            "password",
            {
                "username": "drop",
                "password": secret("sftp-password"),
                "url": "https://drop.example.com",
            },
        ),
    }
