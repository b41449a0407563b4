"""``bulkhead:`` — the call policy at rank 10: at most N calls in flight through one call site.

resilience4j's ``SemaphoreBulkhead`` names and defaults (golden §5.1)::

    steps:
      - call: db.read
        bulkhead: {max_concurrent_calls: 25, max_wait_duration: 0s}

* At most ``max_concurrent_calls`` calls of the call site (the calling component and the
  target, shared by every request and operation of that component making the call with the
  same settings) are in flight at once. With ``per: dependency`` the limit is the calling
  component's for the callee as a whole (every operation of it, from every call step with
  the same settings: Envoy's per-cluster ``max_requests``), so one slow dependency can hold
  at most that many of the caller's workers whichever of its operations it is slow in.
* A call beyond waits for a slot, first come first served, up to ``max_wait_duration``; with
  ``0s`` (the default) it is ``REJECTED`` at once. A call still waiting when its wait runs out
  is rejected. Rejections are counted ``bulkhead_rejected``.
* It is the innermost policy: a ``timeout`` (rank 20) also covers the wait for a slot, and a
  circuit breaker (rank 30) counts a rejection as a failure. As with any timeout the work goes
  on: a call the caller stopped waiting for keeps its place in the queue, then its slot, until
  its call ends.

Without a waiting room the share of calls rejected is Erlang B, B(c, λ·E[S]) whatever the
distribution of the call's duration (golden G5.3).

**Records.** At the end of the run each bulkhead writes one row of the calling component's
``bulkheads`` table (:data:`FIELDS`), presented in its summary entry: ``bulkheads`` (per
bulkhead: calls admitted, rejected, the share rejected, the mean wait for a slot) and the total
``bulkhead_rejected``, over the measurement window.
"""

from __future__ import annotations

import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field

from ..core.request import REJECTED
from ..metrics.digest import Digest, Group
from ..scenario.types import Duration, Strict
from .base import CallPolicy

FIELDS = ("bulkhead", "admitted", "rejected", "waited_s")
"""One row per bulkhead, written when the run ends: calls admitted and rejected in the measurement
window, and their total wait for a slot (s)."""
SUMMARY_METRICS = ("bulkhead_rejected",)


class Bulkhead(Strict):
    """A semaphore bulkhead's settings (resilience4j's names and defaults)."""

    max_concurrent_calls: Annotated[int, Field(ge=1, le=1_000_000, description="calls in flight at most")] = 25
    max_wait_duration: Duration = Field(0.0, description="how long a call waits for a slot (0: rejected at once)")
    per: Literal["call_site", "dependency"] = Field(
        "call_site", description="one limit per call site (caller and component.operation) or per dependency "
                                 "(caller and component: every operation of the callee shares it)")


@dataclass
class BulkheadSummary:
    """Presents a component's ``bulkheads`` digest: *names* lists the bulkheads by code."""

    names: list[str] = field(default_factory=list)

    def __call__(self, groups: list[Group]) -> dict[str, Any]:
        blocks = {}
        for g in groups:
            admitted, rejected = int(g.sums["admitted"]), int(g.sums["rejected"])
            total = admitted + rejected
            blocks[self.names[g.key[0]]] = {
                "admitted": admitted, "rejected": rejected,
                "rejected_ratio": rejected / total if total else None,
                "mean_wait_s": g.sums["waited_s"] / admitted if admitted else None}
        return {"bulkheads": blocks, "bulkhead_rejected": sum(b["rejected"] for b in blocks.values())}


class Semaphore:
    """*limit* slots, handed out first come first served to waiters (pure: the waiters are SimPy events)."""

    __slots__ = ("limit", "busy", "queue")

    def __init__(self, limit: int):
        self.limit, self.busy = limit, 0
        self.queue: deque = deque()

    def release(self) -> None:
        while self.queue:
            waiter = self.queue.popleft()
            if not waiter.triggered:  # a waiter that gave up is skipped
                waiter.succeed()  # the slot passes straight to it
                return
        self.busy -= 1


_BOOKS: "weakref.WeakKeyDictionary[Any, dict[str, Any]]" = weakref.WeakKeyDictionary()
"""World (its SimPy environment) → component → ``(summary, add, sites)``."""


def _site(spec, ctx):
    """The semaphore and counters of *spec*'s call site in this world (made on first use)."""
    books = _BOOKS.setdefault(ctx.env, {})
    if ctx.component not in books:
        summary = BulkheadSummary()
        books[ctx.component] = summary, ctx.table("bulkheads", FIELDS, Digest(by=("bulkhead",), sums=FIELDS[1:],
                                                                            present=summary)), {}
    summary, add, sites = books[ctx.component]
    target = spec.call if spec.bulkhead.per == "call_site" else spec.call.partition(".")[0]
    key = (target, spec.bulkhead.model_dump_json())
    if key not in sites:
        same_target = sum(1 for known, _ in sites if known == target)
        code = len(summary.names)
        summary.names.append(f"{ctx.component}->{target}" + (f"#{same_target + 1}" if same_target else ""))
        tally = [0, 0, 0.0]  # admitted, rejected, waited
        ctx.at_end(lambda end: add(code, *tally))
        sites[key] = Semaphore(spec.bulkhead.max_concurrent_calls), tally
    return sites[key]


class BulkheadPolicy(CallPolicy):
    """At most ``max_concurrent_calls`` calls in flight per call site (see the module docstring)."""

    name = "bulkhead"
    rank = 10
    metrics = SUMMARY_METRICS

    def applies(self, spec) -> bool:
        return getattr(spec, "bulkhead", None) is not None

    def wrap(self, call, spec, ctx):
        semaphore, tally = _site(spec, ctx)
        env, patience = ctx.env, spec.bulkhead.max_wait_duration
        lo, hi = ctx.scenario.warmup, ctx.scenario.duration

        def limited(request):
            arrived = env.now
            counted = lo <= arrived < hi
            if semaphore.busy < semaphore.limit and not semaphore.queue:
                semaphore.busy += 1
            elif patience <= 0:
                tally[1] += counted
                return REJECTED
            else:
                waiter = env.event()
                semaphore.queue.append(waiter)
                try:
                    yield waiter | env.timeout(patience)
                except BaseException:  # interrupted (a timeout around it): give the slot back if it came
                    _leave(semaphore, waiter)
                    raise
                if not waiter.triggered:
                    semaphore.queue.remove(waiter)
                    tally[1] += counted
                    return REJECTED
            tally[0] += counted
            tally[2] += (env.now - arrived) if counted else 0.0
            try:
                return (yield from call(request))
            finally:
                semaphore.release()

        return limited


def _leave(semaphore: Semaphore, waiter) -> None:
    """A waiter interrupted while queued leaves the queue, or passes on the slot it was just handed."""
    if waiter.triggered:
        semaphore.release()
    else:
        semaphore.queue.remove(waiter)


POLICY = BulkheadPolicy()
