"""The runtime of ``kind: echo``: one timeout per request, one span per visit."""

from __future__ import annotations

from simulator.components.base import Component
from simulator.core.request import OK


class Echo(Component):
    kind = "echo"

    def __init__(self, name, spec, world):
        super().__init__(name, spec, world)
        self.env = world.env
        self.log = world.recorder.span_log(name, spec.kind, spec.replicas, list(spec.operations))

    def operation(self, name: str) -> int:
        return self.spec.operations.index(name)

    def handle(self, operation: int, request):
        arrival = self.env.now
        yield self.env.timeout(self.spec.delay)
        self.log.add(arrival, arrival, self.env.now, self.env.now, OK, operation)
        return OK


RUNTIME = Echo
