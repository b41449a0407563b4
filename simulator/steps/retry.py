"""``retry:`` — a call policy: make a failed call again, with back-off, within a deadline and a budget.

Semantics (Envoy's ``retry_policy``, resilience4j's Retry, gRPC's gRFC A6; golden §14):

* ``max_attempts`` attempts in all, the first included (resilience4j's ``maxAttempts``;
  Envoy's ``num_retries`` is ``max_attempts − 1``). The policy sits at rank 40
  (:mod:`simulator.steps.policies`): each attempt is timed by the step's ``timeout``
  (Envoy's ``per_try_timeout``) and wrapped by any policy of a lower rank (a breaker); a
  ``fallback`` runs only after the last attempt failed.
* ``retry_on`` — the outcomes that are retried (Envoy's ``retry_on``): ``timeout``,
  ``error``, ``rejected`` (a breaker's fast failure, a rate limiter's 429); default
  ``[timeout, error]``. Another outcome ends the call with it. (Not ``on:``: YAML 1.1
  reads the key ``on`` as the boolean true.)
* ``backoff`` — the wait before each retry (:mod:`simulator.steps.backoff`), its jitter
  drawn from a random stream of the call site's own (``<component>/retry/<target>``).
* ``deadline`` — the overall time for the call, retries included (Envoy's route
  ``timeout``): no attempt starts at or after it; an attempt still in flight at it is
  left (its work goes on) and the call fails with ``TIMEOUT`` there. A retry whose back-off
  would end at or after the deadline is not made: the call ends at once with the last
  attempt's status. With deadline propagation (some component ``drop_expired``,
  :func:`~simulator.steps.policies.deadlines_propagate`) every attempt carries the earlier of
  the request's deadline and the call's start + ``deadline`` (Envoy's
  ``x-envoy-expected-rq-timeout-ms``), narrowed further by the per-try ``timeout``: a callee
  that drops expired work drops an attempt still queued when the call's deadline has passed.
* ``budget`` — a retry budget shared by every call through the call site (the caller
  component and the target; :mod:`simulator.steps.budgets`): a retry it refuses is not
  made and the call ends with the last attempt's status.

**Counted per call site.** Each call through a retrying site adds one row to the caller
component's record table ``retries`` (:data:`FIELDS`), digested over the calls started in
the measurement window (written when the caller's call ends: a call still under way when
the run ends is not counted) and presented by :class:`RetrySummary` in the caller's summary
entry: ``retry_sites`` (per target: calls, attempts, retries, retries refused by the
budget, load amplification = attempts / calls) and, over the component's sites,
:data:`SUMMARY_METRICS`, which objectives read. Nested retrying layers multiply: 3 layers
of 3 attempts against a dead bottom send it 3³ = 27 attempts per call at the top
(golden G14.1); a site's ``load_amplification`` is its own factor (3 at each), the
component's ``visits_per_request`` the product from the top (:mod:`simulator.metrics.result`).
A call step without ``retry`` compiles exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from weakref import WeakKeyDictionary

from pydantic import Field

from ..core.request import ERROR, OK, REJECTED, TIMEOUT
from ..metrics.digest import Digest, Group
from ..scenario.types import PositiveDuration, Strict
from . import budgets
from .backoff import Backoff
from .base import CallPolicy
from .budgets import Budget
from .policies import deadlines_propagate

OUTCOMES = {"timeout": TIMEOUT, "error": ERROR, "rejected": REJECTED}
"""The outcomes ``retry_on`` may name, and their statuses."""

FIELDS = ("start", "site", "attempts", "retries", "refused")
"""One row per call through a retrying site: its start, the site's code (its index in
:class:`RetrySummary`), the attempts made, the retries among them (attempts − 1) and
whether the budget refused a retry (0 or 1)."""

SUMMARY_METRICS = ("retry_calls", "retry_attempts", "retries_sent", "retries_refused", "load_amplification")
"""What a component's retrying call sites add to its summary entry (beside ``retry_sites``):
calls, attempts, retries and retries refused by the budget over every site, and attempts / calls."""


class Retry(Strict):
    """How a call is retried (see the module docstring)."""

    max_attempts: Annotated[int, Field(ge=1, le=100, description="attempts in all, the first included")] = 3
    retry_on: Annotated[list[Literal["timeout", "error", "rejected"]],
                  Field(min_length=1, description="the outcomes that are retried")] = ["timeout", "error"]
    backoff: Backoff = Backoff()
    deadline: PositiveDuration | None = Field(None, description="the overall time for the call, retries "
                                                                "included: no attempt starts after it")
    budget: Budget | None = Field(None, description="a retry budget shared by every call through this call site")


@dataclass(frozen=True)
class RetrySummary:
    """Presents the digest of a component's ``retries`` table: *sites* lists the targets by code."""

    sites: tuple[str, ...]

    def __call__(self, groups: list[Group]) -> dict[str, Any]:
        by_code = {g.key[0]: g for g in groups}
        blocks = {target: _block(by_code.get(code)) for code, target in enumerate(self.sites)}
        calls, attempts, retries, refused = (sum(b[k] for b in blocks.values())
                                             for k in ("calls", "attempts", "retries", "retries_refused"))
        numbers = (calls, attempts, retries, refused, attempts / calls if calls else None)
        return {"retry_sites": blocks, **dict(zip(SUMMARY_METRICS, numbers, strict=True))}


def _block(group: Group | None) -> dict[str, Any]:
    if group is None:
        return {"calls": 0, "attempts": 0, "retries": 0, "retries_refused": 0, "load_amplification": None}
    attempts = int(round(group.sums["attempts"]))
    return {"calls": group.count, "attempts": attempts, "retries": int(round(group.sums["retries"])),
            "retries_refused": int(round(group.sums["refused"])), "load_amplification": attempts / group.count}


def retry_sites(scenario: Any, component: str) -> tuple[str, ...]:
    """The targets *component*'s call steps retry (its call sites with ``retry``), in order of appearance."""
    from ..scenario.topology import iter_steps  # the scenario's walk of nested steps (imported late: no loop)

    sites: dict[str, None] = {}
    for steps in scenario.components[component].operation_steps().values():
        for step, _, _ in iter_steps(steps, ()):
            if getattr(step, "retry", None) is not None and hasattr(step, "call"):
                sites.setdefault(step.call)
    return tuple(sites)


class Site:
    """One call site of one run: its budget's state, its jitter stream, its row of the ``retries`` table."""

    __slots__ = ("budget_spec", "budget", "uniform", "add", "code")

    _of: "WeakKeyDictionary[Any, dict[str, Site]]" = WeakKeyDictionary()

    @classmethod
    def of(cls, ctx, target: str, budget_spec) -> "Site":
        """The site of *ctx*'s component calling *target* in *ctx*'s run (made by its first call step)."""
        sites = cls._of.setdefault(ctx.world, {})
        key = f"{ctx.component}/retry/{target}"
        site = sites.get(key)
        if site is None:
            site = sites[key] = cls(ctx, target, budget_spec, key)
        elif site.budget_spec != budget_spec:
            raise ValueError(f"{ctx.component!r} calls {target} with retry budgets {site.budget_spec!r} and "
                             f"{budget_spec!r}: the calls of one call site share one budget, so give them the same")
        return site

    def __init__(self, ctx, target: str, budget_spec, stream: str):
        sc = ctx.scenario
        sites = retry_sites(sc, ctx.component)
        self.budget_spec = budget_spec
        self.budget = budgets.make(budget_spec) if budget_spec is not None else None
        self.uniform = ctx.world.uniform(stream)
        self.code = sites.index(target)
        self.add = ctx.table("retries", FIELDS, Digest(by=("site",), sums=("attempts", "retries", "refused"),
                                                       when="start", window=(sc.warmup, sc.duration),
                                                       present=RetrySummary(sites)))


class RetryPolicy(CallPolicy):
    """Retry the call per its ``retry`` field (see the module docstring)."""

    name = "retry"
    rank = 40
    metrics = SUMMARY_METRICS
    """What a call step with ``retry`` adds to its component's summary (:meth:`Call.metrics` reads it)."""

    def applies(self, spec) -> bool:
        return spec.retry is not None

    def wrap(self, call, spec, ctx):
        retry, env = spec.retry, ctx.env
        site = Site.of(ctx, spec.call, retry.budget)
        budget, add, code = site.budget, site.add, site.code
        most, retried = retry.max_attempts, frozenset(OUTCOMES[o] for o in retry.retry_on)
        wait, base, deadline = retry.backoff.waits(site.uniform), retry.backoff.base, retry.deadline

        def attempts(request, start: float, made: list):
            """The attempts of one call; *made* holds ``[attempts, refused]`` as they happen."""
            previous = base
            status = OK
            granted = False  # a retry the budget granted, holding its place until its attempt ends
            if budget is not None:
                budget.start(start)
            try:
                while True:
                    made[0] += 1
                    status = yield from call(request)
                    if granted:
                        granted = False
                        budget.retried()
                    failed = status in retried
                    if budget is not None:
                        budget.attempted(failed, status == OK)
                    if not failed or made[0] >= most:
                        break
                    if request.copy is not None and request.copy.cancelled:
                        break  # a hedged copy its caller cancelled: no retry for an answer no one awaits
                    previous = wait(made[0], previous)
                    if deadline is not None and env.now + previous >= start + deadline:
                        break
                    if budget is not None:
                        if not budget.allow(env.now):
                            made[1] = 1
                            break
                        granted = True
                    yield env.timeout(previous)
            finally:  # also when the caller is interrupted (a crash): the budget forgets the call
                if budget is not None:
                    if granted:
                        budget.retried()
                    budget.end()
                if deadline is None:
                    add(start, code, made[0], made[0] - 1, made[1])
            return status

        if deadline is None:
            return lambda request: attempts(request, env.now, [0, 0])

        guarded, propagating = ctx.guarded, deadlines_propagate(ctx.scenario)

        def within_deadline(request):
            """The attempts race the deadline; the row is written when the caller's call ends (no
            attempt starts after the deadline, so the count is final then)."""
            start, made = env.now, [0, 0]
            if propagating:  # the callee sees the call's deadline: no work for an answer no one awaits
                request = request.within(start + deadline)
            process = env.process(guarded(attempts(request, start, made)))
            try:
                yield process | env.timeout(deadline)
            finally:
                add(start, code, made[0], made[0] - 1, made[1])
            return process.value if process.triggered else TIMEOUT

        return within_deadline


POLICY = RetryPolicy()
