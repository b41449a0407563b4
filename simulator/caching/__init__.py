"""Caches: replacement policies with Caffeine-style expiry, and their closed forms.

* :mod:`simulator.caching.policies` — pure (SimPy-free) bounded key -> value stores:
  ``lru``, ``fifo``, ``lfu`` and ``tinylfu`` (W-TinyLFU), each with optional
  ``expire_after_write`` / ``expire_after_access``; build one by name with
  :func:`make_policy`.
* :mod:`simulator.caching.theory` — Che's approximation (LRU), the FIFO/RANDOM analogue,
  static top-C LFU, TTL hit ratios and the stampede origin-load count (golden §6).
"""

from .policies import (
    MISS,
    POLICIES,
    CachePolicy,
    FIFOPolicy,
    FrequencySketch,
    LFUPolicy,
    LRUPolicy,
    WTinyLFUPolicy,
    make_policy,
)
from .theory import (
    che_characteristic_time,
    fifo_hit_ratio,
    lfu_hit_ratio,
    lru_hit_ratio,
    stampede_origin_loads,
    ttl_hit_ratio,
    ttl_hit_ratio_after_access,
    ttl_hit_ratio_after_write,
    zipf_popularity,
)

__all__ = [
    "MISS", "POLICIES", "CachePolicy", "FIFOPolicy", "FrequencySketch", "LFUPolicy", "LRUPolicy",
    "WTinyLFUPolicy", "make_policy",
    "che_characteristic_time", "fifo_hit_ratio", "lfu_hit_ratio", "lru_hit_ratio",
    "stampede_origin_loads", "ttl_hit_ratio", "ttl_hit_ratio_after_access",
    "ttl_hit_ratio_after_write", "zipf_popularity",
]
