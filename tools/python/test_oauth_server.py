"""Tests of tools/python/oauth_server.py, the local OAuth 2.0 token endpoint.

    .venv-oauth/bin/python -m unittest tools/python/test_oauth_server.py

It starts the server as a subprocess on a free loopback port (as scripts/lib.sh does) and
talks to it over HTTP on 127.0.0.1 only. No sleeps except while an injected delay runs.
"""

import base64
import http.client
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path
from urllib.parse import urlencode

SERVER = Path(__file__).resolve().parent / "oauth_server.py"


class OAuthServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.log = tempfile.TemporaryFile()
        cls.proc = subprocess.Popen(
            [sys.executable, str(SERVER), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=cls.log,
            text=True,
        )
        line = cls.proc.stdout.readline()
        match = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)\n", line)
        if not match:
            cls.proc.kill()
            cls.proc.wait()
            cls.log.seek(0)
            raise RuntimeError(f"unexpected first line {line!r}; log: {cls.log.read().decode()}")
        cls.port = int(match.group(1))

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        try:
            cls.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
            cls.proc.wait()
        cls.proc.stdout.close()
        cls.log.close()

    def setUp(self):
        self.seen_tokens = []
        status, _, _ = self.control("POST", "/_control/reset")
        self.assertEqual(status, 200)

    def tearDown(self):
        # Never log a token value: check the server's whole log against every token this test saw.
        self.log.seek(0)
        text = self.log.read().decode()
        for token in self.seen_tokens:
            self.assertNotIn(token, text)

    # -- helpers --

    def connection(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=b"", headers=None, conn=None):
        conn = conn or self.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            raw = response.read()
            data = json.loads(raw) if raw else None
            return response.status, response.headers, data
        finally:
            conn.close()

    def control(self, method, path, body=None):
        payload = b"" if body is None else json.dumps(body).encode()
        return self.request(method, path, payload, {"Content-Type": "application/json"})

    def register(self, client_id="c1", secret="s1", scopes=("read", "write"), rotate=True, ttl=60):
        status, _, body = self.control(
            "POST",
            "/_control/clients",
            {
                "client_id": client_id,
                "client_secret": secret,
                "scopes": list(scopes),
                "rotate_refresh_tokens": rotate,
                "access_token_ttl": ttl,
            },
        )
        self.assertEqual(status, 201, body)
        self.assertEqual(set(body), {"refresh_token"})
        self.seen_tokens.append(body["refresh_token"])
        return body["refresh_token"]

    def fail(self, **body):
        status, _, answer = self.control("POST", "/_control/fail", body)
        self.assertEqual(status, 200, answer)

    def stats(self):
        status, _, body = self.control("GET", "/_control/stats")
        self.assertEqual(status, 200)
        return body

    def token(self, fields, auth=("c1", "s1"), method="basic", conn=None, extra_headers=None):
        """POST /token; auth by client_secret_basic or client_secret_post (or none)."""
        fields = dict(fields)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if auth is not None and method == "basic":
            headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        elif auth is not None and method == "post":
            fields.update(client_id=auth[0], client_secret=auth[1])
        headers.update(extra_headers or {})
        status, response_headers, body = self.request("POST", "/token", urlencode(fields).encode(), headers, conn)
        if isinstance(body, dict):
            for key in ("access_token", "refresh_token"):
                if key in body:
                    self.seen_tokens.append(body[key])
        return status, response_headers, body

    def refresh(self, refresh_token, **kwargs):
        return self.token({"grant_type": "refresh_token", "refresh_token": refresh_token}, **kwargs)

    def assert_token_response(self, status, headers, body, ttl=60, refresh=True):
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(headers["Cache-Control"], "no-store")
        self.assertEqual(body["token_type"], "Bearer")
        self.assertGreaterEqual(len(body["access_token"]), 32)
        self.assertEqual(body["expires_in"], ttl)
        if refresh:
            self.assertGreaterEqual(len(body["refresh_token"]), 32)
        else:
            self.assertNotIn("refresh_token", body)

    def assert_error(self, status, body, expected_status, error):
        self.assertEqual(status, expected_status, body)
        self.assertEqual(body["error"], error, body)

    # -- the token endpoint --

    def test_first_line_names_a_loopback_port(self):
        self.assertGreater(self.port, 0)

    def test_refresh_rotates_and_a_spent_token_is_invalid_grant_and_counted(self):
        rt0 = self.register()
        status, headers, first = self.refresh(rt0)
        self.assert_token_response(status, headers, first)
        self.assertEqual(first["scope"], "read write")
        rt1 = first["refresh_token"]
        self.assertNotEqual(rt1, rt0)

        status, _, body = self.refresh(rt0)
        self.assert_error(status, body, 400, "invalid_grant")
        self.assertEqual(self.stats()["reused_refresh_tokens"], 1)

        status, headers, second = self.refresh(rt1)
        self.assert_token_response(status, headers, second)
        self.assertNotEqual(second["access_token"], first["access_token"])
        self.assertNotIn(second["refresh_token"], (rt0, rt1))

        stats = self.stats()
        self.assertEqual(stats["successful_refreshes"], 2)
        self.assertEqual(stats["reused_refresh_tokens"], 1)
        self.assertEqual(stats["token_requests"], 3)

    def test_a_hundred_rotations_issue_distinct_tokens_and_no_reuse(self):
        rt = self.register()
        access, refresh = set(), {rt}
        for _ in range(100):
            status, headers, body = self.refresh(rt)
            self.assert_token_response(status, headers, body)
            access.add(body["access_token"])
            rt = body["refresh_token"]
            refresh.add(rt)
        self.assertEqual(len(access), 100)
        self.assertEqual(len(refresh), 101)
        stats = self.stats()
        self.assertEqual(stats["successful_refreshes"], 100)
        self.assertEqual(stats["reused_refresh_tokens"], 0)

    def test_a_non_rotating_client_keeps_its_refresh_token(self):
        rt = self.register(rotate=False, ttl=5)
        first = self.refresh(rt)
        second = self.refresh(rt)
        self.assert_token_response(*first, ttl=5, refresh=False)
        self.assert_token_response(*second, ttl=5, refresh=False)
        self.assertNotEqual(first[2]["access_token"], second[2]["access_token"])
        stats = self.stats()
        self.assertEqual(stats["successful_refreshes"], 2)
        self.assertEqual(stats["reused_refresh_tokens"], 0)

    def test_refresh_can_narrow_the_scope_but_not_widen_it(self):
        rt = self.register()
        status, headers, body = self.token({"grant_type": "refresh_token", "refresh_token": rt, "scope": "read"})
        self.assert_token_response(status, headers, body)
        self.assertEqual(body["scope"], "read")
        status, _, body = self.token(
            {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "scope": "admin"}
        )
        self.assert_error(status, body, 400, "invalid_scope")

    def test_client_credentials_with_both_authentication_methods(self):
        self.register(ttl=0)
        for method in ("basic", "post"):
            status, headers, body = self.token({"grant_type": "client_credentials"}, method=method)
            self.assert_token_response(status, headers, body, ttl=0, refresh=False)
            self.assertEqual(body["scope"], "read write")
        status, headers, body = self.token({"grant_type": "client_credentials", "scope": "write"})
        self.assert_token_response(status, headers, body, ttl=0, refresh=False)
        self.assertEqual(body["scope"], "write")
        status, _, body = self.token({"grant_type": "client_credentials", "scope": "read admin"})
        self.assert_error(status, body, 400, "invalid_scope")
        stats = self.stats()
        self.assertEqual(stats["client_credentials_grants"], 3)
        self.assertEqual(stats["by_client"]["c1"]["client_credentials_grants"], 3)

    def test_refresh_with_both_authentication_methods(self):
        rt = self.register()
        status, headers, body = self.refresh(rt, method="basic")
        self.assert_token_response(status, headers, body)
        status, headers, body = self.refresh(body["refresh_token"], method="post")
        self.assert_token_response(status, headers, body)
        self.assertEqual(self.stats()["successful_refreshes"], 2)

    def test_client_authentication_failures_are_invalid_client(self):
        rt = self.register()
        status, headers, body = self.refresh(rt, auth=("c1", "wrong"), method="basic")
        self.assert_error(status, body, 401, "invalid_client")
        self.assertTrue(headers["WWW-Authenticate"].startswith("Basic "))
        status, _, body = self.refresh(rt, auth=("c1", "wrong"), method="post")
        self.assertIn(status, (400, 401))
        self.assertEqual(body["error"], "invalid_client")
        status, _, body = self.refresh(rt, auth=("nobody", "s1"), method="post")
        self.assertIn(status, (400, 401))
        self.assertEqual(body["error"], "invalid_client")
        status, _, body = self.refresh(rt, auth=None)
        self.assertIn(status, (400, 401))
        self.assertEqual(body["error"], "invalid_client")
        # None of these spent the refresh token.
        self.assert_token_response(*self.refresh(rt))

    def test_a_refresh_token_of_another_client_or_unknown_is_invalid_grant_not_reuse(self):
        self.register("c1", "s1")
        rt2 = self.register("c2", "s2")
        status, _, body = self.refresh(rt2, auth=("c1", "s1"))
        self.assert_error(status, body, 400, "invalid_grant")
        status, _, body = self.refresh("not-a-token-we-issued-xxxxxxxxxxxxxxxxxxxx")
        self.assert_error(status, body, 400, "invalid_grant")
        self.assertEqual(self.stats()["reused_refresh_tokens"], 0)
        self.assert_token_response(*self.refresh(rt2, auth=("c2", "s2")))

    def test_protocol_errors(self):
        rt = self.register()
        status, _, body = self.token({"grant_type": "authorization_code", "code": "x"})
        self.assert_error(status, body, 400, "unsupported_grant_type")
        status, _, body = self.token({"grant_type": "refresh_token"})
        self.assert_error(status, body, 400, "invalid_request")
        status, _, body = self.request(
            "POST",
            "/token",
            urlencode([("grant_type", "refresh_token"), ("refresh_token", rt), ("refresh_token", rt)]).encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": "Basic " + base64.b64encode(b"c1:s1").decode(),
            },
        )
        self.assert_error(status, body, 400, "invalid_request")
        status, _, body = self.request(
            "POST",
            "/token",
            json.dumps({"grant_type": "refresh_token", "refresh_token": rt}).encode(),
            {"Content-Type": "application/json", "Authorization": "Basic " + base64.b64encode(b"c1:s1").decode()},
        )
        self.assert_error(status, body, 400, "invalid_request")
        status, _, _ = self.request("GET", "/token")
        self.assertEqual(status, 404)
        # None of these spent the refresh token.
        self.assert_token_response(*self.refresh(rt))
        self.assertEqual(self.stats()["errors"], {"unsupported_grant_type": 1, "invalid_request": 3})

    # -- failure injection --

    def test_fail_invalid_grant_for_count_requests(self):
        rt = self.register()
        self.fail(mode="invalid_grant", count=2)
        for _ in range(2):
            status, _, body = self.refresh(rt)
            self.assert_error(status, body, 400, "invalid_grant")
        self.assert_token_response(*self.refresh(rt))
        stats = self.stats()
        self.assertEqual(stats["injected_failures"], 2)
        self.assertEqual(stats["reused_refresh_tokens"], 0)
        self.assertEqual(stats["successful_refreshes"], 1)
        self.assertEqual(stats["token_requests"], 3)
        self.assertEqual(stats["by_client"]["c1"]["token_requests"], 3)

    def test_fail_status_with_and_without_retry_after(self):
        rt = self.register()
        self.fail(mode="status", status=429, retry_after=7)
        status, headers, body = self.refresh(rt)
        self.assertEqual(status, 429)
        self.assertEqual(headers["Retry-After"], "7")
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertIn("error", body)
        for code, error in ((503, "temporarily_unavailable"), (500, "server_error")):
            self.fail(mode="status", status=code)
            status, headers, body = self.refresh(rt)
            self.assertEqual(status, code)
            self.assertIsNone(headers["Retry-After"])
            self.assertEqual(body["error"], error)
        self.assert_token_response(*self.refresh(rt))
        stats = self.stats()
        self.assertEqual(stats["injected_failures"], 3)
        self.assertEqual(stats["successful_refreshes"], 1)

    def test_fail_delay_holds_the_answer_then_answers_normally(self):
        rt = self.register()
        self.fail(mode="delay", delay_ms=300)
        started = time.monotonic()
        status, headers, body = self.refresh(rt)
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assert_token_response(status, headers, body)
        self.assertIsNone(self.stats()["pending_failure"])

    def _stats_during_delay(self, phase, until):
        """Starts a refresh held 1.5 s in `phase` and polls the stats while it is held, until
        `until(stats)`; returns those stats, after checking the answer is still a success."""
        rt = self.register()
        self.fail(mode="delay", delay_ms=1500, delay_phase=phase)
        result = {}
        thread = threading.Thread(target=lambda: result.update(answer=self.refresh(rt)))
        started = time.monotonic()
        thread.start()
        seen = None
        while thread.is_alive():
            stats = self.stats()
            if until(stats):
                seen = stats
                break
            time.sleep(0.01)  # polls only while the injected delay runs
        held = thread.is_alive()
        thread.join()
        self.assertGreaterEqual(time.monotonic() - started, 1.5)
        self.assert_token_response(*result["answer"])
        self.assertIsNotNone(seen, "the answer came before the stats showed the request")
        self.assertTrue(held, "the answer came before the delay ended")
        return seen

    def test_fail_delay_before_waits_then_processes(self):
        held = self._stats_during_delay("before", lambda stats: stats["token_requests"] == 1)
        self.assertEqual(held["successful_refreshes"], 0)
        self.assertEqual(self.stats()["successful_refreshes"], 1)

    def test_fail_delay_after_processes_then_holds_the_answer(self):
        # A rotating provider whose answer is late: the old refresh token is already spent
        # while the caller still waits (and would be spent if the caller timed out).
        held = self._stats_during_delay("after", lambda stats: stats["successful_refreshes"] == 1)
        self.assertEqual(held["token_requests"], 1)

    def test_fail_omit_refresh_token_leaves_the_old_one_valid(self):
        rt = self.register()
        self.fail(mode="omit_refresh_token")
        status, headers, body = self.refresh(rt)
        self.assert_token_response(status, headers, body, refresh=False)
        status, headers, body = self.refresh(rt)
        self.assert_token_response(status, headers, body)
        status, _, body = self.refresh(rt)
        self.assert_error(status, body, 400, "invalid_grant")
        stats = self.stats()
        self.assertEqual(stats["successful_refreshes"], 2)
        self.assertEqual(stats["reused_refresh_tokens"], 1)

    def test_fail_none_clears_a_pending_failure(self):
        rt = self.register()
        self.fail(mode="status", status=503, count=5)
        self.assertEqual(
            self.stats()["pending_failure"], {"mode": "status", "status": 503, "retry_after": None, "count": 5}
        )
        self.fail(mode="none")
        self.assertIsNone(self.stats()["pending_failure"])
        self.assert_token_response(*self.refresh(rt))
        self.assertEqual(self.stats()["injected_failures"], 0)

    def test_fail_rejects_bad_settings(self):
        for body in (
            {"mode": "explode"},
            {"mode": "status"},
            {"mode": "status", "status": 200},
            {"mode": "delay"},
            {"mode": "delay", "delay_ms": 10, "delay_phase": "during"},
            {"mode": "invalid_grant", "count": 0},
        ):
            status, _, answer = self.control("POST", "/_control/fail", body)
            self.assertEqual(status, 400, body)
            self.assertEqual(answer["error"], "invalid_request")
        self.assertIsNone(self.stats()["pending_failure"])

    # -- concurrency --

    def _concurrently(self, calls):
        """Runs each call on its own thread and its own connection, all released at once."""
        barrier = threading.Barrier(len(calls))
        results = [None] * len(calls)
        errors = []

        def run(i, call):
            conn = self.connection()
            try:
                conn.connect()
                barrier.wait(timeout=30)
                results[i] = call(conn)
            except Exception as error:  # noqa: BLE001 (reported below)
                errors.append(error)

        threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        return results

    def test_twenty_concurrent_refreshes_of_one_token_one_succeeds(self):
        rt = self.register()
        results = self._concurrently([lambda conn: self.refresh(rt, conn=conn)] * 20)
        ok = [r for r in results if r[0] == 200]
        rejected = [r for r in results if r[0] == 400 and r[2]["error"] == "invalid_grant"]
        self.assertEqual(len(ok), 1)
        self.assertEqual(len(rejected), 19)
        self.assert_token_response(*ok[0])
        stats = self.stats()
        self.assertEqual(stats["token_requests"], 20)
        self.assertEqual(stats["successful_refreshes"], 1)
        # Each of the 19 presented a token spent by the one that won.
        self.assertEqual(stats["reused_refresh_tokens"], 19)
        self.assert_token_response(*self.refresh(ok[0][2]["refresh_token"]))

    def test_twenty_concurrent_refreshes_of_distinct_tokens_all_succeed(self):
        tokens = [self.register(f"c{i}", f"s{i}") for i in range(20)]
        calls = [
            (
                lambda conn, i=i: self.refresh(
                    tokens[i], auth=(f"c{i}", f"s{i}"), method="post" if i % 2 else "basic", conn=conn
                )
            )
            for i in range(20)
        ]
        results = self._concurrently(calls)
        for result in results:
            self.assert_token_response(*result)
        self.assertEqual(len({r[2]["access_token"] for r in results}), 20)
        stats = self.stats()
        self.assertEqual(stats["successful_refreshes"], 20)
        self.assertEqual(stats["reused_refresh_tokens"], 0)
        self.assertEqual(
            {c: s["successful_refreshes"] for c, s in stats["by_client"].items()}, {f"c{i}": 1 for i in range(20)}
        )

    # -- control --

    def test_stats_and_reset(self):
        rt1 = self.register("c1", "s1")
        rt2 = self.register("c2", "s2", rotate=False)
        self.refresh(rt1)
        self.refresh(rt1)
        self.refresh(rt2, auth=("c2", "s2"))
        self.token({"grant_type": "client_credentials"}, auth=("c2", "s2"))
        stats = self.stats()
        self.assertEqual(stats["token_requests"], 4)
        self.assertEqual(stats["successful_refreshes"], 2)
        self.assertEqual(stats["reused_refresh_tokens"], 1)
        self.assertEqual(stats["client_credentials_grants"], 1)
        self.assertEqual(
            stats["by_client"],
            {
                "c1": {
                    "token_requests": 2,
                    "successful_refreshes": 1,
                    "reused_refresh_tokens": 1,
                    "client_credentials_grants": 0,
                },
                "c2": {
                    "token_requests": 2,
                    "successful_refreshes": 1,
                    "reused_refresh_tokens": 0,
                    "client_credentials_grants": 1,
                },
            },
        )
        self.fail(mode="delay", delay_ms=1)
        status, _, _ = self.control("POST", "/_control/reset")
        self.assertEqual(status, 200)
        stats = self.stats()
        self.assertEqual(
            stats,
            {
                "token_requests": 0,
                "successful_refreshes": 0,
                "reused_refresh_tokens": 0,
                "client_credentials_grants": 0,
                "injected_failures": 0,
                "errors": {},
                "by_client": {},
                "pending_failure": None,
            },
        )
        status, _, body = self.refresh(rt2, auth=("c2", "s2"))
        self.assertEqual(body["error"], "invalid_client")

    def test_registering_again_replaces_settings_and_adds_a_grant(self):
        rt_a = self.register("c1", "s1", ttl=60)
        rt_b = self.register("c1", "s1-new", ttl=30)
        status, _, body = self.refresh(rt_a, auth=("c1", "s1"))
        self.assert_error(status, body, 401, "invalid_client")
        self.assert_token_response(*self.refresh(rt_a, auth=("c1", "s1-new")), ttl=30)
        self.assert_token_response(*self.refresh(rt_b, auth=("c1", "s1-new")), ttl=30)

    def test_control_rejects_bad_clients_and_unknown_paths(self):
        for body in (
            {"client_secret": "s"},
            {"client_id": "c", "client_secret": ""},
            {"client_id": "c", "client_secret": "s", "scopes": "read"},
            {"client_id": "c", "client_secret": "s", "rotate_refresh_tokens": "yes"},
            {"client_id": "c", "client_secret": "s", "access_token_ttl": -1},
        ):
            status, _, answer = self.control("POST", "/_control/clients", body)
            self.assertEqual(status, 400, body)
            self.assertEqual(answer["error"], "invalid_request")
        status, _, _ = self.request("POST", "/_control/clients", b"not json", {"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        status, _, _ = self.control("GET", "/_control/nothing")
        self.assertEqual(status, 404)
        self.assertEqual(self.stats()["by_client"], {})


if __name__ == "__main__":
    unittest.main()
