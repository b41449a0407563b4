"""Cache replacement policies with Caffeine-style expiry: pure data structures, no SimPy.

A policy is a bounded key -> value store. The simulation engine calls it once per simulated
request, so every operation is O(1) (amortised) and allocation-light.

Common semantics (every policy):

* **Time.** ``now`` is simulated seconds and must be non-decreasing across calls (not
  checked, for speed). Policies use no randomness and no wall clock: the same calls give
  the same results.
* **Capacity.** At most ``capacity`` entries are resident after every call. Inserting a
  new key into a full cache evicts other entries for capacity; each counts in
  ``evictions`` and in the value :meth:`CachePolicy.put` returns. The newcomer is always
  stored first; W-TinyLFU may then refuse it admission to the main space, evicting it
  instead of the victim, which also counts in ``rejections`` (0 for the other policies).
* **Expiry** (Caffeine ``expireAfterWrite`` / ``expireAfterAccess``). With
  ``expire_after_write=T`` an entry expires ``T`` seconds after it was created or last
  replaced; with ``expire_after_access=T``, ``T`` seconds after its last read (hit) or
  write. With both, the earlier deadline wins. An entry is expired at ``now >= deadline``
  (as in Caffeine). Expired entries are removed lazily: by :meth:`CachePolicy.get`, which
  then reports a miss, by :meth:`CachePolicy.put` on that key (the put then counts as a
  fresh insertion), and, when a new key needs space in a full cache, *all* expired entries
  are purged before any live entry is evicted. Each such removal counts in
  ``expirations``, never in ``evictions``. ``len()`` and ``in`` therefore may still count
  expired entries that nothing has touched yet.
* **Replacing** an existing key stores the new value, restarts both expiry clocks and
  counts as a use of the key (recency for LRU, a frequency increment for LFU, a hit for
  W-TinyLFU's segments); FIFO keeps the key's original queue position.
* **Keys** are ints in sdsim. Any hashable key works for the dictionary-based policies;
  W-TinyLFU's frequency sketch hashes ints by value, ``str``/``bytes`` by CRC-32 of their
  bytes (Python's ``hash()`` of ``str`` is salted per process), and anything else by
  ``hash(key)``, which is deterministic across processes for ints, floats and tuples of
  them but not for objects hashed by identity.

One module per concept: :mod:`~simulator.caching.policies.base` (the contract and
``MISS``), :mod:`~simulator.caching.policies.lru` (LRU, FIFO),
:mod:`~simulator.caching.policies.lfu` and :mod:`~simulator.caching.policies.tinylfu`
(W-TinyLFU and its frequency sketch); every name is re-exported here.
"""

from __future__ import annotations

from .base import MISS, CachePolicy
from .lfu import LFUPolicy
from .lru import FIFOPolicy, LRUPolicy
from .tinylfu import FrequencySketch, WTinyLFUPolicy

__all__ = [
    "MISS", "CachePolicy", "LRUPolicy", "FIFOPolicy", "LFUPolicy", "WTinyLFUPolicy",
    "FrequencySketch", "POLICIES", "make_policy",
]


POLICIES: dict[str, type[CachePolicy]] = {
    cls.name: cls for cls in (LRUPolicy, LFUPolicy, FIFOPolicy, WTinyLFUPolicy)
}
"""Policy classes by their scenario (YAML) name: ``lru``, ``lfu``, ``fifo``, ``tinylfu``."""


def make_policy(name: str, capacity: int, expire_after_write: float | None = None,
                expire_after_access: float | None = None) -> CachePolicy:
    """Build the policy called ``name`` in :data:`POLICIES`; unknown names raise ValueError."""
    try:
        cls = POLICIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown cache policy {name!r}; expected one of "
                         f"{', '.join(sorted(POLICIES))}") from None
    return cls(capacity, expire_after_write, expire_after_access)
