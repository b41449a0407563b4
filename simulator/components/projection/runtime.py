"""``kind: projection`` — a CQRS read model: a consumer of a broker topic that applies events, and reads.

**Applying.** The projector is a :class:`~simulator.components.station.Station` of
``replicas`` × ``workers``: the broker's group members (on these replicas) call ``apply``
once per event; the visit holds a worker for ``apply.work`` and then applies the event to
the read model (:class:`~.read_model.ReadModel`). The broker tells the projection of every
produce into ``source`` it acknowledges (:meth:`Broker.on_acknowledged`), at that moment;
the write is *missing* from the read model until applied. Projection lag = applied −
acknowledged, per write (a redelivered event changes nothing: ``reapplied``).

**Reading.** ``read`` does not take a projector worker (the read store serves it): at its
arrival the read looks at its key. With ``consistency_token`` it first waits, at most
``max_wait``, until the read model has every write of its own request to that key; late, it
fails (``when_late: error``) or answers with what there is (``serve_stale``). It is then
**stale** when a write to its key acknowledged before that moment is still missing, and
**own** stale when one of those is its own request's; after that it takes ``read.work``.
A read with no projector replica up fails (``ERROR``). The read model is stored: it
survives a crash of the projector, whose members die with their replica (the broker's
group rebalances and redelivers, at least once).

**What it reports**: the counters and facts its spec declares, and two record tables (full
records only): ``reads`` (per read: ``time`` it was served, ``key``, ``age`` = time since
the key's last acknowledged write (NaN: never written), ``stale``, ``own``, ``behind`` =
time since the oldest missing acknowledgement (NaN when not stale), ``wait`` = the token's
wait) — the stale-read curve P(stale | age) — and ``projection_lag`` (per applied write:
``time``, ``key``, ``lag``). The lag, staleness and token-wait facts are exact in both
record modes (8 bytes per sample). Every visit is one span: an apply's is the station's, a
read's holds no worker (utilization counts the projector only).
"""

from __future__ import annotations

from array import array
from typing import Any, Generator

import numpy as np

from ...core.request import ERROR, OK
from ..base import Component
from ..station import Operation, Station
from .read_model import ReadModel
from .spec import LAG_FACTS

READ_FIELDS = ("time", "key", "age", "stale", "own", "behind", "wait")
LAG_FIELDS = ("time", "key", "lag")
QUANTILES = (0.5, 0.95, 0.99)


class Projection(Component):
    kind = "projection"

    def __init__(self, name, spec, world):
        super().__init__(name, spec, world)
        self.env = world.env
        self.station = Station(name, spec, world, {"apply": spec.apply.work, "read": spec.read.work},
                               replicas=spec.replicas, workers=spec.workers)
        self.replicas, self.log = self.station.replicas, self.station.log
        self.apply_op, self.read_op = self.station.ops["apply"], self.station.ops["read"]
        self.apply_op.body = self._apply
        self.model = ReadModel()
        self.waiting: dict[tuple[int, int], list] = {}  # (key, writer) -> token reads waiting for it
        log = self.log
        self.count = {n: log.counter(n) for n in ("reads", "stale_reads", "stale_own_reads", "applied", "reapplied")}
        if spec.read.consistency_token:
            self.count.update({n: log.counter(n) for n in ("token_waits", "token_timeouts")})
        log.ratios = {"stale_ratio": ("stale_reads", ("reads",)), "stale_own_ratio": ("stale_own_reads", ("reads",))}
        self.add_read = log.table("reads", READ_FIELDS, summary="count")
        self.add_lag = log.table("projection_lag", LAG_FIELDS, summary="count")
        self.lags, self.behind, self.waits = array("d"), array("d"), array("d")

    def wire(self) -> None:
        spec = self.spec
        self.world.components[spec.broker].on_acknowledged(spec.topic, self._acknowledged)

    def operation(self, name: str) -> Operation:
        return self.station.ops[name]

    def handle(self, op: Operation, request, replica=None) -> Generator[Any, Any, int]:
        if op is self.read_op:
            return (yield from self._read(request))
        return (yield from self.station.visit(op, request, replica))

    # -- the write side ------------------------------------------------------------------------------
    def _acknowledged(self, request) -> None:
        self.model.acknowledged(request.key, request.id, self.env.now)

    def _apply(self, request) -> Generator[Any, Any, int]:
        """The event's work is done: the read model has the write now."""
        now = self.env.now
        key = request.key
        lag, caught_up = self.model.applied(key, request.id, now)
        if lag is None:
            self.count["reapplied"](now)
        else:
            self.count["applied"](now)
            self.lags.append(lag)
            self.add_lag(now, key, lag)
        if caught_up:
            for event in self.waiting.pop((key, request.id), ()):
                event.succeed()
        return OK
        yield  # a generator that never waits

    # -- the read side -------------------------------------------------------------------------------
    def _read(self, request) -> Generator[Any, Any, int]:
        env, spec = self.env, self.spec.read
        arrival = env.now
        if not any(replica.up for replica in self.replicas.replicas):
            self.station.record(arrival, arrival, arrival, arrival, ERROR, self.read_op.index)
            return ERROR
        key, writer = request.key, request.id
        wait = 0.0
        stale, own, oldest = self.model.missing(key, writer)
        if own and spec.consistency_token:
            self.count["token_waits"](arrival)
            caught_up = env.event()
            self.waiting.setdefault((key, writer), []).append(caught_up)
            yield caught_up | env.timeout(spec.max_wait)
            wait = env.now - arrival
            self.waits.append(wait)
            if not caught_up.triggered:
                self.count["token_timeouts"](env.now)
                waiters = self.waiting[(key, writer)]
                waiters.remove(caught_up)
                if not waiters:
                    del self.waiting[(key, writer)]
                if spec.when_late == "error":
                    self.station.record(arrival, arrival, arrival, env.now, ERROR, self.read_op.index)
                    return ERROR
            stale, own, oldest = self.model.missing(key, writer)
        now = env.now
        count = self.count
        count["reads"](now)
        behind = np.nan
        if stale:
            count["stale_reads"](now)
            behind = now - oldest
            self.behind.append(behind)
            if own:
                count["stale_own_reads"](now)
        last = self.model.last_ack.get(key)
        self.add_read(now, key, np.nan if last is None else now - last, stale, own, behind, wait)
        work = self.read_op.work
        if work is not None:
            yield env.timeout(work())
        self.station.record(arrival, arrival, arrival, env.now, OK, self.read_op.index)
        return OK

    # -- the end -------------------------------------------------------------------------------------
    def finish(self, now: float) -> None:
        self.station.finish(now)
        facts = self.log.facts
        lags = np.frombuffer(self.lags, dtype=float) if self.lags else np.zeros(0)
        lag = _stats(lags)
        facts.update(zip(LAG_FACTS, (lag["mean"], lag[0.5], lag[0.95], lag[0.99],
                                     float(lags.max()) if lags.size else None)))
        behind = _stats(np.frombuffer(self.behind, dtype=float) if self.behind else np.zeros(0))
        facts.update(staleness_mean=behind["mean"], staleness_p99=behind[0.99], unapplied=self.model.unapplied)
        if self.spec.read.consistency_token:
            waits = _stats(np.frombuffer(self.waits, dtype=float) if self.waits else np.zeros(0))
            facts.update(token_wait_mean=waits["mean"], token_wait_p99=waits[0.99])


def _stats(values: np.ndarray) -> dict[Any, float | None]:
    """Mean and the :data:`QUANTILES` of *values* (numpy's linear quantiles); ``None`` each when empty."""
    if values.size == 0:
        return {"mean": None, **dict.fromkeys(QUANTILES)}
    return {"mean": float(values.mean()), **dict(zip(QUANTILES, map(float, np.quantile(values, QUANTILES))))}


RUNTIME = Projection
