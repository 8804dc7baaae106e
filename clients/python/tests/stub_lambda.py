"""A Lambda Invoke API on 127.0.0.1 that answers what the local server cannot be made to:
Lambda's throttling and service errors, a function error, an answer that does not parse, a
500, a 503 with Retry-After, and `reauthorization_required` (not answered by the service
yet). The function name picks the answer; every request is counted."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _result(status: int, code: str, headers: dict[str, str] | None = None) -> bytes:
    body = json.dumps({"error": {"code": code, "message": "server says", "request_id": "req_stub"}})
    result = {"statusCode": status, "headers": headers or {}, "body": body}
    return json.dumps(result).encode()


# function name -> (HTTP status, extra headers, body)
ANSWERS: dict[str, tuple[int, dict[str, str], bytes]] = {
    "reauthorization": (200, {}, _result(409, "reauthorization_required")),
    "unavailable-retry-after": (200, {}, _result(503, "service_unavailable", {"Retry-After": "7"})),
    "internal-error": (200, {}, _result(500, "internal_error")),
    "teapot": (200, {}, _result(418, "teapot")),
    "not-json": (200, {}, b"<html>not json</html>"),
    "no-status": (200, {}, b'{"body": "{}"}'),
    "function-error": (
        200,
        {"X-Amz-Function-Error": "Unhandled"},
        b'{"errorMessage": "server says", "errorType": "Panic"}',
    ),
    "throttled": (
        429,
        {"x-amzn-ErrorType": "TooManyRequestsException", "Retry-After": "3"},
        b'{"Type": "User", "message": "server says", "Reason": "CallerRateLimitExceeded"}',
    ),
    "service-error": (
        500,
        {"x-amzn-ErrorType": "ServiceException"},
        b'{"Type": "Service", "Message": "server says"}',
    ),
    "denied": (
        403,
        {"x-amzn-ErrorType": "AccessDeniedException"},
        b'{"Type": "User", "Message": "server says"}',
    ),
}


class StubLambda:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                name = self.path.split("/functions/", 1)[-1].split("/", 1)[0]
                stub.calls[name] += 1
                status, headers, body = ANSWERS.get(
                    name, (404, {"x-amzn-ErrorType": "ResourceNotFoundException"}, b"{}")
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> StubLambda:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
