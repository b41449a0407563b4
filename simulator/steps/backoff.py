"""Back-off between the attempts of a retried call: how long to wait before retry *n*.

The wait before retry *n* (1-based: the wait after the first attempt is retry 1's) starts
from a ceiling, then a jitter draws the wait under it (golden §14.1):

* ``kind: exponential`` — ceiling ``min(cap, base·(2ⁿ − 1))``, Envoy's
  ``retry_back_off`` (``base_interval``, ``max_interval``; golden G14.2: with base 25 ms
  and the default cap 250 ms the ceilings are 25, 75, 175, then 250 ms);
* ``kind: constant`` — ceiling ``base`` every time (resilience4j's ``waitDuration``).

Jitter (the AWS Architecture Blog's "Exponential Backoff and Jitter"), with ``v`` the ceiling:

* ``none`` — wait ``v``;
* ``full`` — ``U[0, v)``: Envoy's back-off, and the default;
* ``equal`` — ``v/2 + U[0, v/2)``: never less than half the ceiling;
* ``decorrelated`` — ``min(cap, U[base, 3·previous))``, the previous wait starting at
  ``base``: it grows from the last wait, not from *n* (so it takes ``kind: exponential``).

``cap`` defaults to 10 × ``base`` (Envoy's ``max_interval``). This module is pure: the
uniform draws come from the caller (one random stream per call site).
"""

from __future__ import annotations

from typing import Callable, Literal

from pydantic import model_validator

from ..scenario.types import PositiveDuration, Strict

JITTERS = ("none", "full", "equal", "decorrelated")


class Backoff(Strict):
    """How long a retried call waits before each retry (see the module docstring)."""

    kind: Literal["constant", "exponential"] = "exponential"
    base: PositiveDuration = 0.025
    cap: PositiveDuration | None = None
    jitter: Literal["none", "full", "equal", "decorrelated"] = "full"

    @model_validator(mode="after")
    def _cap_above_base(self) -> "Backoff":
        if self.cap is not None and self.cap < self.base:
            raise ValueError(f"cap ({self.cap * 1000:g}ms) is below base ({self.base * 1000:g}ms): the cap bounds "
                             "the wait from above, so it must be at least base")
        if self.jitter == "decorrelated" and self.kind == "constant":
            raise ValueError("jitter decorrelated grows each wait from the previous one: it needs kind "
                             "exponential (or choose jitter none, full or equal with kind constant)")
        return self

    @property
    def ceiling_cap(self) -> float:
        """The largest wait: ``cap``, or 10 × ``base`` (Envoy's default ``max_interval``)."""
        return self.cap if self.cap is not None else 10 * self.base

    def ceiling(self, n: int) -> float:
        """The ceiling ``v`` of the wait before retry *n* (1-based), before jitter."""
        if self.kind == "constant":
            return self.base
        return min(self.ceiling_cap, self.base * (2.0 ** min(n, 64) - 1))

    def wait(self, n: int, previous: float, u: float) -> float:
        """The wait before retry *n*, given the *previous* wait (``base`` before the first) and a U[0,1) draw *u*."""
        jitter = self.jitter
        if jitter == "decorrelated":
            return min(self.ceiling_cap, self.base + u * (3 * previous - self.base))
        v = self.ceiling(n)
        if jitter == "full":
            return u * v
        if jitter == "equal":
            return v / 2 + u * v / 2
        return v

    def waits(self, uniform: Callable[[], float]) -> Callable[[int, float], float]:
        """``wait(n, previous)`` drawing from *uniform* (no draw for jitter ``none``)."""
        if self.jitter == "none":
            ceilings = self.ceiling
            return lambda n, previous: ceilings(n)
        wait = self.wait
        return lambda n, previous: wait(n, previous, uniform())
