"""``kind: service`` — replicas × workers serving named operations.

A request picks a replica (round robin over those up, or the one a load balancer
chose), waits FIFO for a worker (or is
rejected when the replica's queue is full), holds the worker for the operation's
``work`` (× any slow-down), then runs the operation's steps. With ``io: blocking`` the
worker stays held during the steps; with ``io: async`` it is freed first.

The work is CPU time. A replica has ``vcpus`` CPUs (the spec's ``vcpus``, else its
``instance`` class's, else one per worker); when it runs more workers than vCPUs, the
work of the requests computing at once shares them by processor sharing
(:mod:`simulator.components.cpu`): k requests on c vCPUs each progress at min(1, c/k).
Time spent waiting on the steps (I/O) uses no CPU. A crash withdraws the interrupted
work, so the rest speeds up.

Each visit emits one span: arrival, start (worker granted), release (worker freed),
end (response sent) and status.
"""

from __future__ import annotations

from typing import Any, Generator

import simpy

from ...core.request import ERROR, OK, REJECTED
from ...core.sampling import is_zero, sampler
from ..base import Component
from ...catalog import instance_class, instance_speed
from ..autoscaler import Autoscaler
from ..replica import Crash, ReplicaSet
from ...core.process import run_sequence
from ..steps import compile_steps


class _GaveUp(Exception):
    """No worker became free within ``max_wait``."""


class _Failed(Exception):
    """The operation itself failed (an error-rate fault)."""


class CompiledOperation:
    """An operation ready to run: a work sampler (``None`` = no work) and compiled steps."""

    __slots__ = ("name", "index", "work", "steps")

    def __init__(self, name: str, index: int, work, steps):
        self.name = name
        self.index = index
        self.work = work
        self.steps = steps


class Service(Component):
    kind = "service"

    def __init__(self, name, spec, world):
        super().__init__(name, spec, world)
        self.env = world.env
        self.replicas = ReplicaSet(world.env, self.replica_count(), self.worker_count(), spec.queue_limit,
                                   world.may_crash(name), getattr(spec, "speeds", None), instance_speed(spec),
                                   self.vcpu_count())
        self.log = world.recorder.span_log(name, spec.kind, self.replicas.capacity, self.operation_names())
        self.record = self.log.add
        self.metered = False  # an autoscaler reads busy time and arrivals per replica
        self._visits = 0  # numbers the visits holding a worker (Replica.serving)
        if getattr(spec, "autoscaling", None) is not None:
            world.env.process(Autoscaler(self, spec.autoscaling).run())
        self.pool_timeouts = self.log.counter("pool_timeouts") if self.wait_limit() is not None else None
        self.error_draw = world.uniform(f"{name}/errors") if name in world.erratic else None
        self.log.labels = self.operation_labels()
        self.blocking = getattr(spec, "io", "blocking") == "blocking"
        self.sequence = run_sequence  # how the steps run: a failed step fails the operation (ERROR)
        self.max_wait = self.wait_limit()
        self.ops: dict[str, CompiledOperation] = {}
        for index, op_name in enumerate(self.operation_names()):
            work = self.work_of(op_name)
            work = None if is_zero(work) else sampler(work, world.rng(f"{name}/{op_name}/work"))
            self.ops[op_name] = CompiledOperation(op_name, index, work, [])

    def pick(self):
        """The replica a direct call goes to (``None``: none is up)."""
        return self.replicas.pick()

    def operation_names(self) -> list[str]:
        """The operations callers may name, as the spec declares them (a balancer: its backend's)."""
        return self.spec.operation_names(self.world.scenario.components)

    def work_of(self, op_name: str):
        """The work distribution of operation *op_name*."""
        return self.spec.operations[op_name].work

    def operation_labels(self) -> dict[str, str]:
        """A label per operation that the metrics count separately (e.g. read/write)."""
        return {}

    def wait_limit(self) -> float | None:
        """Longest a request may wait for a worker before it fails (``None``: no limit)."""
        return None

    def replica_count(self) -> int:
        return self.spec.replicas

    def worker_count(self) -> int:
        return self.spec.workers

    def vcpu_count(self) -> int | None:
        """vCPUs per replica: ``vcpus``, else the ``instance`` class's, else ``None`` (a CPU per worker)."""
        vcpus = getattr(self.spec, "vcpus", None)
        if vcpus is None and getattr(self.spec, "instance", None) is not None:
            vcpus = instance_class(self.spec.instance).vcpus
        return vcpus

    def wire(self) -> None:
        for op_name, op in self.spec.operations.items():
            steps = getattr(op, "steps", [])
            self.ops[op_name].steps = compile_steps(steps, self.world, self.zone, f"{self.name}/{op_name}/steps")

    def operation(self, name: str) -> CompiledOperation:
        return self.ops[name]

    def handle(self, op: CompiledOperation, request: Any, replica=None) -> Generator[Any, Any, int]:
        """Serve *request* on *replica* (a balancer's choice), or on the one :meth:`pick` gives."""
        env = self.env
        t_arrive = env.now
        if replica is None:
            replica = self.pick()
            if replica is None:
                self.record(t_arrive, t_arrive, t_arrive, t_arrive, ERROR, op.index)
                return ERROR
        elif not replica.up:  # a balancer sent it to a dead host: connection refused
            self.record(t_arrive, t_arrive, t_arrive, t_arrive, ERROR, op.index)
            return ERROR
        if self.metered:
            replica.arrivals += 1
        if replica.in_use >= replica.workers and replica.queue_limit is not None \
                and len(replica.waiting) >= replica.queue_limit:
            self.record(t_arrive, t_arrive, t_arrive, t_arrive, REJECTED, op.index)
            return REJECTED
        inflight = replica.inflight  # None unless a crash fault may hit this component
        if inflight is not None:
            process = env.active_process
            replica.enter(process)
        t_start = t_release = computing = None
        wait = replica.acquire(t_arrive)
        holding = wait is None
        visit = self._visits = self._visits + 1
        try:
            if wait is not None:
                if self.max_wait is None:
                    yield wait
                else:
                    yield wait | env.timeout(self.max_wait)
                    if not wait.triggered:
                        if self.pool_timeouts is not None:
                            self.pool_timeouts(env.now)
                        raise _GaveUp
                holding = True
            t_start = env.now
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
            if self.blocking and op.steps:
                status = yield from self.sequence(op.steps, request)
            else:
                status = OK
            holding = False
            del replica.serving[visit]
            replica.release()
            t_release = env.now
            if not self.blocking and op.steps:
                status = yield from self.sequence(op.steps, request)
        except (_GaveUp, _Failed):
            status = ERROR
        except simpy.Interrupt as interrupt:
            if not (isinstance(interrupt.cause, Crash) and interrupt.cause.replica is replica):
                raise  # a crash further up the call stack: let that component fail the request
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
                replica.busy += (env.now if t_release is None else t_release) - t_start
        now = env.now
        self.record(t_arrive, now if t_start is None else t_start, now if t_release is None else t_release, now,
                    status, op.index)
        return status

    def finish(self, now: float) -> None:
        for replica in self.replicas.replicas:
            for arrival, start in replica.serving.values():
                self.log.add_unfinished(arrival, start, now)
            for wait in replica.waiting:
                self.log.add_unfinished(wait.t_arrive, now, now)


RUNTIME = Service
