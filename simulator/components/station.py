"""The worker pool every queueing kind holds: replicas × workers, and one visit through them.

A :class:`Station` is what services, caches, databases and load balancers have in common:
a :class:`~simulator.components.replica.ReplicaSet` (``replicas`` × ``workers``, a FIFO
queue of at most ``queue_limit`` per replica, vCPUs, speeds), the span log its visits
are recorded in, and :meth:`Station.visit`, the one way through it. A kind *holds* a
station and calls it (composition); it adds what only it does around or inside the
visit: a database picks the node, a cache and a balancer give each operation a body.

A visit of operation ``op`` on a replica:

1. the replica: the one given (a balancer's or a database's choice) or round robin over
   those up; none up, or the one given is down: ``ERROR`` at once;
2. admission: no free worker and ``queue_limit`` waiting already: ``REJECTED``;
3. wait FIFO (LIFO with ``queue_order: lifo``) for a worker, at most ``max_wait`` (then
   ``ERROR``, tallied as ``pool_timeouts``); a service that sheds or drops expired work
   checks the request when a worker takes it: waited longer than ``shed.max_queue_time``
   (``shed``) or past its caller's deadline with ``drop_expired`` (``expired``): ``REJECTED``
   at once, the worker going on to the next;
4. hold the worker for the operation's ``work`` × the replica's slow-down: its own time
   with a CPU per worker, else processor sharing on the replica's vCPUs
   (:mod:`simulator.components.cpu`);
5. an error-rate fault: with the replica's ``error_probability`` the answer is ``ERROR``;
6. the operation's ``body`` (its compiled steps): while holding the worker when the
   station is ``blocking``, after releasing it otherwise;
7. one span: arrival, start (worker granted), done (its own work over: the time a
   ``blocking`` station's body starts, else the release), release (worker freed), end,
   status. ``done − arrival`` is the visit's sojourn at this station (wait + work), which
   leaves out the downstream calls its body makes; ``end − arrival`` includes them. A
   traced request (``tracing:``) also gets a server span of the visit, and its body's calls
   are children of it (:mod:`simulator.tracing.tracer`).

**Cancelled copies** (only in a scenario where some ``hedge`` cancels its losers: elsewhere
the visit is exactly as above). A hedged call's copy (a request with a ``copy``,
:class:`~simulator.core.request.Copy`) that its caller cancelled is dropped on arrival; one
waiting in line when cancelled leaves it at once (its place goes to the next). Either way
its span is ``REJECTED`` (it was not served) and a service counts it ``cancelled``. Once a
worker has taken a copy it is no longer cancellable: it does its work and its body's calls
to the end, as a handler that does not check for cancellation, and its answer is dropped.

A crash of the replica interrupts the visit wherever it is: the status is ``ERROR``,
the worker (or the place in line) and any CPU share are given back. An interrupt for a
crash elsewhere passes through: the component that crashed fails the request.

The visit is one generator with one ``try``/``finally`` rather than SimPy's ``with
request`` objects: the pool grants a free worker without scheduling an event
(:mod:`simulator.components.replica`) and the hot path stays one generator frame. A station
where none of the exceptional paths can happen — no crash fault anywhere in the scenario
and no cancelling hedge (so no interrupt can reach a visit), no wait bound, no shedding,
no tracing, no error-rate fault, a CPU per worker — takes :meth:`Station._plain_visit`
instead: the same records and draws without the bookkeeping for what cannot happen, and
one event for a queued visit's wait and work together (the worker handed over starts it).
The clock is read as ``env._now``: SimPy's ``now`` property is a function call per read,
and on this path that was 6 % of an M/M/c run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator, Mapping

import simpy

from ..catalog import instance_class, instance_speed
from ..core.process import StepFn
from ..core.request import CANCEL, ERROR, OK, REJECTED
from ..core.sampling import is_zero, sampler
from .replica import Crash, ReplicaSet

if TYPE_CHECKING:
    from ..core.context import Context


class _GaveUp(Exception):
    """No worker became free within ``max_wait``."""


class _Failed(Exception):
    """The operation itself failed (an error-rate fault)."""


class _Dropped(Exception):
    """Shed or expired when a worker took it (``shed.max_queue_time``, ``drop_expired``)."""


class Operation:
    """An operation ready to run: its ``index`` in the span log, a ``work`` sampler (``None``:
    no work) and its ``body`` (what runs after the work: the compiled steps; ``None``: nothing)."""

    __slots__ = ("name", "index", "work", "body")

    def __init__(self, name: str, index: int, work, body: StepFn | None = None):
        self.name = name
        self.index = index
        self.work = work
        self.body = body


def vcpus_of(spec) -> int | None:
    """vCPUs per replica: the spec's ``vcpus``, else its ``instance`` class's, else ``None`` (a CPU per worker)."""
    vcpus = getattr(spec, "vcpus", None)
    if vcpus is None and getattr(spec, "instance", None) is not None:
        vcpus = instance_class(spec.instance).vcpus
    return vcpus


class Station:
    """The worker pool of component *name* and the visit through it.

    *work* maps each operation callers may name, in order, to its work distribution.
    *replicas* × *workers* size the pool; the spec gives ``queue_limit``, ``speeds``,
    ``instance`` and ``vcpus`` when it has them. *max_wait* bounds the wait for a worker
    (``None``: no bound); *labels* name a class per operation that the metrics count
    apart (read/write); *blocking* says whether the body runs holding the worker.
    """

    def __init__(self, name: str, spec, world: "Context", work: Mapping[str, Any], *, replicas: int, workers: int,
                 max_wait: float | None = None, labels: Mapping[str, str] | None = None, blocking: bool = True):
        self.name = name
        self.world = world
        self.env = env = world.env
        self.replicas = ReplicaSet(env, replicas, workers, spec.queue_limit, world.may_crash(name),
                                   getattr(spec, "speeds", None), instance_speed(spec), vcpus_of(spec),
                                   lifo=getattr(spec, "queue_order", "fifo") == "lifo")
        self.log = world.recorder.span_log(name, spec.kind, self.replicas.capacity, list(work))
        self.record = self.log.add
        self.metered = False  # an autoscaler reads busy time and arrivals per replica
        self._visits = 0  # numbers the visits holding a worker (Replica.serving)
        self.max_wait = max_wait
        self.pool_timeouts = self.log.counter("pool_timeouts") if max_wait is not None else None
        self.error_draw = world.uniform(f"{name}/errors") if name in world.erratic else None
        self.log.labels = dict(labels or {})
        self.blocking = blocking
        self.door_shed, self.late = _overload(spec, self.log)  # None, None unless the spec sheds or drops
        tracer = getattr(world, "tracer", None)
        self.spans = None if tracer is None else tracer.server(name, list(work))  # traced visits' spans
        self.cancelled = None  # counts hedged copies cancelled here, where some hedge cancels its losers
        if _hedges_cancel(world.scenario):
            declared = any(getattr(m, "name", None) == "cancelled" for m in getattr(spec, "metrics", ()))
            self.cancelled = self.log.counter("cancelled") if declared else _uncounted
            self.late, self.visit = _cancellable(self, self.late, self.visit)
        self.ops: dict[str, Operation] = {}
        for index, (op_name, distribution) in enumerate(work.items()):
            draw = None if is_zero(distribution) else sampler(distribution, world.rng(f"{name}/{op_name}/work"))
            self.ops[op_name] = Operation(op_name, index, draw)
        if self._plain(world, spec):
            self.visit = self._plain_visit

    def _plain(self, world: "Context", spec) -> bool:
        """Whether every visit here takes the plain path: nothing in the scenario can interrupt
        a visit (no crash fault anywhere, no hedge that cancels) and this station has no wait
        bound, no shedding or dropping, no tracing, no error-rate fault and a CPU per worker."""
        cpu_per_worker = vcpus_of(spec) is None or vcpus_of(spec) >= self.replicas.workers
        return (not world.crashable and self.cancelled is None and self.max_wait is None and self.late is None
                and self.door_shed is None and self.spans is None and self.error_draw is None and cpu_per_worker)

    def visit(self, op: Operation, request: Any, replica=None) -> Generator[Any, Any, int]:
        """Serve *request* for *op* on *replica* (a caller's choice), or on the one the set picks."""
        env = self.env
        t_arrive = env._now
        replica = self._serving(op, replica, t_arrive)
        if replica is None:
            return ERROR
        if self.metered:
            replica.arrivals += 1
        if replica.full():
            if self.door_shed is not None:
                self.door_shed(t_arrive)
            self.record(t_arrive, t_arrive, t_arrive, t_arrive, REJECTED, op.index)
            return REJECTED
        traced = request.span is not None  # a sampled request of a scenario with tracing: this visit is a span
        if traced:
            request = self.spans.enter(request, op.index, t_arrive)
        inflight = replica.inflight  # None unless a crash fault may hit this component
        if inflight is not None:
            process = env.active_process
            replica.enter(process)
        t_start = t_release = t_done = computing = None
        wait = replica.acquire(t_arrive)
        holding = wait is None
        visit = self._visits = self._visits + 1
        body = op.body
        try:
            if wait is not None:
                if self.max_wait is None:
                    yield wait
                else:
                    yield wait | env.timeout(self.max_wait)
                    if not wait.triggered:
                        if self.pool_timeouts is not None:
                            self.pool_timeouts(env._now)
                        raise _GaveUp
                holding = True
            t_start = env._now
            if traced:
                self.spans.started(request, t_start)
            if self.late is not None and self.late(request, t_arrive, t_start):
                raise _Dropped  # the worker goes on to the next request at once
            replica.serving[visit] = (t_arrive, t_start)
            if op.work is not None:
                if replica.cpu is None:  # a CPU per worker: the work takes its own time
                    yield env.timeout(op.work() * replica.slowdown)
                else:  # shared vCPUs: done when the processor says so
                    computing = replica.cpu.run(op.work() * replica.slowdown)
                    yield computing
                    computing = None
            if replica.error_probability and self.error_draw() < replica.error_probability:
                raise _Failed  # a bad deploy: the work was done, the answer is an error
            if self.blocking and body is not None:
                t_done = env._now  # the body's calls are downstream time, not this station's sojourn
                status = yield from body(request)
            else:
                status = OK
            holding = False
            del replica.serving[visit]
            replica.release()
            t_release = env._now
            if not self.blocking and body is not None:
                status = yield from body(request)
        except (_GaveUp, _Failed):
            status = ERROR
        except _Dropped:
            status = REJECTED
        except simpy.Interrupt as interrupt:
            if interrupt.cause is CANCEL:  # a hedged copy its caller cancelled while it waited in line
                self.cancelled(env._now)
                status = REJECTED
            elif not (isinstance(interrupt.cause, Crash) and interrupt.cause.replica is replica):
                if traced:
                    self.spans.cut(request, env._now)
                raise  # a crash further up the call stack: let that component fail the request
            else:
                status = ERROR
        finally:
            if computing is not None:  # interrupted mid-computation: free the CPU for the others
                replica.cpu.cancel(computing)
            if t_release is None:  # failed or interrupted: give the worker (or the place in line) back
                replica.serving.pop(visit, None)
                if holding:
                    replica.release()
                elif wait is not None:
                    replica.abandon(wait)
            if inflight is not None:
                replica.leave(process)
            if self.metered and t_start is not None:  # failed work kept the worker busy too
                replica.busy += (env._now if t_release is None else t_release) - t_start
        now = env._now
        release = now if t_release is None else t_release
        self.record(t_arrive, now if t_start is None else t_start, release, now, status, op.index,
                    release if t_done is None else t_done)
        if traced:
            self.spans.leave(request, t_arrive, now if t_start is None else t_start,
                             release if t_done is None else t_done, now, status)
        return status

    def _serving(self, op: Operation, replica, t_arrive: float):
        """Step 1: the replica given (``None`` if it is down: connection refused), or the one the
        set picks (``None`` if none is up); a visit with none is recorded as an ``ERROR``."""
        if replica is None:
            replica = self.replicas.pick()
        elif not replica.up:
            replica = None
        if replica is None:
            self.record(t_arrive, t_arrive, t_arrive, t_arrive, ERROR, op.index)
        return replica

    def _plain_visit(self, op: Operation, request: Any, replica=None) -> Generator[Any, Any, int]:
        """:meth:`visit` where none of its exceptional paths can happen (:meth:`_plain`): the same
        records, times and draws, one frame with no ``try``. Steps 1, 2, 3 (unbounded), 4 (a CPU
        per worker), 6 and 7 of the module docstring; nothing to give back on an interrupt, as
        none can come. A visit that waits leaves its start to the worker handed to it
        (:meth:`Replica.acquire <simulator.components.replica.Replica.acquire>` with its number):
        one event for the wait and the work together."""
        env = self.env
        t_arrive = env._now
        replica = self._serving(op, replica, t_arrive)
        if replica is None:
            return ERROR
        metered = self.metered
        if metered:
            replica.arrivals += 1
        if replica.full():
            self.record(t_arrive, t_arrive, t_arrive, t_arrive, REJECTED, op.index)
            return REJECTED
        visit = self._visits = self._visits + 1
        wait = replica.acquire(t_arrive, visit, op.work)
        if wait is None:
            t_start = t_arrive
            replica.serving[visit] = (t_arrive, t_start)
            if op.work is not None:
                yield env.timeout(op.work() * replica.slowdown)
        else:
            yield wait  # the worker handed over started this visit's work: this is its end
            t_start = wait.t_start
        body = op.body
        t_done = None
        if body is None:
            status = OK
        elif self.blocking:
            t_done = env._now
            status = yield from body(request)
        else:
            status = OK
        del replica.serving[visit]
        replica.release()
        t_release = env._now
        if body is not None and not self.blocking:
            status = yield from body(request)
        if metered:  # when visit() counts it too: after the body, where an autoscaler may look in between
            replica.busy += t_release - t_start
        self.record(t_arrive, t_start, t_release, env._now, status, op.index, t_release if t_done is None else t_done)
        return status

    def finish(self, now: float) -> None:
        """The run is over: a span for every visit still holding a worker or waiting for one."""
        for replica in self.replicas.replicas:
            for arrival, start in replica.serving.values():
                self.log.add_unfinished(arrival, start, now)
            for wait in replica.waiting:
                self.log.add_unfinished(wait.t_arrive, now, now)


def event_loop(component, spec, world: "Context") -> Station:
    """The station of a kind whose every operation costs the spec's ``work`` and frees its worker
    before the operation's calls (an event loop: a cache, a load balancer, a gateway), held by
    *component*, which gets its ``station``, ``replicas``, ``log`` and ``ops``."""
    work = dict.fromkeys(spec.operation_names(world.scenario.components), spec.work)
    station = component.station = Station(component.name, spec, world, work, replicas=spec.replicas,
                                          workers=spec.workers, blocking=False)
    component.replicas, component.log, component.ops = station.replicas, station.log, station.ops
    return station


def _overload(spec, log):
    """The overload hooks of a station whose spec sheds or drops expired work: ``(door, late)``.

    ``door(now)`` counts a rejection at arrival as ``shed`` when ``shed.max_queue_length`` is the
    bound that rejected it. ``late(request, arrival, now)`` is true (and counts it) for a request
    a worker just took that waited longer than ``shed.max_queue_time`` (``shed``) or whose
    caller's deadline has passed with ``drop_expired`` (``expired``). ``None`` where not asked for,
    so a station without these settings runs its visit exactly as before.
    """
    shed = getattr(spec, "shed", None)
    drop_expired = getattr(spec, "drop_expired", False)
    door = None
    if shed is not None and shed.max_queue_length is not None and spec.queue_limit == shed.max_queue_length:
        door = log.counter("shed")
    max_queue_time = None if shed is None else shed.max_queue_time
    if max_queue_time is None and not drop_expired:
        return door, None
    shed_count = log.counter("shed") if max_queue_time is not None else None
    expired = log.counter("expired") if drop_expired else None
    limit = float("inf") if max_queue_time is None else max_queue_time

    def late(request, arrival: float, now: float) -> bool:
        if now - arrival > limit:
            shed_count(now)
            return True
        if expired is not None:
            deadline = request.deadline
            if deadline is not None and now >= deadline:
                expired(now)
                return True
        return False

    return door, late


def _hedges_cancel(scenario) -> bool:
    """Whether some call step of *scenario* hedges with ``cancel`` (then copies may be cancelled)."""
    from ..scenario.topology import hedges_cancel  # the scenario's walk of nested steps

    return hedges_cancel(scenario)


def _uncounted(now: float) -> None:
    """The ``cancelled`` count of a kind that does not report it (only a service does)."""


def _cancellable(station: Station, late, visit):
    """The ``(late, visit)`` of a station where hedged copies may be cancelled (see the module docstring).

    ``visit`` drops a cancelled copy on arrival and, while a copy waits for a worker, lets
    its caller reach it (``copy.waiting``: the process to interrupt with ``CANCEL``);
    ``late`` marks a copy a worker took as started (no longer cancellable), then asks the
    station's own *late* rule, if any.
    """
    env, record, cancelled = station.env, station.record, station.cancelled

    def taken(request, arrival: float, now: float) -> bool:
        copy = getattr(request, "copy", None)  # some kinds visit with messages, not requests
        if copy is not None:
            copy.started, copy.waiting = True, None
        return late is not None and late(request, arrival, now)

    def visit_copy(op: Operation, request: Any, replica=None) -> Generator[Any, Any, int]:
        copy = getattr(request, "copy", None)
        if copy is None or copy.started:
            return (yield from visit(op, request, replica))
        if copy.cancelled:  # on its way when its caller cancelled it: dropped on arrival
            now = env._now
            cancelled(now)
            record(now, now, now, now, REJECTED, op.index)
            return REJECTED
        copy.waiting = env.active_process
        try:
            return (yield from visit(op, request, replica))
        finally:
            copy.waiting = None

    return taken, visit_copy
