"""The moto server, handling one request at a time, with two gaps to DynamoDB closed.

1. Atomicity. DynamoDB applies every write (and every transaction) atomically. moto's
   in-memory backend takes no lock, so under concurrent requests its check-then-write of a
   condition expression can interleave with another request's write and let both pass
   (seen: a lost update in the concurrency tests). Holding one lock around each request
   restores the atomicity the real service guarantees. Clients still send truly concurrent
   requests: connections are accepted in parallel and queue here, as they would at
   DynamoDB's item-level serialization.

2. Idempotent transactions. DynamoDB documents `ClientRequestToken` on
   `TransactWriteItems`: within 10 minutes, a request with the same token and the same
   parameters succeeds without being applied again, and the same token with other
   parameters fails with `IdempotentParameterMismatchException`. moto 5.2.5 ignores the
   token; this wrapper implements that contract (successful requests only, as DynamoDB).

For the tests' fault injection it also answers `POST /_fault/lose-next-response` (JSON body
`{"target": "DynamoDB_20120810.TransactWriteItems"}`): the next request with that
`X-Amz-Target` is applied, and its answer replaced by a retryable 500, as when a response
is lost after the write landed.

Usage: python moto_serialized.py -H 127.0.0.1 -p PORT   (same arguments as moto_server)
"""

import hashlib
import io
import json
import threading
import time

from moto import server
from moto.moto_server import werkzeug_app

_lock = threading.Lock()
_handle = werkzeug_app.DomainDispatcherApplication.__call__

IDEMPOTENCY_WINDOW_SECONDS = 600
_tokens = {}  # token -> (expires_at, request digest, status, headers, body)
_lose_next = set()  # X-Amz-Target values whose next answer is lost


def _call(self, environ, body):
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    captured = {}

    def start(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers

    chunks = list(_handle(self, environ, start))
    return captured["status"], captured["headers"], b"".join(chunks)


def _json_error(status, kind, message):
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{kind}", "message": message})
    headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-ErrorType", kind)]
    return status, headers, body.encode()


def _serve(self, environ):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    if environ.get("PATH_INFO") == "/_fault/lose-next-response":
        _lose_next.add(json.loads(body or b"{}").get("target", ""))
        return "200 OK", [("Content-Type", "application/json")], b"{}"
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    token = None
    if target == "DynamoDB_20120810.TransactWriteItems":
        try:
            token = json.loads(body).get("ClientRequestToken")
        except ValueError:
            token = None
    now = time.time()
    for key in [k for k, v in _tokens.items() if v[0] < now]:
        del _tokens[key]
    digest = hashlib.sha256(body).hexdigest()
    if token and token in _tokens:
        _, seen_digest, status, headers, answer = _tokens[token]
        if seen_digest != digest:
            return _json_error(
                "400 Bad Request",
                "IdempotentParameterMismatchException",
                "The request uses the same client token as a previous, but non-identical request.",
            )
    else:
        status, headers, answer = _call(self, environ, body)
        if token and status.startswith("200"):
            _tokens[token] = (now + IDEMPOTENCY_WINDOW_SECONDS, digest, status, headers, answer)
    if target in _lose_next:
        _lose_next.discard(target)
        return _json_error("500 Internal Server Error", "InternalServerError", "response lost")
    return status, headers, answer


def _serialized(self, environ, start_response):
    with _lock:
        status, headers, body = _serve(self, environ)
    start_response(status, headers)
    return [body]


werkzeug_app.DomainDispatcherApplication.__call__ = _serialized

if __name__ == "__main__":
    server.main()
