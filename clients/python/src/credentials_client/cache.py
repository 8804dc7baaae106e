"""A TTL cache in which concurrent callers of one key share one load (single-flight).

An entry is stamped when its load starts and served only while `0 <= now - stamp < ttl`,
so no value is served past its TTL (a clock that went back drops the entry too). The
clock is injectable; by default the wall clock, since a frozen Lambda container does not
see monotonic time pass and the wall clock does. Failed loads are not kept: the next
caller loads again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass
class CacheStats:
    """Counters since the cache was made (for tests and metrics)."""

    hits: int = 0  # served a finished, live entry
    joined: int = 0  # waited for a load another caller had started
    loads: int = 0  # ran the load (each one an invocation)


class _Flight(Generic[V]):
    """One load: its result, once `done` is set."""

    __slots__ = ("done", "error", "stamp", "value")

    def __init__(self, stamp: float) -> None:
        self.stamp = stamp
        self.done = threading.Event()
        self.value: V | None = None
        self.error: BaseException | None = None

    def result(self) -> V:
        if self.error is not None:
            raise self.error
        assert self.value is not None  # set with done, when error is not
        return self.value


class TTLCache(Generic[V]):
    """At most `max_entries` entries (the oldest goes first), each live for `ttl` seconds."""

    def __init__(
        self, ttl: float, max_entries: int, clock: Callable[[], float] = time.time
    ) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Hashable, _Flight[V]] = {}
        self.stats = CacheStats()

    def get_or_load(self, key: Hashable, load: Callable[[], V]) -> V:
        """The live value of `key`, or the result of the load running for it, or of a new
        `load()` run by this caller (the others wait for it)."""
        with self._lock:
            now = self._clock()
            self._drop_expired(now)
            flight = self._entries.get(key)
            leader = flight is None
            if flight is None:
                flight = _Flight(now)
                self._make_room()
                self._entries[key] = flight
                self.stats.loads += 1
            elif flight.done.is_set():
                self.stats.hits += 1
            else:
                self.stats.joined += 1
        if not leader:
            # The leader's load is bounded by the Lambda client's timeouts.
            flight.done.wait()
            return flight.result()
        try:
            value = load()
        except BaseException as error:
            flight.error = error
            self._forget(key, flight)
            raise
        else:
            flight.value = value
        finally:
            flight.done.set()
        return value

    def put(self, key: Hashable, value: V) -> None:
        """Replaces what `key` holds with `value`, stamped now (a fresh resolve's answer)."""
        flight: _Flight[V]
        with self._lock:
            flight = _Flight(self._clock())
            flight.value = value
            flight.done.set()
            self._entries.pop(key, None)
            self._make_room()
            self._entries[key] = flight

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _forget(self, key: Hashable, flight: _Flight[V]) -> None:
        # Only this load's entry: a `put` may have replaced it meanwhile.
        with self._lock:
            if self._entries.get(key) is flight:
                del self._entries[key]

    def _drop_expired(self, now: float) -> None:
        stale = [k for k, f in self._entries.items() if not 0 <= now - f.stamp < self.ttl]
        for key in stale:
            del self._entries[key]

    def _make_room(self) -> None:
        while len(self._entries) >= self.max_entries:
            oldest = min(self._entries, key=lambda k: self._entries[k].stamp)
            del self._entries[oldest]
