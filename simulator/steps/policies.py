"""Call policies: strategies that wrap the call of a ``call`` step, applied in one order.

A policy (:class:`~simulator.steps.base.CallPolicy`) says whether a call step asks for it
(``applies``), which steps it may run instead of the call (``children``, for the call
graph and checks) and how it wraps the call (``wrap(call, spec, ctx) -> StepFn``, once,
when the world is wired). The call step wraps the network hop with every policy that
applies, **from the call outwards in ascending rank**:

=====  ===========  ==============================================================
rank   policy       why there
=====  ===========  ==============================================================
10     bulkhead     caps the calls in flight; innermost so a timeout also covers the
                    wait for a slot (:mod:`.bulkhead`)
20     ``timeout``  one attempt: the caller stops waiting after ``timeout``
30     breaker      counts each timed attempt; fails fast while open (:mod:`.breaker`)
40     ``retry``    retries the timed, breaker-guarded attempt, with back-off, a
                    deadline and a budget (:mod:`simulator.steps.retry`)
50     ``hedge``    another copy when the first is slow (:mod:`.hedge`)
90     ``fallback`` outermost: whatever failed (an attempt, a timeout, an open breaker,
                    the last retry), the fallback steps run instead
=====  ===========  ==============================================================

This is Polly's recommended nesting (fallback ∘ retry ∘ breaker ∘ timeout ∘ bulkhead).
A new policy is a class here (or in a module of its own listed in
:data:`simulator.steps.BUILTIN_POLICIES`), a field on
:class:`~simulator.steps.call.CallStep` and a rank in this table. A policy from outside
the package declares its fields instead (:attr:`~simulator.steps.base.CallPolicy.fields`)
and is registered with :func:`simulator.steps.register_policy` or the ``sdsim.policies``
entry-point group (``tests/plugins/tries.py`` is an example, at rank 40).
"""

from __future__ import annotations

from ..core.request import TIMEOUT
from . import POLICIES
from .base import CallPolicy


class Timeout(CallPolicy):
    """Stop waiting for the call after ``timeout``: a late answer is a failure (the callee still works)."""

    name = "timeout"
    rank = 20

    def applies(self, spec) -> bool:
        return spec.timeout is not None

    def wrap(self, call, spec, ctx):
        env, guarded, limit = ctx.env, ctx.guarded, spec.timeout
        if deadlines_propagate(ctx.scenario):
            return _propagating(call, limit, env, guarded)

        def timed(request):
            process = env.process(guarded(call(request)))
            yield process | env.timeout(limit)
            return process.value if process.triggered else TIMEOUT

        return timed


def deadlines_propagate(scenario) -> bool:
    """Whether requests carry their callers' deadlines in *scenario*: some component reads them
    (``drop_expired``). Elsewhere no deadline is made, so none costs anything."""
    return any(getattr(c, "drop_expired", False) for c in scenario.components.values())


def _propagating(call, limit, env, guarded):
    """A timed call whose callee sees the caller's deadline: the earlier of the request's and now + *limit*
    (deadline propagation, for a scenario where some component drops expired work)."""

    def timed(request):
        process = env.process(guarded(call(request.within(env.now + limit))))
        yield process | env.timeout(limit)
        return process.value if process.triggered else TIMEOUT

    return timed


class Fallback(CallPolicy):
    """Run the ``fallback`` steps instead of failing when the call fails (``[]``: carry on without it)."""

    name = "fallback"
    rank = 90

    def applies(self, spec) -> bool:
        return spec.fallback is not None

    def children(self, spec):
        if spec.fallback:
            yield spec.fallback, ("fallback",), False

    def wrap(self, call, spec, ctx):
        fallback, run_sequence = ctx.steps(spec.fallback, "fallback"), ctx.run_sequence

        def degraded(request):
            status = yield from call(request)
            if status:
                return (yield from run_sequence(fallback, request))
            return status

        return degraded


BUILT_IN = {policy.name: policy for policy in (Timeout(), Fallback())}
"""The built-in policies, by name (read by :data:`simulator.steps.POLICIES`)."""


def in_order() -> list[CallPolicy]:
    """Every registered policy, from the call outwards (ascending rank)."""
    return sorted((policy for _, policy in POLICIES.items()), key=lambda policy: policy.rank)
