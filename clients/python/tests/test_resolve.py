"""Resolves against the local server: by id and name, stages and versions, and the cache
(TTL on an injected clock, single-flight across threads and coroutines, fresh,
newer-than), every invocation counted."""

from __future__ import annotations

import asyncio
import threading

import pytest
from conftest import Live
from helpers import Clock, Counting, wait_until

from credentials_client import AsyncResolver, NoNewerVersion, ResolvedCredential, Resolver

PURPOSE = "pytest:resolve"


def password(resolved: ResolvedCredential) -> str:
    value = resolved.secret("password")
    assert value is not None
    return value.reveal()


def cached(live: Live, counting: Counting, clock: Clock, ttl: float = 300) -> Resolver:
    return live.resolver(lambda_client=counting, cache_ttl=ttl, clock=clock)


def test_by_id_and_by_name_at_stages_and_versions(live: Live) -> None:
    credential, name = live.new_database("stages")
    live.api.set_secret(credential, {"password": "second-canary-5e3c7"})
    live.api.ok(
        "POST",
        f"/credentials/{credential}/versions",
        {"config": {"password": "third-canary-5e3c7"}},
    )
    resolver = live.resolver()
    current = resolver.resolve(credential, PURPOSE)
    assert (current.secret_version, current.stage, password(current)) == (
        2,
        "current",
        "second-canary-5e3c7",
    )
    assert current.visible["host"] == "db.example.com" and "password" not in current.visible
    by_name = resolver.resolve_by_name(name.upper(), PURPOSE)
    assert (by_name.id, by_name.secret_version) == (credential, 2)
    previous = resolver.resolve(credential, PURPOSE, stage="previous")
    assert (previous.secret_version, password(previous)) == (1, "stages-canary-5e3c7")
    assert previous.valid_until is not None
    pending = resolver.resolve_by_name(name, PURPOSE, stage="pending")
    assert (pending.secret_version, pending.stage) == (3, "pending")
    first = resolver.resolve(credential, PURPOSE, version=1)
    assert password(first) == "stages-canary-5e3c7"


def test_the_cache_serves_until_the_ttl_and_never_past_it(live: Live) -> None:
    credential, _ = live.new_database("ttl")
    counting, clock = live.counting(), Clock()
    resolver = cached(live, counting, clock, ttl=60)
    first = resolver.resolve(credential, PURPOSE)
    clock.now += 59.9
    assert resolver.resolve(credential, PURPOSE) is first
    assert counting.calls == 1
    clock.now += 0.1
    assert resolver.resolve(credential, PURPOSE) is not first
    assert counting.calls == 2
    # Each selector and purpose is an entry of its own; "current" is no stage.
    resolver.resolve(credential, PURPOSE, stage="current")
    resolver.resolve(credential, "pytest:other-purpose")
    assert counting.calls == 3


def test_sixteen_threads_share_one_invocation(live: Live) -> None:
    credential, _ = live.new_database("threads")
    counting = live.counting()
    resolver = cached(live, counting, Clock())
    stats = resolver.cache_stats
    assert stats is not None
    # The one invocation is held until the 15 other threads wait for it, so all 16 are
    # concurrent callers by construction, however the threads are scheduled.
    counting.gate = lambda: wait_until(lambda: stats.joined == 15, "15 threads waiting")
    start = threading.Barrier(16)
    results: list[ResolvedCredential] = []
    lock = threading.Lock()

    def call() -> None:
        start.wait()
        resolved = resolver.resolve(credential, PURPOSE)
        with lock:
            results.append(resolved)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"single-flight, threads: 16 callers, {counting.calls} invocation(s)")
    assert counting.calls == 1
    assert (stats.loads, stats.joined) == (1, 15)
    assert len(results) == 16 and all(r is results[0] for r in results)


def test_sixteen_coroutines_share_one_invocation(live: Live) -> None:
    credential, _ = live.new_database("coroutines")
    counting = live.counting()
    aresolver = AsyncResolver(cached(live, counting, Clock()))
    counting.gate = lambda: wait_until(lambda: aresolver.joined == 15, "15 coroutines waiting")

    async def main() -> list[ResolvedCredential]:
        return await asyncio.gather(*(aresolver.resolve(credential, PURPOSE) for _ in range(16)))

    results = asyncio.run(main())
    print(f"single-flight, asyncio: 16 callers, {counting.calls} invocation(s)")
    assert counting.calls == 1
    assert all(r is results[0] for r in results)
    # And afterwards from the cache, in another loop.
    again = asyncio.run(aresolver.resolve(credential, PURPOSE))
    assert again is results[0] and counting.calls == 1


def test_a_cancelled_coroutine_does_not_cancel_the_others(live: Live) -> None:
    credential, _ = live.new_database("cancelled")
    counting = live.counting()
    aresolver = AsyncResolver(cached(live, counting, Clock()))
    counting.gate = lambda: wait_until(lambda: aresolver.joined == 1, "a second coroutine")

    async def main() -> ResolvedCredential:
        first = asyncio.ensure_future(aresolver.resolve(credential, PURPOSE))
        second = asyncio.ensure_future(aresolver.resolve(credential, PURPOSE))
        await asyncio.sleep(0)  # both start; the invocation waits for the second to join
        first.cancel()
        return await second

    assert password(asyncio.run(main())) == "cancelled-canary-5e3c7"
    assert counting.calls == 1


def test_fresh_skips_the_cache_and_replaces_the_entry(live: Live) -> None:
    credential, _ = live.new_database("fresh")
    counting = live.counting()
    resolver = cached(live, counting, Clock())
    assert resolver.resolve(credential, PURPOSE).secret_version == 1
    live.api.set_secret(credential, {"password": "rotated-canary-5e3c7"})
    assert resolver.resolve(credential, PURPOSE).secret_version == 1  # the cache's
    assert counting.calls == 1
    fresh = resolver.resolve(credential, PURPOSE, fresh=True)
    assert (fresh.secret_version, password(fresh)) == (2, "rotated-canary-5e3c7")
    assert resolver.resolve(credential, PURPOSE) is fresh
    assert counting.calls == 2


def test_newer_than_never_returns_the_failed_version(live: Live) -> None:
    credential, name = live.new_database("newer")
    counting = live.counting()
    resolver = cached(live, counting, Clock())
    used = resolver.resolve(credential, PURPOSE)
    # The database refused version 1, but no rotation happened yet.
    with pytest.raises(NoNewerVersion) as none:
        resolver.resolve_newer_than(credential, used.secret_version, PURPOSE)
    assert none.value.current == 1 and "newer than 1" in str(none.value)
    live.api.set_secret(credential, {"password": "newer-2-canary-5e3c7"})
    assert resolver.resolve(credential, PURPOSE).secret_version == 1  # still cached
    newer = resolver.resolve_newer_than(credential, 1, PURPOSE)
    assert (newer.secret_version, password(newer)) == (2, "newer-2-canary-5e3c7")
    assert resolver.resolve(credential, PURPOSE) is newer  # the cache holds it now
    # Version 2 fails too: not 2 again, by id or by name.
    with pytest.raises(NoNewerVersion):
        resolver.resolve_newer_than(credential, 2, PURPOSE)
    with pytest.raises(NoNewerVersion):
        resolver.resolve_newer_than(name, 2, PURPOSE)
    live.api.set_secret(credential, {"password": "newer-3-canary-5e3c7"})
    by_name = asyncio.run(AsyncResolver(resolver).resolve_newer_than(name, 2, PURPOSE))
    assert by_name.secret_version == 3
    assert counting.calls == 6


def test_without_a_cache_every_call_invokes(live: Live) -> None:
    credential, _ = live.new_database("uncached")
    counting = live.counting()
    resolver = live.resolver(lambda_client=counting)
    assert resolver.cache_stats is None
    for _ in range(3):
        resolver.resolve(credential, PURPOSE)
    asyncio.run(AsyncResolver(resolver).resolve(credential, PURPOSE))
    assert counting.calls == 4
