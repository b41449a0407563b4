"""The token bucket: continuous refill, or Envoy's discrete refill (golden G2.3, G2.4).

The bucket starts full with ``capacity`` tokens; a request takes one token or is limited.
Continuous: tokens flow in at ``rate`` per second, capped at ``capacity``. Discrete
(Envoy ``local_ratelimit``'s ``token_bucket {max_tokens, tokens_per_fill,
fill_interval}``): every ``fill_interval`` since the start, ``tokens_per_fill`` tokens are
added at once, capped at ``max_tokens``; between fills nothing arrives. Under continuous
over-demand the discrete bucket admits exactly ``max_tokens + tokens_per_fill ·
floor(T / fill_interval)`` in ``[0, T]``.
"""

from __future__ import annotations

import math

from .base import EPSILON, Limiter


class TokenBucket(Limiter):
    """*capacity* tokens, refilled at *rate* per second (continuously, or in *fill_interval* steps)."""

    def __init__(self, capacity: float, rate: float, fill_interval: float | None = None, start: float = 0.0):
        self.capacity = capacity
        self.rate = rate
        self.fill_interval = fill_interval
        self.tokens_per_fill = None if fill_interval is None else rate * fill_interval
        self.tokens = float(capacity)
        self.last = start  # continuous: the last refill; discrete: the start of the fill grid
        self.fills = 0  # discrete: the fills already added

    def refill(self, now: float) -> None:
        if self.fill_interval is None:
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
            self.last = now
            return
        fills = math.floor((now - self.last) / self.fill_interval + EPSILON)
        if fills > self.fills:
            self.tokens = min(self.capacity, self.tokens + (fills - self.fills) * self.tokens_per_fill)
            self.fills = fills

    def decide(self, now: float) -> float | None:
        self.refill(now)
        if self.tokens + EPSILON < 1.0:
            return None
        self.tokens -= 1.0
        return 0.0
