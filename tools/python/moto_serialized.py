"""The moto server, handling one request at a time, with two gaps to DynamoDB closed and a
leak stopped.

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

3. Memory. moto's `BaseModel` appends every model object it ever creates to a class-level
   list (`instances_tracked`, read only by its dashboard and by S3's reset), so the copies of
   the table `TransactWriteItems` makes (gap 4: one per operation, to roll back a cancelled
   transaction) are never freed: memory grows with transactions times table size, and so do the
   garbage collector's pauses, which hold every request (seen in `make bench`: 11.6 GB
   after 5 minutes, generation-2 collections of 4.6 to 11.3 s, then an SDK timeout).
   This wrapper creates model objects without that list; DynamoDB and KMS never read it.
   Requests or collections that hold the server for 2 s or more are logged to stderr.

4. Transactions in time independent of the table. For each operation of a
   `TransactWriteItems`, before applying any, moto deep-copies the whole table it names, to
   put it back if the transaction is cancelled: a transaction's time grows with the table,
   which DynamoDB's does not (about 0.18 s for a one-item transaction on 8,000 items, here).
   This wrapper keeps a copy of each item the transaction names instead, and puts those
   back if moto cancels it or fails: a transaction writes no item it does not name, so for
   tables named by name and without streams (this project's) the rollback is the same. Two
   differences: stream records of a cancelled transaction would stay, and a transaction
   refused with `TransactWriteSingleOpException` after earlier operations were applied is
   rolled back here, where moto left them.

For the tests' fault injection it also answers two requests, each scoped to one test's
table (`"table"`: only a request whose body names it is affected, so tests running at the
same time do not see each other's faults):

- `POST /_fault/lose-next-response` (`{"target": "DynamoDB_20120810.TransactWriteItems",
  "table": T}`): the next such request is applied, and its answer replaced by a retryable
  500, as when a response is lost after the write landed.
- `POST /_fault/in-progress` (`{"table": T, "delay_ms": D, "in_progress": N}`): the next
  `TransactWriteItems` naming T is applied and its answer held back for D ms (past the
  client's attempt timeout, so the client sees no answer); the next N requests with the
  same token are answered `TransactionInProgressException`, as DynamoDB answers while the
  first is still being applied; later ones get the first outcome.

Usage: python moto_serialized.py -H 127.0.0.1 -p PORT   (same arguments as moto_server)
"""

import copy
import gc
import hashlib
import io
import json
import sys
import threading
import time

from moto import server
from moto.core.common_models import BaseModel
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server import werkzeug_app


def _untracked_new(cls, *args, **kwargs):
    """`BaseModel.__new__` without appending the object to `instances_tracked` (gap 3)."""
    return super(BaseModel, cls).__new__(cls)


BaseModel.__new__ = _untracked_new

_moto_transact_write_items = DynamoDBBackend.transact_write_items
_in_transaction = [False]


def _table_deepcopy(self, memo):
    """A table's deep copy, except inside `_transact_write_items` (gap 4): there moto's own
    backup is the live table, so its rollback puts back the table it already has."""
    if _in_transaction[0]:
        return self
    copied = object.__new__(type(self))
    memo[id(self)] = copied
    copied.__dict__.update(copy.deepcopy(self.__dict__, memo))
    return copied


Table.__deepcopy__ = _table_deepcopy


def _item_key(table, attrs):
    """The (hash, range) values of the item `attrs` name in `table`, or None if they do not
    (moto then refuses that operation before it writes anything)."""
    try:
        hash_value = DynamoType(attrs[table.hash_key_attr])
        range_value = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    except (KeyError, TypeError, AttributeError):
        return None
    return hash_value, range_value


def _put_back(table, hash_value, range_value, item):
    """Makes `item` (None: no item) what `table` holds under the key again."""
    if range_value is None:
        partition, key = table.items, hash_value
    else:
        partition, key = table.items[hash_value], range_value
    if item is None:
        partition.pop(key, None)
    else:
        partition[key] = item


def _transact_write_items(self, transact_items):
    saved = []
    for entry in transact_items:
        op = next(iter(entry.values()), None)
        table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        key = table and _item_key(table, op.get("Key") or op.get("Item") or {})
        if key:
            try:
                current = table.get_item(*key)
            except Exception:  # moto refuses the operation the same way, writing nothing
                continue
            saved.append((table, *key, copy.deepcopy(current)))
    _in_transaction[0] = True
    try:
        return _moto_transact_write_items(self, transact_items)
    except BaseException:
        for table, hash_value, range_value, item in reversed(saved):
            _put_back(table, hash_value, range_value, item)
        raise
    finally:
        _in_transaction[0] = False


DynamoDBBackend.transact_write_items = _transact_write_items

_lock = threading.Lock()
_handle = werkzeug_app.DomainDispatcherApplication.__call__

IDEMPOTENCY_WINDOW_SECONDS = 600
_tokens = {}  # token -> (expires_at, request digest, status, headers, body)
_lose_next = {}  # X-Amz-Target -> table whose next such request's answer is lost
_in_progress = {}  # table -> (delay in seconds, in-progress answers to give)
_in_progress_tokens = {}  # token -> in-progress answers still to give


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


def _names(body, table):
    return bool(table) and f'"{table}"'.encode() in body


def _serve(self, environ):
    """Answers one request; returns (status, headers, body, seconds to hold the answer)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    if environ.get("PATH_INFO") == "/_fault/lose-next-response":
        fault = json.loads(body or b"{}")
        _lose_next[fault.get("target", "")] = fault.get("table", "")
        return "200 OK", [("Content-Type", "application/json")], b"{}", 0
    if environ.get("PATH_INFO") == "/_fault/in-progress":
        fault = json.loads(body or b"{}")
        _in_progress[fault["table"]] = (fault.get("delay_ms", 0) / 1000, fault.get("in_progress", 1))
        return "200 OK", [("Content-Type", "application/json")], b"{}", 0
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
    hold = 0
    if token and _in_progress_tokens.get(token, 0) > 0:
        _in_progress_tokens[token] -= 1
        return _json_error(
            "400 Bad Request",
            "TransactionInProgressException",
            "The transaction with the given request token is already in progress.",
        ) + (0,)
    if token and token in _tokens:
        _, seen_digest, status, headers, answer = _tokens[token]
        if seen_digest != digest:
            return _json_error(
                "400 Bad Request",
                "IdempotentParameterMismatchException",
                "The request uses the same client token as a previous, but non-identical request.",
            ) + (0,)
    else:
        status, headers, answer = _call(self, environ, body)
        if token and status.startswith("200"):
            _tokens[token] = (now + IDEMPOTENCY_WINDOW_SECONDS, digest, status, headers, answer)
        table = next((t for t in _in_progress if _names(body, t)), None)
        if token and table is not None:
            hold, count = _in_progress.pop(table)
            _in_progress_tokens[token] = count
    lost = _lose_next.get(target)
    if lost is not None and (not lost or _names(body, lost)):
        del _lose_next[target]
        return _json_error("500 Internal Server Error", "InternalServerError", "response lost") + (0,)
    return status, headers, answer, hold


SLOW_SECONDS = 2.0
_gc_started = [0.0]


def _gc_timer(phase, info):
    """Logs a garbage collection that holds the server for SLOW_SECONDS or more."""
    if phase == "start":
        _gc_started[0] = time.monotonic()
    elif time.monotonic() - _gc_started[0] >= SLOW_SECONDS:
        took = time.monotonic() - _gc_started[0]
        print(f"slow gc: generation {info['generation']}, {took:.1f} s", file=sys.stderr, flush=True)


gc.callbacks.append(_gc_timer)


def _serialized(self, environ, start_response):
    with _lock:
        started = time.monotonic()
        status, headers, body, hold = _serve(self, environ)
        took = time.monotonic() - started
    if took >= SLOW_SECONDS:
        # What held every other request meanwhile.
        print(
            f"slow request: {environ.get('HTTP_X_AMZ_TARGET', environ.get('PATH_INFO'))}, "
            f"{environ.get('CONTENT_LENGTH')} bytes, {took:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    if hold:
        # Held outside the lock: other requests go on meanwhile.
        time.sleep(hold)
    start_response(status, headers)
    return [body]


werkzeug_app.DomainDispatcherApplication.__call__ = _serialized

if __name__ == "__main__":
    server.main()
