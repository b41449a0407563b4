"""Load balancing and key placement: pure algorithms, no SimPy.

* :mod:`.policies` — which host serves a request (``round_robin``, ``random``,
  ``least_connections``, ``least_request``, ``ring_hash``, ``maglev``), built by name with
  :func:`make_policy`.
* :mod:`.hashing` — the stable :func:`hash64`, key placement strategies (``mod_n``,
  ``range``, ``consistent``, ``jump``, ``maglev``) built by name with
  :func:`make_strategy`, and resharding / hot-shard analysis (:func:`keys_moved`,
  :func:`shard_loads`).

Closed forms to check them against live in :mod:`simulator.theory` ("Load balancing and
placement").
"""

from .hashing import (
    STRATEGIES,
    HashRing,
    HashRingShards,
    JumpHash,
    MaglevShards,
    MaglevTable,
    ModN,
    RangeShards,
    hash64,
    jump_hash,
    keys_moved,
    make_strategy,
    shard_loads,
)
from .policies import (
    POLICIES,
    LeastConnections,
    LeastRequest,
    Maglev,
    Policy,
    Random,
    RingHash,
    RoundRobin,
    make_policy,
)

__all__ = [
    "POLICIES", "Policy", "RoundRobin", "Random", "LeastConnections", "LeastRequest", "RingHash",
    "Maglev", "make_policy",
    "STRATEGIES", "hash64", "jump_hash", "HashRing", "MaglevTable", "ModN", "RangeShards",
    "HashRingShards", "JumpHash", "MaglevShards", "make_strategy", "keys_moved", "shard_loads",
]
