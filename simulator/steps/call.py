"""``call:`` — a synchronous call: the caller waits for the callee's status.

Compiled: the network hop to ``component.operation`` (:meth:`StepBuilder.call`), wrapped
by every call policy the spec asks for, in the order of :mod:`simulator.steps.policies`.

The spec is :class:`CallStep`, plus the fields the registered policies declare
(:attr:`~simulator.steps.base.CallPolicy.fields`; the built-in ones are on
:class:`CallStep` itself): :attr:`Call.spec` is that model, made again when a policy is
registered or removed.
"""

from __future__ import annotations

from pydantic import create_model

from . import POLICIES, Step
from .base import StepKind, StepSpec, Target
from .breaker import CircuitBreaker
from .bulkhead import Bulkhead
from .hedge import Hedging
from .policies import in_order
from .retry import Retry
from ..scenario.types import PositiveDuration


class CallStep(StepSpec):
    """Synchronous call: the caller waits for the callee's response; a failure fails the caller.

    ``timeout``: the caller stops waiting after this long (the callee's work goes on) and
    the call counts as failed. ``fallback``: steps to run instead when the call fails —
    ``[]`` means carry on without the answer (graceful degradation); without a fallback a
    failed call fails the operation. ``retry``: make a failed call again
    (:mod:`simulator.steps.retry`: attempts, back-off, deadline, budget). ``hedge``: another
    copy after a delay without an answer, the first ``OK`` wins (:mod:`simulator.steps.hedge`).
    """

    call: Target
    timeout: PositiveDuration | None = None
    fallback: list[Step] | None = None
    circuit_breaker: CircuitBreaker | None = None  # simulator.steps.breaker (rank 30)
    bulkhead: Bulkhead | None = None  # simulator.steps.bulkhead (rank 10)
    retry: Retry | None = None
    hedge: Hedging | None = None


class Call(StepKind):
    name = "call"
    _made: tuple = ((), CallStep)  # (the policies it was made for, the model)

    @property
    def spec(self) -> type[CallStep]:
        """:class:`CallStep`, extended with the fields of the registered policies that declare some."""
        policies = tuple(policy for _, policy in POLICIES.items() if policy.fields)
        if policies != self._made[0]:
            fields = {name: field for policy in policies for name, field in policy.fields.items()}
            model = CallStep if not fields else create_model(
                "CallStep", __base__=CallStep, __module__=__name__, __doc__=CallStep.__doc__, **fields)
            self._made = (policies, model)
        return self._made[1]

    def children(self, spec: CallStep):
        for policy in in_order():
            yield from policy.children(spec)

    def metrics(self, spec: CallStep) -> tuple[str, ...]:
        """The summary metrics of the policies *spec* asks for that declare some (a breaker's opens, a retry's counts…)."""
        return tuple(m for policy in in_order() if policy.applies(spec) for m in getattr(policy, "metrics", ()))

    def targets(self, spec: CallStep):
        yield spec.call, True, "call"

    def compile(self, spec: CallStep, ctx):
        call = ctx.call(spec.call)
        for policy in in_order():
            if policy.applies(spec):
                call = policy.wrap(call, spec, ctx)
        return call


KIND = Call()
