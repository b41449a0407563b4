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
"""

from __future__ import annotations

import hashlib
import math
import numbers
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import ClassVar

from ..arguments import integer as _count

__all__ = [
    "hash64", "jump_hash", "is_prime", "HashRing", "MaglevTable",
    "ModN", "RangeShards", "HashRingShards", "JumpHash", "MaglevShards",
    "STRATEGIES", "make_strategy", "keys_moved", "shard_loads",
]

MASK64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15  # SplitMix64's increment (the golden ratio in 64 bits)
RING_SPACE = 1 << 64  # hash64 values, and so ring positions, lie in [0, 2**64)


def _splitmix64(z: int) -> int:
    """SplitMix64 output for state ``z`` (Steele, Lea & Flood 2014; Vigna's splitmix64.c)."""
    z = (z + _GAMMA) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def _salt_mask(salt: int) -> int:
    """The 64-bit word XORed into integer inputs for ``salt`` (0 for the unsalted hash)."""
    if isinstance(salt, bool) or not isinstance(salt, int) or not 0 <= salt <= MASK64:
        raise ValueError(f"salt must be an integer in [0, 2**64), got {salt!r}")
    return _splitmix64(salt) if salt else 0


def _domain_mask(label: str, salt: int) -> int:
    """A salt word private to one use (ring points, maglev offsets, ...), so uses never align."""
    _salt_mask(salt)
    return hash64(f"{label}:{salt}")


def hash64(value: int | str, salt: int = 0) -> int:
    """A stable 64-bit hash of an integer or a string.

    * An integer ``x`` in ``[0, 2**64)`` hashes to the SplitMix64 output for state ``x``
      (so ``hash64(0) == 0xE220A8397B1DCDAF``, the generator's first output from seed 0).
      The function is a bijection on 64-bit words: distinct keys never collide.
    * A string hashes to its UTF-8 bytes' 8-byte BLAKE2b digest, read little-endian.

    Args:
        value: The key: an integer in ``[0, 2**64)`` or a string.
        salt: Selects one of a family of unrelated hash functions (an integer in
            ``[0, 2**64)``); 0 is the plain hash above. A non-zero salt XORs
            ``hash64(salt)`` into an integer key before mixing, and keys BLAKE2b for strings.

    Returns:
        An integer in ``[0, 2**64)``, identical on every machine and in every process.
    """
    if isinstance(value, str):
        mask = _salt_mask(salt)
        digest = hashlib.blake2b(value.encode("utf-8"), digest_size=8,
                                 key=mask.to_bytes(8, "little") if salt else b"").digest()
        return int.from_bytes(digest, "little")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MASK64:
        raise ValueError(f"hash64 takes a string or an integer in [0, 2**64), got {value!r}")
    return _splitmix64(value ^ _salt_mask(salt) if salt else value)


def jump_hash(key: int, buckets: int) -> int:
    """Lamping & Veach jump consistent hash, the canonical 64-bit LCG version (golden G4.3).

    Each step advances ``key = key * 2862933555777941757 + 1 (mod 2**64)`` and jumps to
    ``j = floor((b + 1) * 2**31 / ((key >> 33) + 1))``; the last bucket ``b < buckets``
    reached is the answer. Growing ``buckets`` from ``n`` to ``n + 1`` moves a key only
    to the new bucket ``n``, and does so for a fraction ``1/(n + 1)`` of keys.

    Args:
        key: A 64-bit key (an integer in ``[0, 2**64)``); hash it first if it is not
            already uniformly distributed.
        buckets: Number of buckets (>= 1).

    Returns:
        The bucket, in ``0..buckets-1``.
    """
    if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key <= MASK64:
        raise ValueError(f"jump_hash key must be an integer in [0, 2**64), got {key!r}")
    _count("buckets", buckets)
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & MASK64
        j = int((b + 1) * (2147483648.0 / float((key >> 33) + 1)))  # float division, as in C
    return b


def is_prime(n: int) -> bool:
    """Whether ``n`` is a prime number (deterministic trial division by 6k +/- 1)."""
    if n < 2:
        return False
    if n % 2 == 0 or n % 3 == 0:
        return n in (2, 3)
    for d in range(5, math.isqrt(n) + 1, 6):
        if n % d == 0 or n % (d + 2) == 0:
            return False
    return True


def _weight_list(members: Sequence[int], weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0] * len(members)
    if len(weights) != len(members):
        raise ValueError(f"got {len(weights)} weights for {len(members)} members")
    for w in weights:
        if isinstance(w, bool) or not (isinstance(w, numbers.Real) and math.isfinite(w) and w > 0):
            raise ValueError(f"weights must be positive finite numbers, got {w!r}")
    return [float(w) for w in weights]


def _members(members: Sequence[int]) -> list[int]:
    out = list(members)
    if not out:
        raise ValueError("need at least one member")
    for m in out:
        if isinstance(m, bool) or not isinstance(m, int) or not 0 <= m < 1 << 32:
            raise ValueError(f"members must be integers in [0, 2**32), got {m!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"members must be distinct, got {out!r}")
    return out


class HashRing:
    """A consistent-hashing ring (Karger et al. 1997; ketama, Envoy ``RING_HASH``).

    Member ``m`` owns ``replicas`` points on the ring ``[0, 2**64)``: the hashes of
    ``(m, 0), (m, 1), ...`` (``hash64(m * 2**32 + r)`` under a ring-private salt). A key
    belongs to the owner of the first point clockwise at or after ``hash64(key)``,
    wrapping past the top. A member's points depend only on the member, so adding or
    removing a member moves only the keys on the arcs it gains or loses.

    With ``v`` points per member and ``n`` members, a member's share of the ring is
    ``Beta(v, (n-1) v)``: coefficient of variation ``sqrt((n-1)/(n v + 1))``
    (:func:`simulator.theory.ring_share_cv`, golden G4.1).

    Args:
        members: Distinct member ids (integers in ``[0, 2**32)``), at least one.
        virtual_nodes: Points per member of weight 1 (>= 1).
        weights: Optional positive weight per member (same order); member ``m`` gets
            ``max(1, round(virtual_nodes * weight))`` points, so its expected share is
            proportional to its weight.
        salt: Selects an independent ring layout (0 = the default layout).
    """

    __slots__ = ("members", "points", "owners", "_first")

    def __init__(self, members: Sequence[int], virtual_nodes: int = 100, *,
                 weights: Sequence[float] | None = None, salt: int = 0):
        members = _members(members)
        _count("virtual_nodes", virtual_nodes)
        mask = _domain_mask("ring", salt)
        pairs: list[tuple[int, int]] = []
        for m, w in zip(members, _weight_list(members, weights)):
            pairs.extend((p, m) for p in self.member_points(m, max(1, round(virtual_nodes * w)), mask))
        self._set(members, pairs)

    @staticmethod
    def member_points(member: int, replicas: int, mask: int) -> list[int]:
        """The ring positions of ``member``'s ``replicas`` virtual nodes under salt word ``mask``."""
        base = member << 32
        return [_splitmix64((base | r) ^ mask) for r in range(replicas)]

    @classmethod
    def from_points(cls, points: dict[int, list[int]]) -> "HashRing":
        """A ring from precomputed member points (lets a caller rebuild subsets cheaply)."""
        ring = cls.__new__(cls)
        ring._set(list(points), [(p, m) for m, ps in points.items() for p in ps])
        return ring

    def _set(self, members: list[int], pairs: list[tuple[int, int]]) -> None:
        pairs.sort()  # equal points (vanishingly rare) are ordered by member id: still deterministic
        self.members = members
        self.points = [p for p, _ in pairs]
        self.owners = [m for _, m in pairs]
        self._first = self.owners[0]

    def owner_of_hash(self, h: int) -> int:
        """The member owning ring position ``h`` (first point ``>= h``, wrapping)."""
        i = bisect_left(self.points, h)
        return self.owners[i] if i < len(self.points) else self._first

    def lookup(self, key: int | str) -> int:
        """The member that ``key`` maps to."""
        return self.owner_of_hash(hash64(key))

    def shares(self) -> dict[int, float]:
        """Each member's exact fraction of the ring (the arc ending at each of its points)."""
        points, owners = self.points, self.owners
        arcs = dict.fromkeys(self.members, 0)
        previous = points[-1] - RING_SPACE  # the wrapping arc ends at the first point
        for p, m in zip(points, owners):
            arcs[m] += p - previous
            previous = p
        return {m: a / RING_SPACE for m, a in arcs.items()}


class MaglevTable:
    """A Maglev lookup table (Eisenbud et al., NSDI 2016, section 3.4; Envoy ``MAGLEV``).

    Member ``m`` has a permutation of the table slots ``offset, offset + skip, ...
    (mod M)`` with ``offset = h1(m) mod M`` and ``skip = h2(m) mod (M - 1) + 1`` from two
    independent hashes. Members take turns, each claiming the next still-empty slot of
    its permutation, until the table is full. A key maps to ``table[hash64(key) mod M]``.

    With equal weights every member owns ``floor(M/N)`` or ``ceil(M/N)`` slots
    (golden G4.4). With weights, Envoy's rule is used: in turn ``t`` a member claims a slot only
    if ``t * weight >= (slots claimed so far) * max_weight``, so slot counts are
    proportional to weight.

    Args:
        members: Distinct member ids (integers in ``[0, 2**32)``), at least one.
        table_size: ``M``; must be prime so that every permutation covers every slot.
            The paper recommends ``M > 100 N`` (Envoy's default is 65537).
        weights: Optional positive weight per member (same order).
        salt: Selects independent permutations (0 = the default).
    """

    __slots__ = ("members", "table", "size")

    def __init__(self, members: Sequence[int], table_size: int = 65537, *,
                 weights: Sequence[float] | None = None, salt: int = 0):
        members = _members(members)
        size = _count("table_size", table_size, 2)
        if not is_prime(size):
            raise ValueError(f"table_size must be prime (e.g. 65537, 5000011), got {size}")
        offset_mask, skip_mask = _domain_mask("maglev-offset", salt), _domain_mask("maglev-skip", salt)
        cursor = [_splitmix64(m ^ offset_mask) % size for m in members]  # next slot to try
        skips = [_splitmix64(m ^ skip_mask) % (size - 1) + 1 for m in members]
        w = _weight_list(members, weights)
        table = [-1] * size
        filled, turn, top = 0, 0, max(w)
        claimed = [0.0] * len(members)  # slots claimed so far, times top (Envoy's weight_)
        equal = all(x == top for x in w)
        while filled < size:
            turn += 1
            for i, member in enumerate(members):
                if not equal:
                    if turn * w[i] < claimed[i]:
                        continue
                    claimed[i] += top
                c, skip = cursor[i], skips[i]
                while table[c] >= 0:  # walk this member's permutation to a free slot
                    c += skip
                    if c >= size:
                        c -= size
                table[c] = member
                c += skip
                cursor[i] = c - size if c >= size else c
                filled += 1
                if filled == size:
                    break
        self.members, self.table, self.size = members, table, size

    def lookup(self, key: int | str) -> int:
        """The member that ``key`` maps to."""
        return self.table[hash64(key) % self.size]

    def counts(self) -> dict[int, int]:
        """Slots owned by each member."""
        counts = dict.fromkeys(self.members, 0)
        for m in self.table:
            counts[m] += 1
        return counts


# --- placement strategies ------------------------------------------------------------------

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
