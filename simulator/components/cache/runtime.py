"""``kind: cache`` — a key-value cache in front of an origin (Redis, memcached, Caffeine).

A cache is a small service (``replicas`` × ``workers`` doing ``work`` per look-up; Redis
is one worker) holding one store of ``capacity`` entries keyed by the request's key,
with a replacement policy and Caffeine's expiry (:mod:`simulator.caching.policies`).
Replicas share the store (ideal replication). The worker is freed before any origin
call, so a slow origin does not block look-ups.

``read``: a hit answers at once; a miss loads ``origin.origin_read`` and fills the entry
when the load succeeds. With ``coalesce`` (request coalescing, single flight), misses on
a key whose load is in flight wait for that load instead of starting their own: N
concurrent misses make one origin load. Without it, a hot key that expires under load
sends a stampede of loads to the origin.

``write`` (by ``pattern``): ``cache_aside``/``read_through`` write the origin, then delete
the entry; ``write_through`` writes the origin, then stores the new value;
``write_behind`` stores the value and answers at once, and writes the origin
``write_behind_delay`` later — writes to one key inside the delay are merged into one;
writes still pending when the cache crashes, or whose flush the origin fails, are lost.

Staleness: each acknowledged write of a key advances the origin's version of it
(:meth:`World.versions`); a hit on an entry filled from an older version is a stale
read. A write-behind write the origin has not received yet (or lost in a crash) leaves
the origin with the older version, so an entry loaded from it meanwhile is stale. A
crashed cache comes back empty (a cold start).

Tallies: ``hits``, ``misses``, ``stale_reads``, ``evictions``, ``expirations``,
``rejections`` (tinylfu refused the newcomer: also an eviction), ``origin_loads``, ``coalesced``, ``writes``,
``origin_writes``, ``writes_merged``, ``lost_writes``; its spec declares them and the ratios
``hit_ratio`` = hits / (hits + misses) and ``stale_ratio`` = stale reads / hits.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Generator

from ...caching import MISS, make_policy
from ...core.process import guarded, run_sequence
from ...core.request import ERROR, OK, Request
from ..base import Component
from ..station import Operation, event_loop


class Replay(Request):
    """A write the cache sends on its own (write-behind): the version it carries was already counted."""

    __slots__ = ()
    replayed = True


class Cache(Component):
    kind = "cache"

    def __init__(self, name, spec, world):
        super().__init__(name, spec, world)
        self.env = world.env
        # the worker is freed before any origin call: a slow origin does not block look-ups
        event_loop(self, spec, world)
        self.handle = self.station.visit  # a call is one visit: bound directly, no frame of our own
        self.store = make_policy(spec.policy, spec.capacity, spec.expire_after_write, spec.expire_after_access)
        log = self.log
        self.count = {n: log.counter(n) for n in (
            "hits", "misses", "stale_reads", "evictions", "expirations", "rejections", "origin_loads", "coalesced",
            "writes", "origin_writes", "writes_merged", "lost_writes")}
        log.facts.update({"policy": spec.policy, "pattern": spec.pattern, "capacity_entries": spec.capacity})
        self.loading: dict[int, Any] = {}
        self.pending: dict[int, int] = {}
        self.persisted: dict[int, int] = {}  # key -> the version the origin holds, for unflushed or lost writes
        self.epoch = 0  # bumped when a crash wipes the cache: flushes scheduled before it are void
        self._seen = (0, 0)  # the store's (expirations, rejections) already tallied

    def operation(self, name: str) -> Operation:
        return self.ops[name]

    def finish(self, now: float) -> None:
        self.station.finish(now)

    def wire(self) -> None:
        spec, world = self.spec, self.world
        self.versions = world.versions(spec.origin)
        self.load = world.caller(self.zone, f"{spec.origin}.{spec.origin_read}")
        self.origin_write = (world.caller(self.zone, f"{spec.origin}.{spec.origin_write}")
                             if "write" in self.ops else None)
        # one step each; run as a sequence, so a failed load or write answers ERROR
        self.ops["read"].body = partial(run_sequence, [self._read])
        if "write" in self.ops:  # a read-only origin makes a read-only cache
            write = self._write_behind if spec.pattern == "write_behind" else self._write
            self.ops["write"].body = partial(run_sequence, [write])

    # -- bookkeeping -----------------------------------------------------------------------------
    def _tally_store(self, now: float) -> None:
        """Turn the store's running counters into timestamped tallies."""
        store = self.store
        expired, rejected = self._seen
        for _ in range(store.expirations - expired):
            self.count["expirations"](now)
        for _ in range(store.rejections - rejected):
            self.count["rejections"](now)
        self._seen = (store.expirations, store.rejections)

    def _fill(self, key: int, version: int, now: float) -> None:
        for _ in range(self.store.put(key, version, now)):
            self.count["evictions"](now)
        self._tally_store(now)

    # -- operations ----------------------------------------------------------------------------
    def _read(self, request) -> Generator[Any, Any, int]:
        env, count = self.env, self.count
        key, now = request.key, self.env.now
        version = self.store.get(key, now)
        if self.store.expirations != self._seen[0]:
            self._tally_store(now)
        if version is not MISS:
            count["hits"](now)
            if version < self.versions.get(key, 0):
                count["stale_reads"](now)
            return OK
        count["misses"](now)
        coalesce = self.spec.coalescing
        if coalesce and key in self.loading:
            count["coalesced"](now)
            return (yield self.loading[key])
        loaded = env.event() if coalesce else None
        if coalesce:
            self.loading[key] = loaded
        # what the load will read: the origin's version (older than the acknowledged one while a
        # write-behind write is unflushed or was lost); a write racing the load makes it stale
        version = self.persisted.get(key, self.versions.get(key, 0))
        count["origin_loads"](now)
        status = ERROR
        try:
            status = yield from self.load(request)
        finally:
            if coalesce:
                del self.loading[key]
                loaded.succeed(status)
        if status == OK:
            self._fill(key, version, env.now)
        return status

    def _write(self, request) -> Generator[Any, Any, int]:
        env, count = self.env, self.count
        count["writes"](env.now)
        count["origin_writes"](env.now)
        status = yield from self.origin_write(request)
        if status != OK:
            return status
        if self.spec.pattern == "write_through":
            self._fill(request.key, self.versions.get(request.key, 0), env.now)
        else:
            self.store.invalidate(request.key)
        return OK

    def _write_behind(self, request) -> Generator[Any, Any, int]:
        env, count, key = self.env, self.count, request.key
        now = env.now
        count["writes"](now)
        if key not in self.persisted:  # the origin keeps this version until the flush lands
            self.persisted[key] = self.versions.get(key, 0)
        version = self.versions[key] = self.versions.get(key, 0) + 1
        self._fill(key, version, now)
        if key in self.pending:
            count["writes_merged"](now)
        else:
            env.process(guarded(self._flush(key, request, self.epoch)))
        self.pending[key] = version
        return OK
        yield  # a generator that never waits

    def _flush(self, key: int, request, epoch: int) -> Generator[Any, Any, int]:
        yield self.env.timeout(self.spec.write_behind_delay)
        if epoch != self.epoch:
            return OK  # lost in a crash (a write after the restart has a flush of its own)
        version = self.pending.pop(key, None)
        if version is None:
            return OK
        self.count["origin_writes"](self.env.now)
        replay = Replay(request.id, self.env.now, request.workload, request.operation, key)
        status = yield from self.origin_write(replay)
        if status != OK:  # the origin refused or failed it: the acknowledged write is gone
            self.count["lost_writes"](self.env.now)
        elif epoch == self.epoch:
            if key in self.pending:  # newer writes are waiting for their own flush
                self.persisted[key] = version
            else:
                self.persisted.pop(key, None)
        return status

    # -- faults ----------------------------------------------------------------------------------
    def on_crash(self, replicas) -> None:
        if all(not r.up for r in self.replicas.replicas):  # the whole cache is gone, memory and all
            now = self.env.now
            for _ in range(len(self.pending)):
                self.count["lost_writes"](now)
            self.pending.clear()
            self.epoch += 1
            self.cold = True

    def on_restart(self, replicas) -> None:
        if getattr(self, "cold", False):
            spec = self.spec
            self.store = make_policy(spec.policy, spec.capacity, spec.expire_after_write, spec.expire_after_access)
            self._seen = (0, 0)
            self.cold = False


RUNTIME = Cache
