"""The runtime of ``kind: echo``: one timeout per request, one span per visit.

It emits the values its spec declares (``EchoSpec.metrics``): a tally per visit and the
delay as a fact (the summary derives the declared ratio from the tallies), and one row per
visit in its record table ``echoes`` (time, operation), of which summary records keep only
the count.
"""

from __future__ import annotations

from simulator.components.base import Component
from simulator.core.request import OK


class Echo(Component):
    kind = "echo"

    def __init__(self, name, spec, world):
        super().__init__(name, spec, world)
        self.env = world.env
        self.log = log = world.recorder.span_log(name, spec.kind, spec.replicas, list(spec.operations))
        self.first, self.other = log.counter("first_operation"), log.counter("other_operations")
        log.facts["delay_ms"] = spec.delay * 1000
        self.echoed = log.table("echoes", ("time", "operation"), summary="count")

    def operation(self, name: str) -> int:
        return self.spec.operations.index(name)

    def handle(self, operation: int, request):
        arrival = self.env.now
        yield self.env.timeout(self.spec.delay)
        now = self.env.now
        (self.first if operation == 0 else self.other)(now)
        self.echoed(now, operation)
        self.log.add(arrival, arrival, now, now, OK, operation)
        return OK


RUNTIME = Echo
