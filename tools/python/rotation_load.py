"""Rotation under load: one credential's password is rotated N times (default 200) while
R resolvers (default 8) resolve it without pause, half of each resolver's calls asking for
`current`, half for `previous`, through the local Lambda Invoke API.

It fails (exit 1) if any resolve fails, or returns a value that was never written, or a
value under another secret version than the one it was written as (rotation i writes
version i + 1), or if a resolver ever sees `current` go back to an older version. Every
verdict is about order and identity, never timing: any interleaving must pass.

    python tools/python/rotation_load.py BASE_URL API_KEY [--rotations N] [--resolvers R]

BASE_URL is the local server (`make dev`: http://127.0.0.1:3000); API_KEY needs the read,
write and resolve scopes (`make api-key SCOPES=read,write,resolve`). Standard library only.
"""

import argparse
import http.client
import json
import secrets
import sys
import threading
import time
import urllib.parse


class Connection:
    """One keep-alive connection to the local server."""

    def __init__(self, base):
        parsed = urllib.parse.urlsplit(base)
        if parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
            sys.exit("rotation_load talks to a loopback server only")
        self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)

    def send(self, method, path, body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        self.conn.request(method, path, body=data, headers=headers or {})
        answer = self.conn.getresponse()
        return answer.status, answer.read()


def resolve_event(key, credential_id, stage):
    path = f"/api/credentials/{credential_id}/resolve"
    body = {"purpose": "rotation-load"}
    if stage != "current":
        body["stage"] = stage
    return {
        "version": "2.0",
        "routeKey": "POST /api/credentials/{id}/resolve",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"authorization": f"Bearer {key}", "content-type": "application/json"},
        "requestContext": {
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "routeKey": "POST /api/credentials/{id}/resolve",
            "stage": "$default",
        },
        "pathParameters": {"id": credential_id},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("key")
    parser.add_argument("--rotations", type=int, default=200)
    parser.add_argument("--resolvers", type=int, default=8)
    args = parser.parse_args()
    auth = {"authorization": f"Bearer {args.key}", "content-type": "application/json"}

    # written[v] is the password written as secret version v.
    written = {1: "rotation-load-" + secrets.token_hex(16)}
    lock = threading.Lock()
    admin = Connection(args.base)
    status, raw = admin.send("POST", "/api/credentials", {
        "name": "rotation-load-" + secrets.token_hex(4),
        "type": "password",
        "config": {"username": "load", "password": written[1]},
    }, auth)
    if status != 201:
        sys.exit(f"create: {status} {raw[:200]!r}")
    credential_id = json.loads(raw)["data"]["id"]

    def rotate(version):
        password = "rotation-load-" + secrets.token_hex(16)
        with lock:
            written[version] = password  # before the write: a resolver may see it at once
        status, raw = admin.send("PUT", f"/api/credentials/{credential_id}",
                                 {"config": {"password": password}}, auth)
        if status != 200:
            sys.exit(f"rotation to version {version}: {status} {raw[:200]!r}")
        answered = json.loads(raw)["data"]["secret_version"]
        if answered != version:
            sys.exit(f"rotation to version {version} answered secret_version {answered}")

    rotate(2)  # so that `previous` exists from the first resolve on
    stop = threading.Event()
    problems = []
    counts = {"current": 0, "previous": 0}

    def resolver(index):
        conn = Connection(args.base)
        last_current = 0
        stage = "current" if index % 2 == 0 else "previous"
        invoke = "/2015-03-31/functions/resolve-credential/invocations"
        while not stop.is_set():
            status, raw = conn.send("POST", invoke, resolve_event(args.key, credential_id, stage))
            result = json.loads(raw) if status == 200 else {}
            body = json.loads(result.get("body") or "{}")
            if result.get("statusCode") != 200:
                problems.append(f"resolver {index} ({stage}): {status} {result.get('statusCode')} {body.get('error', {}).get('code')}")
                return
            data = body["data"]
            version, password = data["secret_version"], data["config"]["password"]
            with lock:
                expected = written.get(version)
                counts[stage] += 1
            if expected is None:
                problems.append(f"resolver {index}: version {version} was never written")
            elif password != expected:
                problems.append(f"resolver {index}: version {version} came back with another version's value")
            if data["stage"] != stage:
                problems.append(f"resolver {index}: asked {stage}, got stage {data['stage']}")
            if stage == "current":
                if version < last_current:
                    problems.append(f"resolver {index}: current went back from {last_current} to {version}")
                last_current = max(last_current, version)
            if problems:
                return
            stage = "previous" if stage == "current" else "current"

    threads = [threading.Thread(target=resolver, args=(i,), daemon=True) for i in range(args.resolvers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for version in range(3, args.rotations + 2):
        if problems:
            break
        rotate(version)
    stop.set()
    for thread in threads:
        thread.join()
    took = time.monotonic() - started
    admin.send("DELETE", f"/api/credentials/{credential_id}", None, auth)
    if problems:
        print("\n".join(problems[:20]), file=sys.stderr)
        return 1
    print(f"rotation load: {args.rotations} rotations, {args.resolvers} resolvers, "
          f"{counts['current']} current and {counts['previous']} previous resolves in {took:.1f} s; "
          "none failed, every value was the one written as its version")
    return 0


if __name__ == "__main__":
    sys.exit(main())
