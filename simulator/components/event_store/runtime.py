"""``kind: event_store``: streams per aggregate, appends checked against the expected version.

The store is a :class:`~simulator.components.station.Station` (``replicas`` × ``workers``,
``append_work`` or ``read_work`` per visit) and one dictionary, stream key → version (its
number of events). An ``append`` of the request's key:

1. reads the stream's version when it arrives (the version its writer expects);
2. visits the station (waits for a worker, does ``append_work``);
3. lands if the version is unchanged — the version goes up by one, and a snapshot is taken
   when it reaches a multiple of ``snapshot_every`` — or else is a conflict: ``fail``
   answers ``ERROR``; ``retry`` goes back to 1, at most ``max_retries`` times.

So the window in which another writer's append makes this one conflict is its sojourn in
the store (wait + work): conflicts grow with the load on a stream and with key skew.
A ``read`` is one visit. A crash fails what is in flight; landed events are durable.
"""

from __future__ import annotations

from typing import Any, Generator

from ...core.request import ERROR, OK
from ..base import Component
from ..station import Operation, Station


class EventStore(Component):
    kind = "event_store"

    def __init__(self, name, spec, world):
        super().__init__(name, spec, world)
        self.env = world.env
        work = {"append": spec.append_work, "read": spec.read_work}
        self.station = Station(name, spec, world, work, replicas=spec.replicas, workers=spec.workers)
        self.replicas, self.log, self.ops = self.station.replicas, self.station.log, self.station.ops
        self.versions: dict[int, int] = dict(enumerate(spec.initial_lengths()))
        log = self.log
        self.count = {n: log.counter(n) for n in (
            "appends", "conflicts", "append_retries", "appends_failed", "snapshots", "reads")}
        log.facts.update({"snapshot_every": spec.snapshot_every, "on_conflict": spec.on_conflict})
        self._append_op = self.ops["append"]

    def operation(self, name: str) -> Operation:
        return self.ops[name]

    def handle(self, op: Operation, request, replica=None) -> Generator[Any, Any, int]:
        if op is self._append_op:
            return (yield from self._append(op, request, replica))
        self.count["reads"](self.env.now)
        return (yield from self.station.visit(op, request, replica))

    def _append(self, op: Operation, request, replica) -> Generator[Any, Any, int]:
        spec, versions, count, env = self.spec, self.versions, self.count, self.env
        key = request.key
        for attempt in range(spec.retries + 1):
            if attempt:
                count["append_retries"](env.now)
            expected = versions.get(key, 0)
            status = yield from self.station.visit(op, request, replica)
            if status != OK:
                return status
            if versions.get(key, 0) == expected:
                version = versions[key] = expected + 1
                count["appends"](env.now)
                if spec.snapshot_every and version % spec.snapshot_every == 0:
                    count["snapshots"](env.now)
                return OK
            count["conflicts"](env.now)
        count["appends_failed"](env.now)
        return ERROR

    # -- what a replaying replica reads ----------------------------------------------------------
    def replay_work(self) -> tuple[int, int]:
        """``(events after the last snapshot, snapshots)`` over every stream: what a rebuild reads now."""
        every = self.spec.snapshot_every
        if every is None:
            return sum(self.versions.values()), 0
        events = snapshots = 0
        for version in self.versions.values():
            events += version % every
            snapshots += version >= every
        return events, snapshots

    def finish(self, now: float) -> None:
        self.station.finish(now)
        facts = self.log.facts
        facts["streams"] = sum(1 for v in self.versions.values() if v)
        facts["events_stored"] = sum(self.versions.values())
        facts["events_since_snapshot"] = self.replay_work()[0]


RUNTIME = EventStore
