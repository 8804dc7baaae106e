"""An Airflow secrets backend: a connection id is a credential's name.

    [secrets]
    backend = credentials_client.airflow.CredentialsSecretsBackend
    backend_kwargs = {"function_name": "credentials-api-prod-resolve-credential",
                      "api_key_secret_id": "credentials-api/airflow-resolve-key"}

The API key comes from an environment variable (`api_key_env`) or a Secrets Manager secret
(`api_key_secret_id`: the secret's text, or a JSON object with an `api_key` member), never
from the configuration itself. Connections only: variables and config are not served
(None: Airflow asks its next backend). docs/python-client.md has the per-type table.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any

from airflow.secrets import BaseSecretsBackend

from . import errors
from .connections import connection_fields
from .model import ResolvedCredential
from .resolver import DEFAULT_CONFIG, LambdaInvoker, Resolver
from .secret import Secret

logger = logging.getLogger("credentials_client.airflow")


class CredentialsSecretsBackend(BaseSecretsBackend):
    def __init__(
        self,
        function_name: str,
        *,
        api_key_env: str | None = None,
        api_key_secret_id: str | None = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        purpose: str = "airflow:connection/{conn_id}",
        cache_ttl: float | None = None,
        **unknown: Any,
    ) -> None:
        super().__init__()
        if "api_key" in unknown:
            raise ValueError(
                "do not put the API key in backend_kwargs: name its source "
                "(api_key_env or api_key_secret_id)"
            )
        if unknown:
            raise TypeError(f"unknown backend_kwargs: {', '.join(sorted(unknown))}")
        if (api_key_env is None) == (api_key_secret_id is None):
            raise ValueError("set exactly one of api_key_env and api_key_secret_id")
        self.function_name = function_name
        self.api_key_env = api_key_env
        self.api_key_secret_id = api_key_secret_id
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        self.purpose = purpose
        self.cache_ttl = cache_ttl
        self._lock = threading.Lock()
        self._resolver: Resolver | None = None

    def get_conn_value(self, conn_id: str, team_name: str | None = None) -> str | None:
        """The connection named `conn_id` as Airflow's JSON form, or None when no credential
        has that name. Airflow makes the `Connection` (of its core or of its Task SDK, as the
        context needs) from it. Other failures raise: Airflow logs them and asks its next
        backend."""
        purpose = self.purpose.format(conn_id=conn_id)
        try:
            credential = self._resolve(conn_id, purpose)
        except errors.NotFound:
            return None
        except errors.ResolveError as error:
            # Airflow logs a backend's failure at DEBUG only: say it where it is seen.
            logger.warning("connection %r: %s", conn_id, error)
            raise
        except Exception as error:
            # The key's source (an unset variable, Secrets Manager) or the configuration.
            logger.warning("connection %r: %s", conn_id, type(error).__name__)
            raise
        fields = connection_fields(credential)
        return json.dumps(
            {
                "conn_type": fields.conn_type,
                "description": fields.description,
                "host": fields.host,
                "port": fields.port,
                "schema": fields.schema,
                "login": fields.login,
                "password": fields.password.reveal() if fields.password else None,
                "extra": json.loads(fields.extra_json() or "{}"),
            }
        )

    def get_variable(self, key: str, team_name: str | None = None) -> str | None:
        return None

    def get_config(self, key: str) -> str | None:
        return None

    def _resolve(self, name: str, purpose: str) -> ResolvedCredential:
        try:
            return self._get_resolver().resolve_by_name(name, purpose)
        except errors.Unauthorized:
            if self.api_key_secret_id is None:
                raise
            # The key in Secrets Manager may have been rotated since it was read: read it
            # again, once.
            with self._lock:
                self._resolver = None
            return self._get_resolver().resolve_by_name(name, purpose)

    def _get_resolver(self) -> Resolver:
        with self._lock:
            if self._resolver is None:
                self._resolver = Resolver(
                    self.function_name,
                    self._api_key(),
                    lambda_client=self._lambda_client(),
                    cache_ttl=self.cache_ttl,
                )
            return self._resolver

    def _lambda_client(self) -> LambdaInvoker:
        import boto3

        client: LambdaInvoker = boto3.client(
            "lambda",
            region_name=self.region_name,
            endpoint_url=self.endpoint_url,
            config=DEFAULT_CONFIG,
        )
        return client

    def _api_key(self) -> Secret:
        if self.api_key_env is not None:
            value = os.environ.get(self.api_key_env, "")
            if not value:
                raise ValueError(f"the environment variable {self.api_key_env} is not set")
            return Secret(value)
        import boto3

        assert self.api_key_secret_id is not None
        client = boto3.client("secretsmanager", region_name=self.region_name)
        text = client.get_secret_value(SecretId=self.api_key_secret_id).get("SecretString", "")
        if text.lstrip().startswith("{"):
            member = json.loads(text).get("api_key")
            text = member if isinstance(member, str) else ""
        if not text:
            raise ValueError(f"the secret {self.api_key_secret_id} holds no API key")
        return Secret(text)
