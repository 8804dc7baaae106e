"""A local OAuth 2.0 authorization server (RFC 6749 token endpoint) for the tests and `make dev`.

The token endpoint is Authlib's framework-agnostic `AuthorizationServer` with its
`RefreshTokenGrant` and `ClientCredentialsGrant`: client authentication (client_secret_basic
and client_secret_post), grant dispatch, scope checks, the §5.1 token response and the §5.2
error responses are the library's. This file adds only what a framework integration adds
(turning a stdlib HTTP request into an Authlib request, and an Authlib response back into
bytes), an in-memory store, and, for the tests, control endpoints under /_control/ and
failure injection on /token.

Plain HTTP on 127.0.0.1 only: it exists for tests and local development, never for a
deployment.

    python tools/python/oauth_server.py --port 0
    # first line on stdout: listening on http://127.0.0.1:<port>

Refresh tokens of a client registered with "rotate_refresh_tokens": true are single-use:
every successful refresh issues a new refresh token and revokes the one it used; presenting a
revoked one again answers 400 invalid_grant and is counted in `reused_refresh_tokens`.

State is in memory, behind one lock. A token request is validated and answered under that
lock, so checking a refresh token and revoking it are one step: of N concurrent refreshes of
one single-use token exactly one succeeds. Injected delays are waited out outside the lock.

Token values are never logged; the log has one line per request with the request counts.
"""

import argparse
import base64
import hmac
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from authlib.oauth2 import AuthorizationServer as _AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Payload, OAuth2Request, TokenMixin, grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6749.util import list_to_scope, scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenGenerator

HOST = "127.0.0.1"
MAX_BODY = 64 * 1024
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
FAIL_MODES = ("invalid_grant", "status", "delay", "omit_refresh_token", "none")


# ---------------------------------------------------------------------------------------------
# Models (Authlib's ClientMixin / TokenMixin over plain objects)


class Client(ClientMixin):
    def __init__(self, client_id, client_secret, scopes, rotate_refresh_tokens, access_token_ttl):
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = list(scopes)
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.access_token_ttl = access_token_ttl

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def check_redirect_uri(self, redirect_uri):
        return False

    def get_allowed_scope(self, scope):
        # Scopes outside the client's were rejected before (see the grants below); an omitted
        # scope means all of the client's scopes (RFC 6749 §3.3: a pre-defined default).
        if not scope:
            return list_to_scope(self.scopes) or ""
        allowed = set(self.scopes)
        return list_to_scope([s for s in scope_to_list(scope) if s in allowed])

    def check_client_secret(self, client_secret):
        return hmac.compare_digest(self.client_secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method, endpoint):
        return endpoint == "token" and method in CLIENT_AUTH_METHODS

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type in ("refresh_token", "client_credentials")


class RefreshToken(TokenMixin):
    """A refresh token and the grant it stands for (client, user, scope)."""

    def __init__(self, client_id, user, scope):
        self.client_id = client_id
        self.user = user
        self.scope = scope
        self.revoked = False

    def check_client(self, client):
        return client.get_client_id() == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return 0

    def is_expired(self):
        return False

    def is_revoked(self):
        return self.revoked

    def get_user(self):
        return self.user

    def get_client(self):
        return None


def _new_stats():
    return {
        "token_requests": 0,
        "successful_refreshes": 0,
        "reused_refresh_tokens": 0,
        "client_credentials_grants": 0,
    }


class State:
    """Everything the server knows; every access holds `lock`."""

    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        self.clients = {}
        self.refresh_tokens = {}  # token value -> RefreshToken (revoked ones are kept: reuse)
        self.stats = _new_stats()
        self.stats["injected_failures"] = 0
        self.stats["errors"] = {}
        self.by_client = {}
        self.failure = None  # {"mode", "status", "retry_after", "delay_ms", "delay_phase", "remaining"}

    def client_stats(self, client_id):
        return self.by_client.setdefault(client_id, _new_stats())

    def count(self, key, client_id=None):
        self.stats[key] += 1
        if client_id is not None and client_id in self.clients:
            self.client_stats(client_id)[key] += 1

    def issue_refresh_token(self, client_id, user, scope):
        value = secrets.token_urlsafe(32)
        self.refresh_tokens[value] = RefreshToken(client_id, user, scope)
        return value

    def take_failure(self):
        """The injected failure for this token request, if any (consumes one of `count`)."""
        failure = self.failure
        if failure is None:
            return None
        failure["remaining"] -= 1
        if failure["remaining"] <= 0:
            self.failure = None
        self.stats["injected_failures"] += 1
        return dict(failure)


# ---------------------------------------------------------------------------------------------
# Authlib: the grants and the server (the framework-integration part of it)


class ScopedGrantMixin:
    def validate_requested_scope(self):
        # RFC 6749 §5.2 invalid_scope: a requested scope the client was not given.
        scope = self.request.payload.scope
        if scope and not set(scope_to_list(scope)) <= set(self.request.client.scopes):
            raise InvalidScopeError()


class ClientCredentialsGrant(ScopedGrantMixin, grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    @property
    def INCLUDE_NEW_REFRESH_TOKEN(self):  # Authlib's attribute name, per request here
        # Rotation is per client; the omit_refresh_token failure mode answers without one
        # (and so, as such providers mean it, leaves the presented refresh token valid).
        return self.request.client.rotate_refresh_tokens and not self.request.omit_refresh_token

    def authenticate_refresh_token(self, refresh_token):
        state = self.server.state
        token = state.refresh_tokens.get(refresh_token)
        if token is None or not token.check_client(self.request.client):
            return None
        if token.is_revoked():
            # A spent single-use refresh token presented again: what the tests assert never happens.
            state.count("reused_refresh_tokens", token.client_id)
            return None
        return token

    def authenticate_user(self, refresh_token):
        return refresh_token.get_user()

    def revoke_old_credential(self, refresh_token):
        if self.INCLUDE_NEW_REFRESH_TOKEN:
            refresh_token.revoked = True


class AuthorizationServer(_AuthorizationServer):
    def __init__(self, state):
        super().__init__()
        self.state = state
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: secrets.token_urlsafe(32),
                refresh_token_generator=lambda **_: secrets.token_urlsafe(32),
                expires_generator=lambda client, grant_type: client.access_token_ttl,
            ),
        )
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)

    def generate_token(self, grant_type, client, **kwargs):
        token = super().generate_token(grant_type, client, **kwargs)
        # BearerTokenGenerator leaves out a zero expires_in; a test may ask for one.
        token.setdefault("expires_in", client.access_token_ttl)
        return token

    def query_client(self, client_id):
        return self.state.clients.get(client_id)

    def save_token(self, token, request):
        state = self.state
        client_id = request.client.get_client_id()
        if request.payload.grant_type == "refresh_token":
            state.count("successful_refreshes", client_id)
            if "refresh_token" in token:
                old = request.refresh_token
                state.refresh_tokens[token["refresh_token"]] = RefreshToken(client_id, old.user, old.scope)
        else:
            state.count("client_credentials_grants", client_id)

    def send_signal(self, name, *args, **kwargs):
        pass

    def create_oauth2_request(self, request):
        return request

    def create_json_request(self, request):
        raise NotImplementedError("no JSON endpoints through Authlib here")

    def handle_response(self, status, body, headers):
        return status, body, headers


class FormPayload(OAuth2Payload):
    def __init__(self, datalist):
        self._datalist = datalist
        self._data = {key: values[0] for key, values in datalist.items()}

    @property
    def data(self):
        return self._data

    @property
    def datalist(self):
        return self._datalist


class TokenRequest(OAuth2Request):
    """A POST /token request as Authlib sees it (the role of its Flask/Django request classes)."""

    def __init__(self, uri, headers, datalist):
        super().__init__("POST", uri, headers=headers)
        self.payload = FormPayload(datalist)
        self.omit_refresh_token = False

    @property
    def args(self):
        return {}

    @property
    def form(self):
        return self.payload.data


# ---------------------------------------------------------------------------------------------
# HTTP


class BadRequest(Exception):
    pass


def _claimed_client_id(headers, form):
    """The client a token request names (for per-client counts of requests answered before
    authentication); authentication itself is Authlib's."""
    auth = headers.get("Authorization") or ""
    if auth[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(auth[6:].strip()).decode()
            return unquote(decoded.split(":", 1)[0])
        except (ValueError, UnicodeDecodeError):
            return None
    return form.get("client_id")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "oauth-test-server"

    # -- plumbing --

    def log_message(self, format, *args):
        pass  # the default line has the request line; ours (log_request) has counts only

    def log_request(self, code="-", size="-"):
        state = self.server.state
        with state.lock:
            requests = state.stats["token_requests"]
        path = urlsplit(self.path).path
        sys.stderr.write(f"{self.command} {path} -> {code} (token requests so far: {requests})\n")
        sys.stderr.flush()

    def _body(self):
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            raise BadRequest("chunked bodies are not supported; send Content-Length")
        try:
            length = int(length or 0)
        except ValueError:
            raise BadRequest("bad Content-Length") from None
        if length < 0 or length > MAX_BODY:
            raise BadRequest("body too large")
        return self.rfile.read(length)

    def _send(self, status, body, headers=()):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        sent = set()
        for name, value in headers:
            if name.lower() == "content-length":
                continue
            self.send_header(name, value)
            sent.add(name.lower())
        if "content-type" not in sent:
            self.send_header("Content-Type", "application/json")
        if "cache-control" not in sent:
            self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _json_body(self):
        raw = self._body()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise BadRequest("the body is not JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return body

    def _route(self, routes):
        path = urlsplit(self.path).path
        handler = routes.get(path)
        try:
            if handler is None:
                self.close_connection = True  # its body, if any, was not read
                self._send(404, {"error": "not_found"})
                return
            handler()
        except BadRequest as error:
            self.close_connection = True
            self._send(400, {"error": "invalid_request", "error_description": str(error)})

    def do_GET(self):
        self._route({"/_control/stats": self.control_stats})

    def do_POST(self):
        self._route(
            {
                "/token": self.token,
                "/_control/clients": self.control_clients,
                "/_control/fail": self.control_fail,
                "/_control/reset": self.control_reset,
            }
        )

    # -- the token endpoint --

    def token(self):
        state = self.server.state
        body = self._body()
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            datalist = parse_qs(body.decode(), keep_blank_values=True)
        except (ValueError, UnicodeDecodeError):
            datalist = None
        form = {key: values[0] for key, values in (datalist or {}).items()}
        claimed = _claimed_client_id(self.headers, form)

        with state.lock:
            state.count("token_requests", claimed)
            failure = state.take_failure()

        if content_type != "application/x-www-form-urlencoded" or datalist is None:
            return self._token_error(InvalidRequestError("The body must be application/x-www-form-urlencoded."))
        repeated = sorted(key for key, values in datalist.items() if len(values) > 1)
        if repeated:
            # RFC 6749 §3.2: parameters MUST NOT be included more than once.
            return self._token_error(InvalidRequestError(f"Repeated parameter: {repeated[0]}."))

        mode = failure["mode"] if failure else None
        if mode == "invalid_grant":
            return self._send(
                400,
                {"error": "invalid_grant", "error_description": "injected failure"},
                [("Pragma", "no-cache")],
            )
        if mode == "status":
            status = failure["status"]
            error = "server_error" if status == 500 else "temporarily_unavailable"
            headers = [("Pragma", "no-cache")]
            if failure.get("retry_after") is not None:
                headers.append(("Retry-After", str(failure["retry_after"])))
            return self._send(status, {"error": error, "error_description": f"injected HTTP {status}"}, headers)
        if mode == "delay" and failure["delay_phase"] == "before":
            time.sleep(failure["delay_ms"] / 1000)

        request = TokenRequest(f"http://{HOST}:{self.server.server_port}/token", self.headers, datalist)
        request.omit_refresh_token = mode == "omit_refresh_token"
        with state.lock:
            status, token_body, headers = self.server.authorization_server.create_token_response(request)
            if status >= 400:
                error = token_body.get("error", "unknown")
                state.stats["errors"][error] = state.stats["errors"].get(error, 0) + 1

        if mode == "delay" and failure["delay_phase"] == "after":
            time.sleep(failure["delay_ms"] / 1000)
        self._send(status, token_body, headers)

    def _token_error(self, error):
        state = self.server.state
        status, body, headers = error()
        with state.lock:
            state.stats["errors"][body["error"]] = state.stats["errors"].get(body["error"], 0) + 1
        self._send(status, body, headers)

    # -- control --

    def control_clients(self):
        body = self._json_body()
        client_id = body.get("client_id")
        client_secret = body.get("client_secret")
        scopes = body.get("scopes", [])
        rotate = body.get("rotate_refresh_tokens", False)
        ttl = body.get("access_token_ttl", 3600)
        if not isinstance(client_id, str) or not client_id or ":" in client_id:
            raise BadRequest("client_id: a non-empty string without ':'")
        if not isinstance(client_secret, str) or not client_secret:
            raise BadRequest("client_secret: a non-empty string")
        if not isinstance(scopes, list) or not all(isinstance(s, str) and s and " " not in s for s in scopes):
            raise BadRequest("scopes: a list of scope tokens (strings without spaces)")
        if not isinstance(rotate, bool):
            raise BadRequest("rotate_refresh_tokens: true or false")
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
            raise BadRequest("access_token_ttl: an integer number of seconds, 0 or more")
        state = self.server.state
        with state.lock:
            state.clients[client_id] = Client(client_id, client_secret, scopes, rotate, ttl)
            state.client_stats(client_id)
            # The grant an authorization-code flow would have ended with: one refresh token.
            refresh_token = state.issue_refresh_token(client_id, f"user-of-{client_id}", list_to_scope(scopes) or "")
        self._send(201, {"refresh_token": refresh_token})

    def control_fail(self):
        body = self._json_body()
        mode = body.get("mode")
        if mode not in FAIL_MODES:
            raise BadRequest(f"mode: one of {', '.join(FAIL_MODES)}")
        count = body.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise BadRequest("count: an integer, 1 or more")
        failure = {"mode": mode, "remaining": count}
        if mode == "status":
            status = body.get("status")
            if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
                raise BadRequest("status: an HTTP status from 400 to 599 (429, 500, 503, ...)")
            retry_after = body.get("retry_after")
            if retry_after is not None and (
                isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0
            ):
                raise BadRequest("retry_after: an integer number of seconds, 0 or more")
            failure.update(status=status, retry_after=retry_after)
        if mode == "delay":
            delay_ms = body.get("delay_ms")
            if isinstance(delay_ms, bool) or not isinstance(delay_ms, int) or not 0 <= delay_ms <= 600_000:
                raise BadRequest("delay_ms: an integer from 0 to 600000")
            phase = body.get("delay_phase", "before")
            if phase not in ("before", "after"):
                raise BadRequest("delay_phase: before (wait, then process) or after (process, then wait)")
            failure.update(delay_ms=delay_ms, delay_phase=phase)
        state = self.server.state
        with state.lock:
            state.failure = None if mode == "none" else failure
        self._send(200, {"mode": mode, "count": 0 if mode == "none" else count})

    def control_stats(self):
        state = self.server.state
        with state.lock:
            stats = dict(state.stats)
            stats["errors"] = dict(state.stats["errors"])
            stats["by_client"] = {cid: dict(s) for cid, s in state.by_client.items()}
            pending = state.failure
            stats["pending_failure"] = (
                None
                if pending is None
                else {k: v for k, v in pending.items() if k != "remaining"} | {"count": pending["remaining"]}
            )
        self._send(200, stats)

    def control_reset(self):
        self._json_body()
        state = self.server.state
        with state.lock:
            state.reset()
        self._send(200, {"reset": True})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the tests open dozens of connections at once

    def __init__(self, port):
        super().__init__((HOST, port), Handler)
        self.state = State()
        self.authorization_server = AuthorizationServer(self.state)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1; 0 picks a free one")
    args = parser.parse_args(argv)
    server = Server(args.port)
    print(f"listening on http://{HOST}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
