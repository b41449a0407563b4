"""Window counters: resilience4j's fixed cycles and the sliding-window counter (golden G2.5).

:class:`FixedWindow` is resilience4j's ``RateLimiter``: time is cut into cycles of
``limit_refresh_period`` from the start, each beginning with ``limit_for_period`` permits.
A call takes a permit of the current cycle; when none is left it reserves one of a later
cycle if that cycle starts within ``timeout_duration`` (it waits until then), else it is
refused (``RequestNotPermitted``). Permits do not accumulate past ``limit_for_period``.
The artefact to teach: 10 permits at 0.99 s and 10 more at 1.00 s, 20 within 10 ms.

:class:`SlidingWindow` is the sliding-window counter (Cloudflare, Redis recipes): the
count of the current fixed window plus the previous window's count weighted by the part of
the previous window still inside the sliding one; a request passes iff that estimate is
below ``limit``. It has no boundary burst of 2× the limit.
"""

from __future__ import annotations

import math

from .base import EPSILON, Limiter


class FixedWindow(Limiter):
    """*limit_for_period* permits per cycle of *limit_refresh_period*; wait at most *timeout_duration* for one."""

    def __init__(self, limit_for_period: int, limit_refresh_period: float, timeout_duration: float = 0.0):
        self.limit = limit_for_period
        self.period = limit_refresh_period
        self.timeout = timeout_duration
        self.cycle = 0
        self.permits = limit_for_period  # negative: permits of later cycles already reserved

    def _cycle(self, now: float) -> int:
        return math.floor(now / self.period + EPSILON)

    def decide(self, now: float) -> float | None:
        cycle = self._cycle(now)
        if cycle > self.cycle:
            self.permits = min(self.limit, self.permits + (cycle - self.cycle) * self.limit)
            self.cycle = cycle
        if self.permits >= 1:
            self.permits -= 1
            return 0.0
        ahead = math.ceil((1 - self.permits) / self.limit)  # cycles until a permit is free
        wait = (cycle + ahead) * self.period - now
        if wait > self.timeout + EPSILON:
            return None
        self.permits -= 1
        return wait


class SlidingWindow(Limiter):
    """At most *limit* requests in any *window* (estimated from two fixed windows' counts)."""

    def __init__(self, limit: int, window: float):
        self.limit = limit
        self.window = window
        self.index = 0
        self.current = 0
        self.previous = 0

    def decide(self, now: float) -> float | None:
        index = math.floor(now / self.window + EPSILON)
        if index != self.index:
            self.previous = self.current if index == self.index + 1 else 0
            self.current, self.index = 0, index
        overlap = 1.0 - (now - index * self.window) / self.window
        if self.previous * overlap + self.current + 1 > self.limit + EPSILON:
            return None
        self.current += 1
        return 0.0
