"""``hedge:`` — a hedged call (Dean & Barroso, "The Tail at Scale"; gRPC's ``hedgingPolicy``).

The call is sent; if no copy has answered ``OK`` after ``delay``, another copy is sent, up
to ``max_extra`` more copies (gRPC's ``maxAttempts`` − 1; ``delay`` is its ``hedgingDelay``).
A copy that fails while others may still be sent lets the next one go at once (every
status is non-fatal, as gRPC's ``nonFatalStatusCodes`` listing them all). The first ``OK``
wins and ends the call; when every copy has failed the call fails with the last status.

Each copy is one call through the hop: its target's replica set (or its balancer) picks the
replica, so with round robin over several replicas a hedge lands on another one. The losers
are not cancelled on the wire: a copy still waiting or working finishes its work, as at a
server that never hears of the cancellation (no interrupt reaches another component), and
what it answers is dropped. So the extra load is every copy sent, which is what the counts say:
``hedges_sent`` (copies beyond the first) and ``hedges_won`` (calls a hedge answered first),
on the calling service. At rank 50 it hedges the whole timed, breaker-guarded, retried call
(:mod:`simulator.steps.policies`); ``fallback`` runs only when every copy failed.

Golden G14.7: with leaf latency X, a hedge after d gives P(T > t) = P(X > t)·P(X > t − d)
for t ≥ d, and the extra load is P(X > d).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..core.request import OK
from ..scenario.types import PositiveDuration, Strict
from .base import CallPolicy


class Hedging(Strict):
    """``hedge: {delay: 10ms, max_extra: 1}``: a copy after each ``delay`` without an answer, at most ``max_extra``."""

    delay: PositiveDuration
    max_extra: Annotated[int, Field(ge=1, le=10)] = 1


class Hedge(CallPolicy):
    """Send another copy of a slow call after ``delay``; the first ``OK`` wins."""

    name = "hedge"
    rank = 50

    def applies(self, spec) -> bool:
        return getattr(spec, "hedge", None) is not None

    def wrap(self, call, spec, ctx):
        env, guarded = ctx.env, ctx.guarded
        delay, copies_max = spec.hedge.delay, spec.hedge.max_extra + 1
        log = ctx.world.recorder.spans[ctx.component]
        sent, won = log.counter("hedges_sent"), log.counter("hedges_won")

        def hedged(request):
            first = env.process(guarded(call(request)))
            running, copies, status = [first], 1, OK
            while True:
                timer = env.timeout(delay) if copies < copies_max and running else None
                yield env.any_of(running if timer is None else [*running, timer])
                failed = False
                for copy in [c for c in running if c.triggered]:
                    running.remove(copy)
                    status = copy.value
                    if status == OK:
                        if copy is not first:
                            won(env.now)
                        return OK
                    failed = True
                if copies < copies_max and (failed or timer.triggered):
                    sent(env.now)
                    running.append(env.process(guarded(call(request))))
                    copies += 1
                elif not running:
                    return status

        return hedged


POLICY = Hedge()
