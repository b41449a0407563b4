"""``kind: kv_store`` — a replicated key-value store: callers, coordinators, the history and the metrics.

**A call** ``store.read`` / ``store.write`` from zone Z (the engine compiles it with the
caller's zone: :meth:`KvStore.operation_from`) goes to a coordinator: the first replica up
in Z, else the first replica up, in ``replicas`` order, whose zone Z can reach (none: the
request is lost, the caller times out after ``network.unreachable_timeout``; every
replica down: ``ERROR``). The request pays Z → coordinator, the mode serves it
(:class:`~.raft.Raft` for CP, :class:`~.dynamo.Dynamo` for AP), the answer pays the way
back; a partition cutting either way loses it (``TIMEOUT`` after
``network.unreachable_timeout``, the work done all the same). Replicas are the
:class:`~simulator.components.station.Station`'s: ``workers`` each, ``read.work`` /
``write.work`` per operation, one span per visit; a crash fault hits the CP leader first.

**What is measured**: the declared counters; per caller zone (its index in
``network.zones``) the shares ``requests``, ``succeeded``, ``stale``; a read is **stale**
when it returned a version older than the newest write of its key acknowledged to a client
before the read was invoked. Record tables: ``history`` (one row per operation of the first
``history_keys`` keys: ``process`` = request id, ``key``, ``kind`` 0 read / 1 write,
``value`` written (drawn at the invoke) or read (NaN: nothing), ``invoke``, ``complete``,
``outcome`` 0 ok / 1 fail (it did not happen) / 2 info (unknown: a write that timed out),
``zone``, ``version`` (a write that took effect: its last-writer-wins time, CP: its commit
time)), and
``zones`` (per caller zone at the end: ``zone``, ``requests``, ``ok``, ``availability``,
``latency_mean``, ``latency_p50``, ``latency_p99`` of those answered OK, ``stale_reads``).
At the end the history is checked (:mod:`.verdict`): ``linearizable`` and the violation
counts and examples are facts of the summary.
"""

from __future__ import annotations

from array import array
from typing import Any, Generator

import numpy as np
import simpy

from ...core.request import ERROR, OK, TIMEOUT
from ..base import Component
from ..station import Station
from .dynamo import Dynamo
from .mesh import Mesh
from .raft import Raft
from .verdict import verdict

HISTORY_FIELDS = ("process", "key", "kind", "value", "invoke", "complete", "outcome", "zone", "version")
ZONE_FIELDS = ("zone", "requests", "ok", "availability", "latency_mean", "latency_p50", "latency_p99",
               "stale_reads")
KINDS = {"read": 0, "write": 1}
OUTCOME_OK, OUTCOME_FAIL, OUTCOME_INFO = 0, 1, 2
COUNTERS = ("reads", "writes", "ok", "failed", "unavailable", "timeouts", "reads_ok", "stale_reads", "messages_lost")
CP_COUNTERS = ("elections", "leader_changes")
AP_COUNTERS = ("conflicting_writes", "lww_lost_writes", "hints_delivered", "read_repairs", "anti_entropy_repairs")


class Call:
    """An operation as called from one zone: its kind, the caller's zone and that zone's code."""

    __slots__ = ("kind", "zone", "code")

    def __init__(self, kind: str, zone: str | None, code: int):
        self.kind, self.zone, self.code = kind, zone, code


class KvStore(Component):
    kind = "kv_store"

    def __init__(self, name, spec, world):
        super().__init__(name, spec, world)
        self.env = env = world.env
        n = len(spec.replicas)
        self.station = Station(name, spec, world, {"read": spec.read.work, "write": spec.write.work},
                               replicas=n, workers=spec.workers)
        self.replicas, self.log, self.ops = self.station.replicas, self.station.log, self.station.ops
        log = self.log
        names = COUNTERS + (CP_COUNTERS if spec.mode == "cp" else AP_COUNTERS)
        self.count = {c: log.counter(c) for c in names}
        log.ratios = {"availability": ("ok", ("ok", "failed")), "stale_ratio": ("stale_reads", ("reads_ok",))}
        zones = list(world.scenario.network.zones)
        self.zone_names = zones + ["(no zone)"]
        self.shares = [{s: log.counter(f"{s}:{i}") for s in ("requests", "succeeded", "stale")}
                       for i in range(len(self.zone_names))]
        self.latencies = [array("d") for _ in self.zone_names]  # of the requests answered OK
        self.zone_requests = [0] * len(self.zone_names)
        self.zone_stale = [0] * len(self.zone_names)
        self.zones = list(spec.replicas)
        self.local = {z: [i for i, rz in enumerate(self.zones) if rz == z] for z in set(self.zones)}
        self.links = world.links
        self.mesh = Mesh(world.links, self.zones, self.replicas.replicas, self._message_lost, env)
        self.values = 0
        self.acked: dict[int, tuple] = {}  # key -> the newest version acknowledged to a client
        self.calls: dict[tuple[str, str | None], Call] = {}
        self.add_history = log.table("history", HISTORY_FIELDS, summary="count")
        self.add_zone = log.table("zones", ZONE_FIELDS, summary="keep")
        self.history_keys: set[int] = set()
        self.history: list[tuple] = []  # the table's rows, kept in every records mode (the checker reads them)
        self.all_keys: set[int] = set()
        self.mode = Raft(self) if spec.mode == "cp" else Dynamo(self)

    # -- the engine's interface ----------------------------------------------------------------------
    def operation(self, name: str) -> Call:
        return self.operation_from(name, None)

    def operation_from(self, name: str, zone: str | None) -> Call:
        call = self.calls.get((name, zone))
        if call is None:
            code = self.zone_names.index(zone) if zone in self.zone_names[:-1] else len(self.zone_names) - 1
            call = self.calls[(name, zone)] = Call(name, zone, code)
        return call

    def next_value(self) -> int:
        """A value never written before (histories can tell every write apart)."""
        self.values += 1
        return self.values

    def work(self, i: int, kind: str, request) -> Generator[Any, Any, int]:
        """Replica *i* does *kind*'s work for *request* (queueing for a worker): its status."""
        return (yield from self.station.visit(self.ops[kind], request, self.replicas.replicas[i]))

    def crash_targets(self, count: int | None) -> list:
        replicas = list(self.replicas.replicas)
        leader = getattr(self.mode, "leader", None)
        if leader is not None:  # a crash hits the CP leader first
            replicas.insert(0, replicas.pop(leader))
        return replicas[:count] if count else replicas

    def on_restart(self, replicas) -> None:
        if isinstance(self.mode, Raft):
            for replica in replicas:
                self.mode.restarted(replica.index)

    # -- a call -------------------------------------------------------------------------------------
    def _coordinator(self, zone: str | None) -> int | None:
        replicas = self.replicas.replicas
        for i in self.local.get(zone, ()):
            if replicas[i].up:
                return i
        reachable = self.links.reachable
        for i, replica in enumerate(replicas):
            if replica.up and reachable(zone, self.zones[i]):
                return i
        return None

    def _message_lost(self, now: float) -> None:
        self.count["messages_lost"](now)
        self.world.links.lost[0] += 1  # the partition's record counts every message a cut dropped

    def _lost(self) -> Generator[Any, Any, int]:
        self._message_lost(self.env.now)
        yield self.env.timeout(self.world.scenario.network.unreachable_timeout)
        return TIMEOUT

    def handle(self, call: Call, request) -> Generator[Any, Any, int]:
        env, kind, key = self.env, call.kind, request.key
        invoke = env.now
        floor = self.acked.get(key) if kind == "read" else None
        value = self.next_value() if kind == "write" else None  # drawn at the invoke: a write that fails has one too
        status, version = ERROR, None
        try:
            c = self._coordinator(call.zone)
            if c is None:
                if any(r.up for r in self.replicas.replicas):
                    status = yield from self._lost()
            else:
                there = self.zones[c]
                delay = self.mesh.delay(call.zone, there)
                if delay:
                    yield env.timeout(delay)
                if not self.links.reachable(call.zone, there):
                    status = yield from self._lost()
                else:
                    status, version = yield from self.mode.serve(c, kind, request, value)
                    if not self.links.reachable(there, call.zone):
                        status = yield from self._lost()
                    else:
                        delay = self.mesh.delay(there, call.zone)
                        if delay:
                            yield env.timeout(delay)
        except (simpy.Interrupt, GeneratorExit):
            self._done(call, request, invoke, TIMEOUT, None, floor, value)
            raise
        self._done(call, request, invoke, status, version, floor, value)
        return status

    def _done(self, call: Call, request, invoke: float, status: int, version, floor, value) -> None:
        now, count, share, key = self.env.now, self.count, self.shares[call.code], request.key
        reading = call.kind == "read"
        count["reads" if reading else "writes"](now)
        share["requests"](now)
        self.zone_requests[call.code] += 1
        if status == OK:
            count["ok"](now)
            share["succeeded"](now)
            self.latencies[call.code].append(now - invoke)
            if reading:
                count["reads_ok"](now)
                if floor is not None and (version is None or version < floor):
                    count["stale_reads"](now)
                    share["stale"](now)
                    self.zone_stale[call.code] += 1
            else:
                held = self.acked.get(key)
                if held is None or version > held:
                    self.acked[key] = version
                if isinstance(self.mode, Dynamo):
                    self.mode.acknowledged_write(version)
        else:
            count["failed"](now)
            if status == TIMEOUT:
                count["timeouts"](now)
        self.all_keys.add(key)
        if key in self.history_keys or len(self.history_keys) < self.spec.history_keys:
            self.history_keys.add(key)
            if status == OK:
                outcome = OUTCOME_OK
            elif status == TIMEOUT and not reading:
                outcome = OUTCOME_INFO
            else:
                outcome = OUTCOME_FAIL
            if reading:
                value = np.nan if version is None else version[2]
            stamp = version[0] if version is not None and not reading else np.nan
            self.add_history(request.id, key, KINDS[call.kind], value, invoke, now, outcome, call.code, stamp)
            self.history.append((request.id, key, call.kind, value, invoke, now, outcome, stamp))

    # -- the end -------------------------------------------------------------------------------------
    def finish(self, now: float) -> None:
        self.station.finish(now)
        facts = self.log.facts
        facts["mode"] = self.spec.mode
        facts["zone_codes"] = ", ".join(f"{i}={z}" for i, z in enumerate(self.zone_names))
        if isinstance(self.mode, Raft):
            facts["leader"] = self.mode.leader
        else:
            facts["divergent_keys"] = self.mode.divergent_keys()
        facts["history_keys_recorded"] = len(self.history_keys)
        facts["history_keys_total"] = len(self.all_keys)
        if self.spec.history_keys:
            facts.update(verdict(self.history))
        for code, latencies in enumerate(self.latencies):
            self._zone_row(code, np.frombuffer(latencies, dtype=float) if latencies else np.zeros(0))

    def _zone_row(self, code: int, latencies: np.ndarray) -> None:
        requests = self.zone_requests[code]
        if not requests:
            return
        ok = latencies.size
        mean, p50, p99 = ((float(latencies.mean()), *map(float, np.quantile(latencies, (0.5, 0.99))))
                          if ok else (np.nan,) * 3)
        self.add_zone(code, requests, ok, ok / requests, mean, p50, p99, self.zone_stale[code])


RUNTIME = KvStore
