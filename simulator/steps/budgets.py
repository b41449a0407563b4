"""Retry budgets: how many retries a call site may send, whatever each call's ``max_attempts`` says.

A budget is shared by every call through one call site (one caller component calling one
``component.operation``), so under a failing dependency it caps the retries the site
adds, not only each call's. Three kinds (golden §14.1), chosen by ``kind``:

* ``envoy`` — Envoy's ``retry_budget``: at most ``max(min_concurrent, ⌊percent/100 ×
  active⌋)`` retries in flight at once, *active* being the calls in flight through the site
  (golden G14.4: 50 active → 10, 5 active → 3). A retry holds its place from the moment it
  is granted (its back-off included) until its attempt ends.
* ``grpc`` — gRPC's ``retryThrottling`` (gRFC A6): a token count starting at
  ``max_tokens``; an attempt that fails with a retried outcome costs 1 token (down to 0), a
  successful one adds ``token_ratio`` (up to ``max_tokens``); a retry is allowed only while
  the count is above ``max_tokens / 2`` (golden G14.3).
* ``finagle`` — Finagle's ``RetryBudget(ttl, minRetriesPerSec, percentCanRetry)``: each call
  deposits ``percent / 100`` of a retry, a retry withdraws 1; deposits and withdrawals
  count for ``ttl``, and a reserve of ``min_per_second × ttl`` retries is always there.

The spec models are pure data; :func:`make` builds a budget's state, a small object with
``start(now)`` (a call begins), ``end()`` (it ends), ``attempted(failed, ok)`` (an attempt
ended), ``allow(now)`` (may a retry go? if so it is taken) and ``retried()`` (a granted
retry's attempt ended).
"""

from __future__ import annotations

from collections import deque
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..scenario.types import PositiveDuration, Strict, tagged_union


class _BudgetSpec(Strict):
    """A budget kind's knobs; a knob of another kind is named as such."""

    @model_validator(mode="before")
    @classmethod
    def _knobs_of_another_kind(cls, data):
        if isinstance(data, dict):
            for key in data:
                if key in cls.model_fields:
                    continue
                owners = [name for name, spec in BUDGETS.items() if key in spec.model_fields]
                if owners:
                    raise ValueError(f"{key!r} is a knob of the {' and '.join(owners)} budget, not of the "
                                     f"{data.get('kind')} budget (its knobs: "
                                     f"{', '.join(k for k in cls.model_fields if k != 'kind')})")
        return data


class EnvoyBudget(_BudgetSpec):
    """Envoy's retry budget: concurrent retries ≤ max(min_concurrent, percent % of the calls in flight)."""

    kind: Literal["envoy"]
    percent: Annotated[float, Field(ge=0, le=100, description="budget_percent: the share of active calls "
                                                               "that may be retries at once")] = 20.0
    min_concurrent: Annotated[int, Field(ge=0, description="min_retry_concurrency: retries always allowed "
                                                           "at once")] = 3

    def limit(self, active: int) -> int:
        """The retries allowed in flight at once with *active* calls in flight (golden G14.4)."""
        return max(self.min_concurrent, int(self.percent * active // 100))


class GrpcBudget(_BudgetSpec):
    """gRPC's retry throttling: a token count; retries only while it is above half of ``max_tokens``."""

    kind: Literal["grpc"]
    max_tokens: Annotated[int, Field(gt=0, le=1000, description="maxTokens: the count starts here")] = 10
    token_ratio: Annotated[float, Field(gt=0, description="tokenRatio: tokens a successful attempt adds back")] = 0.1


class FinagleBudget(_BudgetSpec):
    """Finagle's RetryBudget: retries ≤ percent % of the calls over ``ttl``, plus a reserve."""

    kind: Literal["finagle"]
    percent: Annotated[float, Field(ge=0, le=1000, description="percentCanRetry (as a percent of calls)")] = 20.0
    ttl: PositiveDuration = 10.0
    min_per_second: Annotated[float, Field(ge=0, description="minRetriesPerSec: the reserve, per second "
                                                             "of ttl")] = 10.0


BUDGETS = {"envoy": EnvoyBudget, "grpc": GrpcBudget, "finagle": FinagleBudget}
Budget = tagged_union(BUDGETS, "kind", "retry_budget")
"""Any retry budget, told apart by ``kind``."""


class EnvoyState:
    __slots__ = ("spec", "active", "retrying")

    def __init__(self, spec: EnvoyBudget):
        self.spec, self.active, self.retrying = spec, 0, 0

    def start(self, now: float) -> None:
        self.active += 1

    def end(self) -> None:
        self.active -= 1

    def attempted(self, failed: bool, ok: bool) -> None:
        pass

    def allow(self, now: float) -> bool:
        if self.retrying < self.spec.limit(self.active):
            self.retrying += 1
            return True
        return False

    def retried(self) -> None:
        self.retrying -= 1


class GrpcState:
    __slots__ = ("max_tokens", "ratio", "tokens")

    def __init__(self, spec: GrpcBudget):
        self.max_tokens, self.ratio = float(spec.max_tokens), spec.token_ratio
        self.tokens = self.max_tokens

    def start(self, now: float) -> None:
        pass

    def end(self) -> None:
        pass

    def attempted(self, failed: bool, ok: bool) -> None:
        if failed:
            self.tokens = max(0.0, self.tokens - 1)
        elif ok:
            self.tokens = min(self.max_tokens, self.tokens + self.ratio)

    def allow(self, now: float) -> bool:
        return self.tokens > self.max_tokens / 2

    def retried(self) -> None:
        pass


class FinagleState:
    """Deposits and withdrawals as timestamps, counted while younger than ``ttl`` (whole numbers: no drift)."""

    __slots__ = ("percent", "ttl", "reserve", "deposits", "withdrawals")

    def __init__(self, spec: FinagleBudget):
        self.percent, self.ttl = spec.percent, spec.ttl
        self.reserve = spec.min_per_second * spec.ttl  # in retries
        self.deposits: deque[float] = deque()
        self.withdrawals: deque[float] = deque()

    def _expire(self, now: float) -> None:
        old = now - self.ttl
        for times in (self.deposits, self.withdrawals):
            while times and times[0] <= old:
                times.popleft()

    def start(self, now: float) -> None:
        self._expire(now)
        self.deposits.append(now)

    def end(self) -> None:
        pass

    def attempted(self, failed: bool, ok: bool) -> None:
        pass

    def balance(self, now: float) -> float:
        """The retries the budget holds at *now*."""
        self._expire(now)
        return self.reserve + self.percent * len(self.deposits) / 100 - len(self.withdrawals)

    def allow(self, now: float) -> bool:
        if self.balance(now) >= 1:
            self.withdrawals.append(now)
            return True
        return False

    def retried(self) -> None:
        pass


def make(spec) -> EnvoyState | GrpcState | FinagleState:
    """The state of budget *spec* for one call site."""
    return {"envoy": EnvoyState, "grpc": GrpcState, "finagle": FinagleState}[spec.kind](spec)
