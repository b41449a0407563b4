"""The generic cell rate algorithm as redis-cell's ``CL.THROTTLE`` implements it (golden G2.1).

``CL.THROTTLE key max_burst count period [quantity]``: the emission interval is
``T = period / count``, the delay variation tolerance ``τ = T · (max_burst + 1)``, and the
state is one number per key, the theoretical arrival time (TAT). A request of
``quantity`` at ``now`` computes ``new_tat = max(tat, now) + T · quantity`` and passes iff
``now ≥ new_tat − τ``; only a passing request stores ``new_tat``. The reply is
``[limited, limit = max_burst + 1, remaining, retry_after, reset_after]`` with
``reset_after = tat − now`` and ``remaining = floor((τ − reset_after) / T)``, and
``retry_after = new_tat − τ − now`` when limited (``-1`` when it passed, or when the
quantity exceeds the limit and can never pass).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from .base import EPSILON, Limiter


class Throttle(NamedTuple):
    """``CL.THROTTLE``'s reply (times in seconds)."""

    limited: bool
    limit: int
    remaining: int
    retry_after: float
    reset_after: float


class GCRA(Limiter):
    """``count`` requests per ``period`` with bursts of ``max_burst`` beyond the steady rate."""

    def __init__(self, max_burst: int, count: float, period: float = 1.0):
        self.max_burst = max_burst
        self.emission = period / count
        self.tolerance = self.emission * (max_burst + 1)
        self.tat: float | None = None

    def throttle(self, now: float, quantity: int = 1) -> Throttle:
        """Ask for *quantity* permits at *now* (0: peek without taking any)."""
        limit = self.max_burst + 1
        tat = now if self.tat is None else max(self.tat, now)
        new_tat = tat + self.emission * quantity
        allow_at = new_tat - self.tolerance
        if now + EPSILON < allow_at:
            reset_after = tat - now
            retry_after = -1.0 if quantity > limit else allow_at - now
            return Throttle(True, limit, self._remaining(reset_after), retry_after, reset_after)
        if quantity:
            self.tat = new_tat
        reset_after = new_tat - now
        return Throttle(False, limit, self._remaining(reset_after), -1.0, reset_after)

    def _remaining(self, reset_after: float) -> int:
        return max(0, math.floor((self.tolerance - reset_after) / self.emission + EPSILON))

    def decide(self, now: float) -> float | None:
        return None if self.throttle(now).limited else 0.0
