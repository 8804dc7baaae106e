"""The TTL cache on its own, with an injected clock: no sleeping, no timing."""

from __future__ import annotations

import threading

import pytest
from helpers import Clock, wait_until

from credentials_client.cache import TTLCache


class Loads:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return f"value-{self.count}"


def test_a_value_is_served_until_its_ttl_and_never_at_it() -> None:
    clock, load = Clock(), Loads()
    cache: TTLCache[str] = TTLCache(60, 10, clock)
    assert cache.get_or_load("k", load) == "value-1"
    clock.now += 59.999
    assert cache.get_or_load("k", load) == "value-1"
    clock.now += 0.001  # exactly the TTL: expired
    assert cache.get_or_load("k", load) == "value-2"
    assert (cache.stats.loads, cache.stats.hits) == (2, 1)


def test_a_clock_that_goes_back_drops_the_entry() -> None:
    clock, load = Clock(), Loads()
    cache: TTLCache[str] = TTLCache(60, 10, clock)
    cache.get_or_load("k", load)
    clock.now -= 1
    assert cache.get_or_load("k", load) == "value-2"


def test_entries_are_bounded_and_the_oldest_goes_first() -> None:
    clock, load = Clock(), Loads()
    cache: TTLCache[str] = TTLCache(60, 2, clock)
    for key in ("a", "b", "c"):
        cache.get_or_load(key, load)
        clock.now += 1
    assert len(cache) == 2
    assert cache.get_or_load("b", load) == "value-2"  # kept
    assert cache.get_or_load("a", load) == "value-4"  # dropped for c: loaded again


def test_failures_are_not_kept() -> None:
    cache: TTLCache[str] = TTLCache(60, 10, Clock())

    def fail() -> str:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        cache.get_or_load("k", fail)
    assert cache.get_or_load("k", Loads()) == "value-1"


def test_put_replaces_and_restamps() -> None:
    clock, load = Clock(), Loads()
    cache: TTLCache[str] = TTLCache(60, 10, clock)
    cache.get_or_load("k", load)
    clock.now += 50
    cache.put("k", "fresh")
    clock.now += 50  # 100 s after the first load, 50 after the put
    assert cache.get_or_load("k", load) == "fresh"


def test_waiters_share_the_leaders_failure_and_the_next_caller_loads_again() -> None:
    cache: TTLCache[str] = TTLCache(60, 10, Clock())
    release = threading.Event()
    errors: list[BaseException] = []

    def fail() -> str:
        release.wait(60)
        raise RuntimeError("no")

    def call() -> None:
        try:
            cache.get_or_load("k", fail)
        except RuntimeError as error:
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    wait_until(lambda: cache.stats.joined == 3, "three callers waiting on the first")
    release.set()
    for thread in threads:
        thread.join()
    assert len(errors) == 4 and cache.stats.loads == 1
    assert cache.get_or_load("k", Loads()) == "value-1"


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="ttl"):
        TTLCache(0, 1)
    with pytest.raises(ValueError, match="max_entries"):
        TTLCache(1, 0)
