"""Key placement (sharding) strategies by name, and resharding and hot-shard analysis.

A strategy maps an integer key to a shard ``0..n-1`` through ``shard(key)``;
:func:`make_strategy` builds one by its scenario name (:data:`STRATEGIES`).
:func:`keys_moved` measures the fraction of keys that change shard when ``n`` changes and
:func:`shard_loads` each shard's share of traffic for a key popularity.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import ClassVar

from ...arguments import integer as _count
from .hashes import MASK64, _salt_mask, _splitmix64, hash64
from .tables import HashRing, MaglevTable


class ModN:
    """``shard = hash64(key, salt) % n``: even spread, but changing ``n`` to ``n'`` keeps a
    key in place only if ``h mod n == h mod n'`` (a fraction ``min(n, n')/lcm(n, n')``).

    Args:
        n: Number of shards (>= 1).
        salt: Selects an independent hash function (0 = plain :func:`hash64`).
    """

    knobs: ClassVar[tuple[str, ...]] = ("salt",)
    __slots__ = ("n", "salt", "_mask")

    def __init__(self, n: int, salt: int = 0):
        self.n = _count("n", n)
        self.salt, self._mask = salt, _salt_mask(salt)

    def shard(self, key: int) -> int:
        if type(key) is int and 0 <= key <= MASK64:  # hash64 inlined for the common case
            return _splitmix64(key ^ self._mask) % self.n
        return hash64(key, self.salt) % self.n


class RangeShards:
    """Contiguous, equal key ranges: key ``k`` in ``0..key_space-1`` goes to shard
    ``floor(k n / key_space)`` (range sizes differ by at most one key).

    Keys in this simulator are popularity ranks (key 0 is the most requested), so range
    sharding puts the hottest keys together on shard 0: it is the worst case for hot
    spots, and the reason real range-sharded stores split hot ranges.

    Args:
        n: Number of shards (>= 1).
        key_space: Number of keys (>= 1); keys outside ``0..key_space-1`` raise ValueError.
    """

    knobs: ClassVar[tuple[str, ...]] = ("key_space",)
    __slots__ = ("n", "key_space")

    def __init__(self, n: int, key_space: int):
        self.n = _count("n", n)
        self.key_space = _count("key_space", key_space)

    def shard(self, key: int) -> int:
        if not 0 <= key < self.key_space:
            raise ValueError(f"key {key!r} is outside the key space 0..{self.key_space - 1}")
        return key * self.n // self.key_space


class HashRingShards:
    """Consistent hashing: shards ``0..n-1`` on a :class:`HashRing`.

    Going from ``n`` to ``n + 1`` shards moves only the keys the new shard takes, a
    fraction equal to its ring share: ``1/(n + 1)`` on average, with coefficient of
    variation :func:`simulator.theory.ring_share_cv` over ring layouts.

    Args:
        n: Number of shards (>= 1).
        virtual_nodes: Ring points per shard (>= 1).
        salt: Selects an independent ring layout.
    """

    knobs: ClassVar[tuple[str, ...]] = ("virtual_nodes", "salt")
    __slots__ = ("n", "ring", "_points", "_owners", "_first")

    def __init__(self, n: int, virtual_nodes: int = 100, salt: int = 0):
        self.n = _count("n", n)
        self.ring = HashRing(range(n), virtual_nodes, salt=salt)
        self._points, self._owners, self._first = self.ring.points, self.ring.owners, self.ring.owners[0]

    def shard(self, key: int) -> int:
        i = bisect_left(self._points, hash64(key))
        return self._owners[i] if i < len(self._points) else self._first


class JumpHash:
    """Jump consistent hash of the hashed key: ``jump_hash(hash64(key, salt), n)``.

    The key is hashed first because :func:`jump_hash` expects a uniformly distributed
    64-bit key, while simulator keys are small consecutive ranks.

    Args:
        n: Number of shards (>= 1).
        salt: Selects an independent hash function.
    """

    knobs: ClassVar[tuple[str, ...]] = ("salt",)
    __slots__ = ("n", "salt", "_mask")

    def __init__(self, n: int, salt: int = 0):
        self.n = _count("n", n)
        self.salt, self._mask = salt, _salt_mask(salt)

    def shard(self, key: int) -> int:
        if type(key) is int and 0 <= key <= MASK64:  # hash64 inlined for the common case
            k = _splitmix64(key ^ self._mask)
        else:
            k = hash64(key, self.salt)
        n, b, j = self.n, -1, 0
        while j < n:  # jump_hash inlined: this is on the per-request path
            b = j
            k = (k * 2862933555777941757 + 1) & MASK64
            j = int((b + 1) * (2147483648.0 / float((k >> 33) + 1)))
        return b


class MaglevShards:
    """Shards ``0..n-1`` through a :class:`MaglevTable` of ``table_size`` slots.

    Args:
        n: Number of shards (>= 1).
        table_size: Prime table size (default 65537, Envoy's default).
        salt: Selects independent permutations.
    """

    knobs: ClassVar[tuple[str, ...]] = ("table_size", "salt")
    __slots__ = ("n", "maglev", "_table", "_size")

    def __init__(self, n: int, table_size: int = 65537, salt: int = 0):
        self.n = _count("n", n)
        self.maglev = MaglevTable(range(n), table_size, salt=salt)
        self._table, self._size = self.maglev.table, self.maglev.size

    def shard(self, key: int) -> int:
        return self._table[hash64(key) % self._size]


Strategy = ModN | RangeShards | HashRingShards | JumpHash | MaglevShards


STRATEGIES: dict[str, Callable[..., Strategy]] = {
    "mod_n": ModN,
    "range": RangeShards,
    "consistent": HashRingShards,
    "jump": JumpHash,
    "maglev": MaglevShards,
}


def make_strategy(name: str, n: int, **knobs) -> Strategy:
    """Build the placement strategy called ``name`` (a key of :data:`STRATEGIES`) over ``n`` shards.

    Raises:
        ValueError: For an unknown name, an unknown knob, a missing required knob
            (``range`` needs ``key_space``) or an invalid knob value.
    """
    try:
        cls = STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown placement strategy {name!r}; known: {', '.join(STRATEGIES)}") from None
    unknown = sorted(set(knobs) - set(cls.knobs))
    if unknown:
        raise ValueError(f"strategy {name!r} has no knob(s) {unknown}; its knobs: {list(cls.knobs)}")
    if name == "range" and "key_space" not in knobs:
        raise ValueError("strategy 'range' needs key_space (the number of keys)")
    return cls(n, **knobs)


def keys_moved(strategy_name: str, n_from: int, n_to: int, keys: int = 100_000,
               key_space: int | None = None, **knobs) -> float:
    """Fraction of the keys ``0..keys-1`` whose shard changes when ``n_from`` shards become ``n_to``.

    Both layouts are built with the same knobs (same salt), as a real resize would be.
    Golden G4.2: ``mod_n`` 10 -> 11 moves 10/11 of the keys; ``consistent``, ``jump`` and
    ``maglev`` about 1/11; ``jump`` 10 -> 12 about 1/6.

    Args:
        strategy_name: A key of :data:`STRATEGIES`.
        n_from: Shard count before (>= 1).
        n_to: Shard count after (>= 1).
        keys: How many keys to place (>= 1).
        key_space: For ``range`` only: the key space (default ``keys``).
        **knobs: Further strategy knobs (``salt``, ``virtual_nodes``, ``table_size``).
    """
    _count("keys", keys)
    if strategy_name == "range":
        knobs["key_space"] = keys if key_space is None else key_space
    elif key_space is not None:
        raise ValueError(f"key_space applies to the 'range' strategy only, not {strategy_name!r}")
    before = make_strategy(strategy_name, n_from, **knobs).shard
    after = make_strategy(strategy_name, n_to, **knobs).shard
    return sum(before(k) != after(k) for k in range(keys)) / keys


def shard_loads(strategy: Strategy, popularity: Sequence[float]) -> list[float]:
    """Each shard's share of the traffic when key ``i`` is requested with weight ``popularity[i]``.

    Args:
        strategy: A placement strategy (anything with ``n`` and ``shard(key)``).
        popularity: Non-negative request weight per key ``0..len-1`` (need not sum to 1).

    Returns:
        ``strategy.n`` shares summing to 1. The shard holding the hottest key carries at
        least that key's share, whatever the strategy (golden G4.5).
    """
    loads = [0.0] * strategy.n
    shard = strategy.shard
    for key, p in enumerate(popularity):
        if not (math.isfinite(p) and p >= 0):
            raise ValueError(f"popularity must be non-negative finite numbers, got {p!r} for key {key}")
        loads[shard(key)] += p
    total = math.fsum(loads)
    if total <= 0:
        raise ValueError("popularity must have a positive sum")
    return [x / total for x in loads]
