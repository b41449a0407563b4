"""``call:`` — a synchronous call: the caller waits for the callee's status.

Compiled: the network hop to ``component.operation`` (:meth:`StepBuilder.call`), wrapped
by every call policy the spec asks for, in the order of :mod:`simulator.steps.policies`.
"""

from __future__ import annotations

from . import Step
from .base import StepKind, StepSpec, Target
from .policies import in_order
from ..scenario.types import PositiveDuration


class CallStep(StepSpec):
    """Synchronous call: the caller waits for the callee's response; a failure fails the caller.

    ``timeout``: the caller stops waiting after this long (the callee's work goes on) and
    the call counts as failed. ``fallback``: steps to run instead when the call fails —
    ``[]`` means carry on without the answer (graceful degradation); without a fallback a
    failed call fails the operation.
    """

    call: Target
    timeout: PositiveDuration | None = None
    fallback: list[Step] | None = None


class Call(StepKind):
    name = "call"
    spec = CallStep

    def children(self, spec: CallStep):
        for policy in in_order():
            yield from policy.children(spec)

    def targets(self, spec: CallStep):
        yield spec.call, True, "call"

    def compile(self, spec: CallStep, ctx):
        call = ctx.call(spec.call)
        for policy in in_order():
            if policy.applies(spec):
                call = policy.wrap(call, spec, ctx)
        return call


KIND = Call()
