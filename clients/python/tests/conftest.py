"""Fixtures: the local server (its Lambda Invoke API and HTTP routes), keys, credentials.

scripts/test.sh sets, for a server it started on 127.0.0.1:
  PYCLIENT_ENDPOINT    the local server (`http://127.0.0.1:<port>`)
  PYCLIENT_DOWN        a second server whose DynamoDB and KMS do not answer (its 503s)
  PYCLIENT_KEY         a key with read, write, purge and resolve (fixtures and resolves)
  PYCLIENT_READ_KEY    a key of the same workspace without resolve (403)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from api import Api, secret, seven_types
from helpers import Counting, lambda_client
from stub_lambda import StubLambda

from credentials_client import Resolver

if TYPE_CHECKING:
    pass


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the suite through scripts/test.sh", returncode=2)
    return value


@dataclass
class Live:
    endpoint: str
    down: str
    key: str
    read_key: str
    api: Api
    suffix: str

    def resolver(self, **options: Any) -> Resolver:
        options.setdefault("lambda_client", lambda_client(self.endpoint))
        return Resolver("resolve-credential", self.key, **options)

    def counting(self) -> Counting:
        return Counting(lambda_client(self.endpoint))

    def new_database(self, label: str, **more: Any) -> tuple[str, str]:
        """A fresh database credential (secret version 1); returns its id and name."""
        name = f"{label}-{self.suffix}"
        config = {"engine": "postgresql", "host": "db.example.com", "password": secret(label)}
        return self.api.create(name, "database", config, **more), name


@pytest.fixture(scope="session")
def live() -> Live:
    endpoint = _env("PYCLIENT_ENDPOINT")
    key = _env("PYCLIENT_KEY")
    # Names are unique per run, so the suite can run twice against one `make dev`.
    suffix = uuid.uuid4().hex[:8]
    return Live(
        endpoint, _env("PYCLIENT_DOWN"), key, _env("PYCLIENT_READ_KEY"), Api(endpoint, key), suffix
    )


@pytest.fixture(scope="session")
def typed(live: Live) -> dict[str, tuple[str, str]]:
    """One credential of each of the seven types: name -> (id, type)."""
    made = {}
    for name, (kind, config) in seven_types(live.suffix).items():
        made[name] = (live.api.create(name, kind, config), kind)
    return made


@pytest.fixture(scope="session")
def stub() -> Iterator[StubLambda]:
    with StubLambda() as running:
        yield running
