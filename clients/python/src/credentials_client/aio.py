"""`AsyncResolver`: the resolver for asyncio code.

boto3 blocks, so each invocation runs in a worker thread (`asyncio.to_thread`). With the
cache on, coroutines of one event loop asking for one key while its invocation runs share
that invocation (one task, awaited through `asyncio.shield`, so a cancelled caller does not
cancel the others); the resolver's thread-safe cache then serves it to every thread and
loop until its TTL ends.
"""

from __future__ import annotations

import asyncio

from .model import ResolvedCredential, Target, selector
from .resolver import CacheKey, Resolver

# An invocation running: per event loop (a task belongs to the loop that made it) and key.
Slot = tuple[asyncio.AbstractEventLoop, CacheKey]


class AsyncResolver:
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self._running: dict[Slot, asyncio.Task[ResolvedCredential]] = {}
        # Callers that awaited an invocation another caller had started (for tests).
        self.joined = 0

    def __repr__(self) -> str:
        return f"AsyncResolver({self.resolver!r})"

    async def resolve(
        self,
        credential_id: str,
        purpose: str,
        *,
        stage: str | None = None,
        version: int | None = None,
        fresh: bool = False,
    ) -> ResolvedCredential:
        return await self.resolve_target(
            Target.by_id(credential_id), purpose, stage=stage, version=version, fresh=fresh
        )

    async def resolve_by_name(
        self,
        name: str,
        purpose: str,
        *,
        stage: str | None = None,
        version: int | None = None,
        fresh: bool = False,
    ) -> ResolvedCredential:
        return await self.resolve_target(
            Target.by_name(name), purpose, stage=stage, version=version, fresh=fresh
        )

    async def resolve_target(
        self,
        target: Target,
        purpose: str,
        *,
        stage: str | None = None,
        version: int | None = None,
        fresh: bool = False,
    ) -> ResolvedCredential:
        key: CacheKey = (target, selector(stage, version), purpose)

        def call() -> ResolvedCredential:
            return self.resolver.resolve_target(
                target, purpose, stage=stage, version=version, fresh=fresh
            )

        if fresh or self.resolver.cache_stats is None:
            return await asyncio.to_thread(call)
        loop = asyncio.get_running_loop()
        slot = (loop, key)
        task = self._running.get(slot)
        if task is None:
            task = loop.create_task(asyncio.to_thread(call))
            self._running[slot] = task
            task.add_done_callback(lambda done: self._finished(slot, done))
        else:
            self.joined += 1
        return await asyncio.shield(task)

    async def resolve_newer_than(
        self, credential_id_or_name: str | Target, failed_version: int, purpose: str
    ) -> ResolvedCredential:
        return await asyncio.to_thread(
            self.resolver.resolve_newer_than, credential_id_or_name, failed_version, purpose
        )

    def _finished(self, slot: Slot, done: asyncio.Task[ResolvedCredential]) -> None:
        if self._running.get(slot) is done:
            del self._running[slot]
        # Every caller may have been cancelled: retrieve the error so that asyncio does
        # not report it as never retrieved.
        if not done.cancelled():
            done.exception()
