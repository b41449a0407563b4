"""``branch:`` — a probabilistic branch: one draw per request picks the option whose steps run."""

from __future__ import annotations

from itertools import accumulate
from typing import Annotated

from pydantic import Field, field_validator

from . import Step
from .base import StepKind, StepSpec
from ..scenario.types import Probability


class BranchOption(StepSpec):
    p: Probability
    steps: list[Step] = []


class BranchStep(StepSpec):
    """Probabilistic branch: exactly one option runs, chosen with probability ``p``; the p's sum to 1."""

    branch: Annotated[list[BranchOption], Field(min_length=1)]

    @field_validator("branch")
    @classmethod
    def _sums_to_one(cls, options: list[BranchOption]) -> list[BranchOption]:
        total = sum(o.p for o in options)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"branch probabilities sum to {total:g} (expected 1)")
        return options


class Branch(StepKind):
    name = "branch"
    spec = BranchStep

    def children(self, spec: BranchStep):
        for j, option in enumerate(spec.branch):
            yield option.steps, ("branch", j, "steps"), option.p >= 1.0

    def expected_runs(self, spec: BranchStep) -> list[float]:
        return [option.p for option in spec.branch]

    def compile(self, spec: BranchStep, ctx):
        cumulative = list(accumulate(o.p for o in spec.branch))
        options = [ctx.steps(o.steps, f"branch/{j}") for j, o in enumerate(spec.branch)]
        uniform, run_sequence = ctx.uniform(), ctx.run_sequence

        def branch(request):
            u = uniform()
            for edge, option in zip(cumulative, options):
                if u < edge:
                    return (yield from run_sequence(option, request))
            return (yield from run_sequence(options[-1], request))  # rounding: u ≥ last edge

        return branch


KIND = Branch()
