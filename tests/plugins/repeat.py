"""``repeat:`` — a plug-in step kind: run nested steps several times, pausing before each round.

One module holds the spec and the kind, as a built-in step kind does. Register it with
``register_step("repeat", "plugins.repeat")`` or the entry point
``[sdsim.steps] repeat = plugins.repeat``::

    steps:
      - repeat: 3          # rounds
        pause: 5ms         # waited before each round (holding whatever the operation holds)
        steps:
          - call: db.get
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from simulator.core.request import ERROR, OK
from simulator.scenario.types import Duration
from simulator.steps import Step
from simulator.steps.base import StepKind, StepSpec


class RepeatStep(StepSpec):
    """Run ``steps`` ``repeat`` times in a row, waiting ``pause`` before each round; the first failed round fails it."""

    repeat: Annotated[int, Field(ge=1, le=100)]
    pause: Duration = 0.0
    steps: list[Step] = []


class Repeat(StepKind):
    name = "repeat"
    spec = RepeatStep

    def children(self, spec: RepeatStep):
        yield spec.steps, ("steps",), True

    def expected_runs(self, spec: RepeatStep) -> list[float]:
        return [float(spec.repeat)]

    def compile(self, spec: RepeatStep, ctx):
        rounds, pause, steps = spec.repeat, spec.pause, ctx.steps(spec.steps, "steps")
        timeout, run_sequence = ctx.env.timeout, ctx.run_sequence

        def repeat(request):
            for _ in range(rounds):
                if pause:
                    yield timeout(pause)
                if (yield from run_sequence(steps, request)):
                    return ERROR
            return OK

        return repeat


KIND = Repeat()
