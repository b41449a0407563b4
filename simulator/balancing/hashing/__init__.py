"""Key hashing, key placement (sharding) strategies and resharding analysis.

Pure functions and small classes (stdlib only), shared by the hash-based load-balancing
policies in :mod:`simulator.balancing.policies` and by sharded components.

* :func:`hash64` is the one hash everything uses: the SplitMix64 output function for
  integers, BLAKE2b for strings. It is stable across processes and machines (Python's
  ``hash`` is salted per process, so it is never used).
* A *placement strategy* maps an integer key to a shard ``0..n-1`` through
  ``shard(key)``. Strategies are built from the shard count ``n`` (plus knobs) by
  :func:`make_strategy`, by name as in a scenario file:

  ============== ======================= =================================================
  name           class                   idea
  ============== ======================= =================================================
  ``mod_n``      :class:`ModN`           ``hash64(key) % n``: balanced, but resizing moves
                                         almost every key
  ``range``      :class:`RangeShards`    contiguous equal key ranges; keys are popularity
                                         ranks here, so the hottest keys share shard 0
  ``consistent`` :class:`HashRingShards` consistent-hashing ring with virtual nodes
  ``jump``       :class:`JumpHash`       Lamping & Veach jump consistent hash
  ``maglev``     :class:`MaglevShards`   Maglev lookup table (Eisenbud et al. 2016)
  ============== ======================= =================================================

* :func:`keys_moved` measures what fraction of keys change shard when the shard count
  changes; :func:`shard_loads` gives each shard's share of traffic for a key popularity
  (hot-shard analysis).

Invalid arguments (non-integer or out-of-range counts, a table size that is not prime,
unknown strategy names or knobs) raise :class:`ValueError`.

One module per concept, every name re-exported here: :mod:`~simulator.balancing.hashing.hashes`
(the hash functions), :mod:`~simulator.balancing.hashing.tables` (the ring and the Maglev
table) and :mod:`~simulator.balancing.hashing.strategies` (placement strategies, resharding).
"""

from __future__ import annotations

from .hashes import MASK64, RING_SPACE, _domain_mask, _salt_mask, _splitmix64, hash64, is_prime, jump_hash
from .strategies import (
    STRATEGIES, HashRingShards, JumpHash, MaglevShards, ModN, RangeShards, Strategy, keys_moved,
    make_strategy, shard_loads,
)
from .tables import MAX_RING_POINTS, HashRing, MaglevTable

__all__ = [
    "hash64", "jump_hash", "is_prime", "HashRing", "MaglevTable", "MAX_RING_POINTS",
    "ModN", "RangeShards", "HashRingShards", "JumpHash", "MaglevShards",
    "STRATEGIES", "make_strategy", "keys_moved", "shard_loads",
]
