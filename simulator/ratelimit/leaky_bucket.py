"""nginx ``limit_req``: a leaky bucket of excess requests with ``burst``, ``delay`` and ``nodelay`` (golden G2.2).

The state per key is the *excess*: requests beyond the rate not yet drained. A request at
``now`` computes ``excess = max(0, excess − rate · elapsed + 1)`` (``elapsed`` since the
last request that passed; the first request finds an empty bucket and passes with no
excess); beyond ``burst`` it is rejected (``limit_req_status``, 503 by default) and changes
nothing. Otherwise it is stored, and the request waits ``(excess − delay) / rate`` when
its excess is over ``delay`` (default 0: every excess request is spaced to the rate, so 21
simultaneous requests at ``rate=10r/s burst=20`` leave at 0, 0.1, …, 2.0 s). ``nodelay``
(``delay`` = ``burst``) forwards every request within the burst at once.
"""

from __future__ import annotations

from .base import EPSILON, Limiter


class LeakyBucket(Limiter):
    """*rate* requests per second with *burst* excess queued (or passed at once up to *delay*; ``nodelay``: all)."""

    def __init__(self, rate: float, burst: int = 0, delay: int = 0, nodelay: bool = False):
        self.rate = rate
        self.burst = burst
        self.delay = burst if nodelay else min(delay, burst)
        self.excess = 0.0
        self.last: float | None = None

    def decide(self, now: float) -> float | None:
        if self.last is None:
            excess = 0.0
        else:
            excess = max(0.0, self.excess - self.rate * (now - self.last) + 1.0)
        if excess > self.burst + EPSILON:
            return None
        self.excess, self.last = excess, now
        if excess <= self.delay + EPSILON:
            return 0.0
        return (excess - self.delay) / self.rate
