"""The moto server, handling one request at a time.

DynamoDB applies every write (and every transaction) atomically. moto's in-memory backend
takes no lock, so under concurrent requests its check-then-write of a condition expression
can interleave with another request's write and let both pass (seen: a lost update in the
concurrency tests). Holding one lock around each request restores the atomicity the real
service guarantees. Clients still send truly concurrent requests: connections are accepted
in parallel and queue here, as they would at DynamoDB's item-level serialization.

Usage: python moto_serialized.py -H 127.0.0.1 -p PORT   (same arguments as moto_server)
"""

import threading

from moto import server
from moto.moto_server import werkzeug_app

_lock = threading.Lock()
_handle = werkzeug_app.DomainDispatcherApplication.__call__


def _serialized(self, environ, start_response):
    with _lock:
        # Materialize the body inside the lock: the work happens while it is produced.
        return list(_handle(self, environ, start_response))


werkzeug_app.DomainDispatcherApplication.__call__ = _serialized

if __name__ == "__main__":
    server.main()
