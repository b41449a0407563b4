"""``kind: service`` — replicas × workers serving named operations.

A request picks a replica (round robin over those up), waits FIFO for a worker (or is
rejected when the replica's queue is full), holds the worker for the operation's
``work`` (× any slow-down), then runs the operation's steps. With ``io: blocking`` the
worker stays held during the steps; with ``io: async`` it is freed first. All of that is
the :class:`~simulator.components.station.Station` the service holds; what the service
adds is its operations' steps, compiled once when the world is wired, and the autoscaler.

The work is CPU time. A replica has ``vcpus`` CPUs (the spec's ``vcpus``, else its
``instance`` class's, else one per worker); when it runs more workers than vCPUs, the
work of the requests computing at once shares them by processor sharing
(:mod:`simulator.components.cpu`): k requests on c vCPUs each progress at min(1, c/k).
Time spent waiting on the steps (I/O) uses no CPU. A crash withdraws the interrupted
work, so the rest speeds up.

Each visit emits one span: arrival, start (worker granted), release (worker freed),
end (response sent) and status.

With ``outbox:`` the service holds an :class:`~.outbox.Outbox` (``self.outbox``), which its
``publish ... via: outbox`` steps write to and whose relay produces to the broker.
"""

from __future__ import annotations

from functools import partial

from ...core.process import run_sequence
from ..autoscaler import Autoscaler
from ..base import Component
from ..event_store.replay import Replayer
from ..station import Operation, Station
from ..steps import compile_steps
from .outbox import Outbox


class Service(Component):
    kind = "service"

    def __init__(self, name, spec, world):
        super().__init__(name, spec, world)
        self.env = world.env
        work = {op: spec.operations[op].work for op in spec.operation_names(world.scenario.components)}
        self.station = Station(name, spec, world, work, replicas=spec.replicas, workers=spec.workers,
                               blocking=spec.io == "blocking")
        self.replicas, self.log = self.station.replicas, self.station.log
        self.handle = self.station.visit  # a call is one visit: bound directly, no frame of our own
        self.outbox = None if spec.outbox is None else Outbox(world.env, spec.outbox, self.replicas, self.log)
        if spec.autoscaling is not None:
            world.env.process(Autoscaler(self.station, spec.autoscaling).run())
        # watching its replicas from here, before any other watcher, so a restart is held for the replay
        self.replayer = Replayer(self.station, spec.event_sourced, world) if spec.event_sourced else None

    def wire(self) -> None:
        for op_name, op in self.spec.operations.items():
            steps = compile_steps(op.steps, self.world, self.zone, f"{self.name}/{op_name}/steps")
            self.station.ops[op_name].body = partial(run_sequence, steps) if steps else None  # a failed step: ERROR
        if self.replayer is not None:
            self.replayer.wire()

    def operation(self, name: str) -> Operation:
        return self.station.ops[name]

    def finish(self, now: float) -> None:
        self.station.finish(now)
        if self.outbox is not None:
            self.outbox.finish()
        if self.replayer is not None:
            self.replayer.finish(now)


RUNTIME = Service
