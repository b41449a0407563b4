"""Lookup structures over weighted members: a consistent-hashing ring and a Maglev table.

Both map a 64-bit hash to a member id; both are built once from the member list (and
weights) and answer lookups in O(log n) (ring) or O(1) (table).
"""

from __future__ import annotations

import math
import numbers
from bisect import bisect_left
from collections.abc import Sequence

from ...arguments import integer as _count
from .hashes import RING_SPACE, _domain_mask, _splitmix64, hash64, is_prime


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


MAX_RING_POINTS = 1_000_000
"""The most points a scenario's ring may hold (members × virtual nodes): memory and build time."""


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
