"""``parallel:`` — fan-out: every branch runs in a process of its own; the step waits for all."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from . import Step
from ..core.request import ERROR, OK
from .base import StepKind, StepSpec


class ParallelStep(StepSpec):
    """Fan-out: run every branch concurrently and wait for all; fails if any fails."""

    parallel: Annotated[list[Step], Field(min_length=1)]


class Parallel(StepKind):
    name = "parallel"
    spec = ParallelStep

    def children(self, spec: ParallelStep):
        yield spec.parallel, ("parallel",), True

    def compile(self, spec: ParallelStep, ctx):
        branches = [[ctx.step(s, f"parallel/{j}")] for j, s in enumerate(spec.parallel)]
        env, guarded, run_sequence = ctx.env, ctx.guarded, ctx.run_sequence

        def parallel(request):
            processes = [env.process(guarded(run_sequence(b, request))) for b in branches]
            yield env.all_of(processes)
            return ERROR if any(p.value for p in processes) else OK

        return parallel


KIND = Parallel()
