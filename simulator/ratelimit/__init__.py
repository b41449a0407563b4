"""Rate-limiting algorithms: pure Python, no SimPy, one module each (golden §2).

Every limiter answers one question, :meth:`Limiter.decide`: may a request arriving at
``now`` pass, and after how long a wait? It returns ``0.0`` (pass at once), a positive
delay (nginx ``limit_req`` with ``burst`` and no ``nodelay``; resilience4j's wait up to
``timeoutDuration``) or ``None`` (limited: an HTTP 429, or nginx's 503). Time is whatever
clock the caller passes, so tests drive it directly (golden §0: an injectable clock).

* :class:`~.token_bucket.TokenBucket` — continuous refill, or Envoy's discrete
  ``tokens_per_fill`` every ``fill_interval`` (golden G2.3, G2.4);
* :class:`~.gcra.GCRA` — redis-cell's generic cell rate algorithm (golden G2.1);
* :class:`~.leaky_bucket.LeakyBucket` — nginx ``limit_req`` with ``burst``, ``delay``
  and ``nodelay`` (golden G2.2);
* :class:`~.windows.FixedWindow` — resilience4j's ``RateLimiter`` cycles (golden G2.5);
* :class:`~.windows.SlidingWindow` — the sliding-window counter (the previous window's
  count weighted by its overlap).

:data:`ALGORITHMS` maps the YAML ``algorithm:`` names to the classes.
"""

from __future__ import annotations

from .base import Limiter
from .gcra import GCRA, Throttle
from .leaky_bucket import LeakyBucket
from .token_bucket import TokenBucket
from .windows import FixedWindow, SlidingWindow

ALGORITHMS: dict[str, type[Limiter]] = {
    "token_bucket": TokenBucket,
    "gcra": GCRA,
    "nginx": LeakyBucket,
    "fixed_window": FixedWindow,
    "sliding_window": SlidingWindow,
}
"""YAML ``algorithm:`` → the limiter class."""

__all__ = ["ALGORITHMS", "FixedWindow", "GCRA", "LeakyBucket", "Limiter", "SlidingWindow", "Throttle",
           "TokenBucket"]
