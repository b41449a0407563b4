"""``hedge:`` — a hedged call (Dean & Barroso, "The Tail at Scale"; gRPC's ``hedgingPolicy``).

The call is sent; if no copy has answered ``OK`` after ``delay``, another copy is sent, up
to ``max_extra`` more copies (gRPC's ``maxAttempts`` − 1; ``delay`` is its ``hedgingDelay``).
A copy that fails while others may still be sent lets the next one go at once (every
status is non-fatal, as gRPC's ``nonFatalStatusCodes`` listing them all). The first ``OK``
wins and ends the call; when every copy has failed the call fails with the last status.

Each copy is one call through the hop: its target's replica set (or its balancer) picks the
replica, so with round robin over several replicas a hedge lands on another one.

**The losers are cancelled** (``cancel: true``, the default; gRPC cancels the other RPCs
once one commits, and the server sees the cancellation). Each copy travels as a request
its caller may cancel (a view carrying its :class:`~simulator.core.request.Copy`); when the
call has its answer, every copy still out is cancelled:

* a copy **waiting in a queue** at the callee leaves it at once, unserved (its place goes
  to the next); one still **on the network** is dropped on arrival. Neither does any work
  nor makes any downstream call. The callee records the visit ``REJECTED`` (not served),
  which a service counts ``cancelled``;
* a copy a worker has **taken** finishes its work and its downstream calls: the model's
  handler does not check for cancellation mid-work. Its answer is dropped. A copy queued
  right behind the winner on the same worker is taken the instant the winner's work ends,
  before the answer reaches the caller: it is in service, not cancellable. And a copy
  taken by a first station (a balancer in front of the callee) is no longer cancellable
  in the queues behind it: the cancellation reaches the first worker only.

The caller's request is not touched: it already has its answer, so its latency and
status are the winner's. With ``cancel: false`` nothing is cancelled: every loser does its
work, as at a server that never hears of it. Cancellation exists only where a hedge asks
for it: a scenario without one runs its visits exactly as before
(:mod:`simulator.components.station`).

Counted on the calling service: ``hedges_sent`` (copies beyond the first: the extra load
*offered*, cancelled or not), ``hedges_won`` (calls a hedge answered first) and, with
``cancel``, ``hedges_cancelled`` (losers cancelled before a worker took them: the work
saved; the callees count the same copies ``cancelled`` once they arrive). At rank 50 it
hedges the whole timed, breaker-guarded, retried call (:mod:`simulator.steps.policies`;
a cancelled copy's retries stop with it); ``fallback`` runs only when every copy failed.

Golden G14.7: with leaf latency X, a hedge after d gives P(T > t) = P(X > t)·P(X > t − d)
for t ≥ d, and the extra load is P(X > d) (copies sent: an uncontended callee takes each
copy at once, so cancellation saves nothing there).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..core.request import OK, Copy
from ..scenario.types import PositiveDuration, Strict
from .base import CallPolicy


class Hedging(Strict):
    """``hedge: {delay: 10ms, max_extra: 1, cancel: true}``: a copy after each ``delay`` without an
    answer, at most ``max_extra``; the losers cancelled once one answers ``OK`` (``cancel``)."""

    delay: PositiveDuration
    max_extra: Annotated[int, Field(ge=1, le=10)] = 1
    cancel: bool = Field(True, description="cancel the losing copies once one answers OK (gRPC): "
                                           "a copy not yet taken by a worker does no work")


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
        cancelled = log.counter("hedges_cancelled") if spec.hedge.cancel else None
        return _hedged(call, env, guarded, delay, copies_max, sent, won, cancelled)


def _hedged(call, env, guarded, delay, copies_max, sent, won, cancelled):
    """The hedged call of :class:`Hedge`: copies race, the first ``OK`` wins. With *cancelled* (a
    counter: ``cancel: true``) each copy is cancellable, and when one answers ``OK`` every copy still
    out is cancelled (counted when that saved its work); without it the losers run on."""

    def send(request, copies: dict):
        copy = None if cancelled is None else Copy()
        process = env.process(guarded(call(request if copy is None else request.cancellable(copy))))
        copies[process] = copy
        return process

    def hedged(request):
        copies = {}
        first = send(request, copies)
        running, status = [first], OK
        while True:
            timer = env.timeout(delay) if len(copies) < copies_max and running else None
            yield env.any_of(running if timer is None else [*running, timer])
            failed = False
            for process in [c for c in running if c.triggered]:
                running.remove(process)
                status = process.value
                if status == OK:
                    if process is not first:
                        won(env.now)
                    if cancelled is not None:
                        for loser in running:
                            if not loser.triggered and copies[loser].cancel():
                                cancelled(env.now)
                    return OK
                failed = True
            if len(copies) < copies_max and (failed or timer.triggered):
                sent(env.now)
                running.append(send(request, copies))
            elif not running:
                return status

    return hedged


POLICY = Hedge()
