"""``kind: regional_database`` — a primary, its cross-region copy, failover, and what was lost.

**Nodes**: node 0 is the primary in zone ``primary``; node 1 (when there is one) is the
standby in ``standby.zone`` or the restore target in ``backup.zone``. Each is one replica
of the :class:`~simulator.components.station.Station`, with ``connections`` workers.

**A call** from zone Z goes where DNS points (node 0 until a failover has moved clients):
it pays the link Z → that node's zone and back (``network`` links; a cut link loses it:
``TIMEOUT`` after ``network.unreachable_timeout``). The node serves it when it is the
primary, up and warmed up; else it is refused at once (``ERROR``, tallied
``unavailable``). A write acknowledged by the primary is replicated: ``async``, it reaches
the standby ``lag`` later, in commit order (never before the write before it); ``sync``,
its acknowledgement waits for the round trip to the standby (it fails when the standby is
down or cut off). An async standby that is down or cut off is not modelled: it catches up
at once when it is back. Backups: a snapshot is taken at every multiple of ``backup.interval``.

**Losing the primary** (a crash or an ``outage`` of its zone): health checks at the
multiples of ``failover.request_interval`` fail while it is down; after
``failure_threshold`` failures in a row it is declared down (it back before that: nothing
happens, nothing is lost). Then the standby is promoted in ``promotion`` (or the last
snapshot is restored on node 1 in ``backup.restore_time``): from then node 1 is the
primary, and the writes acknowledged by the old primary that had not reached the standby
when it was lost (or since the last snapshot) are **lost**. Clients still call the old
node until the DNS ``ttl`` has passed, then the new primary ``warm_up``\\ s before it
serves. A database fails over once (no failback); with no standby and no backup, or when
the copy is down too when the primary is declared down, it waits for its primary to come
back (losing nothing).

**Measured**: ``lost_writes`` (tallied at the promotion or restore), ``rpo_s`` = the
longest span from the oldest lost write's acknowledgement to the loss (golden G19.1: about the
lag; since the last snapshot), ``rto_s`` = the longest time from losing the primary to the
first operation answered OK afterwards (golden G19.2: ≤ detection + promotion + TTL + warm-up +
one check interval); ``None`` when it had not recovered by the end. ``rpo_s`` is ``None`` too
while a failover is still under way at the end (the copy not yet promoted or restored: what
is lost is not settled, so an objective on it fails rather than pass on nothing). Counters
``failovers``, ``restores``, ``unavailable``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Generator

from ...core.request import ERROR, OK, TIMEOUT
from ...core.sampling import sampler
from ..base import Component
from ..station import Station


class Call:
    """An operation as called from one zone."""

    __slots__ = ("op", "write", "zone")

    def __init__(self, op, write: bool, zone: str | None):
        self.op, self.write, self.zone = op, write, zone


class RegionalDatabase(Component):
    kind = "regional_database"

    def __init__(self, name, spec, world):
        super().__init__(name, spec, world)
        self.env = world.env
        work = {op: spec.operations[op].work for op in spec.operations}
        self.station = Station(name, spec, world, work, replicas=spec.nodes, workers=spec.connections,
                               labels=spec.visit_classes())
        self.replicas, self.log, self.ops = self.station.replicas, self.station.log, self.station.ops
        self.nodes = self.replicas.replicas
        self.zones = [spec.primary] + ([spec.recovery_zone] if spec.nodes == 2 else [])
        self.links = world.links
        self.serving = 0  # the primary
        self.routed = 0  # where DNS sends clients
        self.ready_at = 0.0  # the new primary's warm-up ends
        self.recovery = 1 if spec.nodes == 2 else None  # where a failover goes (once)
        standby = spec.standby
        self.lag = (sampler(standby.lag, world.rng(f"{name}/replication"))
                    if standby is not None and standby.replication == "async" else None)
        self.sync = standby is not None and standby.replication == "sync"
        self.unapplied: deque[tuple[float, float]] = deque()  # (acked, reaches the standby) in commit order
        self.applied = 0.0
        self.epoch, self.epoch_writes, self.epoch_first = -1, 0, 0.0  # writes since the last snapshot
        self.failing_over = False  # between losing the primary and promoting (or restoring) the copy
        self.down_at: float | None = None
        self.at_risk: tuple[int, float] = (0, 0.0)  # (writes, oldest acknowledgement) lost if it fails over
        self.calls: dict[tuple[str, str | None], Call] = {}
        log = self.log
        self.count = {n: log.counter(n) for n in ("lost_writes", "unavailable", "failovers", "restores")}
        log.facts.update({"rpo_s": 0.0, "rto_s": 0.0, "primary": spec.primary})

    # -- the engine's interface ----------------------------------------------------------------------
    def operation(self, name: str) -> Call:
        return self.operation_from(name, None)

    def operation_from(self, name: str, zone: str | None) -> Call:
        call = self.calls.get((name, zone))
        if call is None:
            call = self.calls[(name, zone)] = Call(self.ops[name], self.spec.op_type(name) == "write", zone)
        return call

    def _delay(self, a: str | None, b: str | None) -> float:
        link = self.links.between(a, b)
        return 0.0 if link is None else link.delay()

    def _lost(self) -> Generator[Any, Any, int]:
        self.world.links.lost[0] += 1  # a partition's or an outage's record counts what its cuts dropped
        yield self.env.timeout(self.world.scenario.network.unreachable_timeout)
        return TIMEOUT

    def handle(self, call: Call, request) -> Generator[Any, Any, int]:
        env, links = self.env, self.links
        i = self.routed
        there = self.zones[i]
        delay = self._delay(call.zone, there)
        if delay:
            yield env.timeout(delay)
        if not links.reachable(call.zone, there):
            return (yield from self._lost())
        node = self.nodes[i]
        served = None
        if i != self.serving or env.now < self.ready_at or not node.up:
            self.count["unavailable"](env.now)
            status = ERROR
        else:
            status = yield from self.station.visit(call.op, request, node)
            if status == OK and call.write:
                if self.sync:
                    status = yield from self._sync_to_standby(i)
                if status == OK:
                    self._acked(env.now)
            served = env.now
        if not links.reachable(there, call.zone):
            return (yield from self._lost())
        delay = self._delay(there, call.zone)
        if delay:
            yield env.timeout(delay)
        if status == OK and self.down_at is not None and served > self.down_at:
            self._recovered()  # answered by a primary serving after the loss
        return status

    def _sync_to_standby(self, i: int) -> Generator[Any, Any, int]:
        """The acknowledgement waits for the standby's: a round trip; it fails when the standby is unreachable."""
        j = self.recovery
        if j is None or j == i:  # failed over: the standby is the primary now
            return OK
        here, there = self.zones[i], self.zones[j]
        if not (self.nodes[j].up and self.links.reachable(here, there) and self.links.reachable(there, here)):
            return ERROR
        rtt = self._delay(here, there) + self._delay(there, here)
        if rtt:
            yield self.env.timeout(rtt)
        return OK if self.nodes[i].up and self.serving == i else ERROR

    # -- what a loss would lose ----------------------------------------------------------------------
    def _acked(self, now: float) -> None:
        if self.lag is not None and self.recovery is not None:
            self.applied = max(self.applied, now + self.lag())  # a replication log applies in order
            unapplied = self.unapplied
            unapplied.append((now, self.applied))
            while unapplied and unapplied[0][1] <= now:
                unapplied.popleft()
        backup = self.spec.backup
        if backup is not None:
            epoch = math.floor(now / backup.interval)
            if epoch != self.epoch:
                self.epoch, self.epoch_writes, self.epoch_first = epoch, 0, now
            self.epoch_writes += 1

    def _exposure(self, now: float) -> tuple[int, float]:
        """(writes, oldest acknowledgement) acknowledged by the primary but not in the recovery copy *now*."""
        if self.lag is not None:
            lost = [acked for acked, applied in self.unapplied if applied > now]
            return (len(lost), lost[0]) if lost else (0, now)
        backup = self.spec.backup
        if backup is not None and self.epoch == math.floor(now / backup.interval):
            return self.epoch_writes, self.epoch_first
        return 0, now

    def _recovered(self) -> None:
        facts = self.log.facts
        facts["rto_s"] = max(facts["rto_s"], self.env.now - self.down_at)
        self.down_at = None

    # -- faults --------------------------------------------------------------------------------------
    def crash_targets(self, count: int | None) -> list:
        nodes = list(self.nodes)
        nodes.insert(0, nodes.pop(self.serving))  # the primary first
        return nodes[:count] if count else nodes

    def on_crash(self, replicas) -> None:
        primary = self.nodes[self.serving]
        if primary in replicas and self.down_at is None:
            now = self.env.now
            self.down_at = now
            self.at_risk = self._exposure(now)
            if self.recovery is not None:
                self.failing_over = True
                self.env.process(self._fail_over(now, primary))

    def _fail_over(self, lost_at: float, primary):
        """Detect (health checks), then promote or restore, then move clients (TTL) and warm up."""
        env, spec = self.env, self.spec
        failover = spec.failover
        interval = failover.request_interval
        check, failures = (math.floor(lost_at / interval) + 1) * interval, 0
        while True:
            yield env.timeout(check - env.now)
            if primary.up:
                self.failing_over = False
                return  # back before it was declared down
            failures += 1
            if failures >= failover.failure_threshold:
                break
            check += interval
        target = self.recovery
        if not self.nodes[target].up:
            self.failing_over = False
            return  # the copy is lost too (an outage of both zones): wait for the primary
        yield env.timeout(failover.promotion if spec.standby is not None else spec.backup.restore_time)
        self.count["failovers" if spec.standby is not None else "restores"](env.now)
        self.serving, self.recovery, self.failing_over = target, None, False
        self.log.facts["primary"] = self.zones[target]
        lost, oldest = self.at_risk
        for _ in range(lost):
            self.count["lost_writes"](env.now)
        if lost:
            self.log.facts["rpo_s"] = max(self.log.facts["rpo_s"], lost_at - oldest)
        if failover.ttl:
            yield env.timeout(failover.ttl)
        self.routed = target
        self.ready_at = env.now + failover.warm_up

    def finish(self, now: float) -> None:
        self.station.finish(now)
        if self.down_at is not None:
            self.log.facts["rto_s"] = None  # not recovered by the end
        if self.failing_over:
            self.log.facts["rpo_s"] = None  # the copy not promoted yet: what is lost is not settled


RUNTIME = RegionalDatabase
