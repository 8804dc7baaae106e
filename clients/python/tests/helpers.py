"""Helpers of the suite: a loopback Lambda client, a counting client, waiting, a clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient


def lambda_client(endpoint: str) -> LambdaClient:
    """boto3's Lambda client on a loopback endpoint, one attempt (the stub counts calls)."""
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"mode": "standard", "max_attempts": 1}, read_timeout=60),
    )


class Counting:
    """A Lambda client that counts its invocations; `gate`, if set, runs before each."""

    def __init__(self, client: LambdaClient) -> None:
        self.client = client
        self.calls = 0
        self.gate: Callable[[], None] | None = None
        self._lock = threading.Lock()

    def invoke(self, *, FunctionName: str, Payload: bytes) -> Mapping[str, object]:
        with self._lock:
            self.calls += 1
        if self.gate is not None:
            self.gate()
        return self.client.invoke(FunctionName=FunctionName, Payload=Payload)


def wait_until(condition: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    """Waits for `condition` (a state other threads reach); the limit only turns a hang into
    a failure, it is not what a test asserts."""
    deadline = time.monotonic() + limit
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never reached: {what}")
        pause.wait(0.005)


class Clock:
    """An injected clock: time moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now
