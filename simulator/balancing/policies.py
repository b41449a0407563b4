"""Load-balancing policies: which host serves the next request.

Names and semantics follow Envoy (``lb_policy``) and nginx (``upstream``);
golden §3. A policy is pure Python with no SimPy: the engine owns the hosts and calls
:meth:`Policy.pick` once per request with

* ``eligible`` — the hosts that may be chosen (healthy, not ejected), a non-empty
  sequence of host indices in increasing order;
* ``active`` — ``active[h]`` requests outstanding at host ``h`` as this balancer sees
  them (``len(active) > max(eligible)``);
* ``key`` — the request's integer key, used by the hash policies.

Hosts are integer indices ``0, 1, ...`` and their number may grow while a run is going
(autoscaling): host ``h`` has weight ``weights[h]``, or 1.0 beyond the end of
``weights``. All randomness comes from the ``uniform`` callable the engine passes in (a
reproducible stream of floats in ``[0, 1)``), so a run is reproducible from its seed.

============================== =========================== ==============================
YAML name                      after                       picks
============================== =========================== ==============================
``round_robin``                nginx smooth weighted RR    deterministic weighted rotation
``random``                     Envoy ``RANDOM``            weighted random
``least_connections``          nginx ``least_conn``        fewest active (per weight),
                                                           full scan
``least_request``              Envoy ``LEAST_REQUEST``     best of ``choice_count`` random
                                                           samples (power of d choices)
``ring_hash``                  Envoy ``RING_HASH``/ketama  consistent hash ring
``maglev``                     Envoy ``MAGLEV``            Maglev lookup table
============================== =========================== ==============================

``pick`` is on the simulator's hot path, so policies precompute whatever depends only on
the eligible set and refresh it when that set changes (one list comparison per pick).
``eligible`` must therefore be a list, tuple or range of ints (not a numpy array).
"""

from __future__ import annotations

import math
import numbers
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from typing import ClassVar

from ..arguments import integer as _int_knob
from .hashing import MASK64, HashRing, MaglevTable, _domain_mask, _salt_mask, _splitmix64, hash64, is_prime

__all__ = [
    "Policy", "RoundRobin", "Random", "LeastConnections", "LeastRequest", "RingHash", "Maglev",
    "POLICIES", "make_policy",
]

_CACHE_LIMIT = 16  # eligible sets remembered by the hash policies (health flaps between a few)
_MEMO_LIMIT = 1 << 16  # key -> host answers remembered per eligible set (hot keys repeat)


def _key_hash(key: int) -> int:
    """``hash64(key)``, inlined for the common case of a 64-bit non-negative int."""
    return _splitmix64(key) if type(key) is int and 0 <= key <= MASK64 else hash64(key)


class Policy:
    """Picks one host for a request.

    Hosts are integer indices ``0..``; the host count can GROW at run time (autoscaling
    adds hosts with weight 1 unless ``weights`` says otherwise).

    Args:
        weights: ``weights[h]`` is host ``h``'s positive weight; hosts beyond the end
            have weight 1.0. An empty sequence means all weights are 1.
        uniform: Zero-argument callable returning floats in ``[0, 1)`` from a
            reproducible stream; the only source of randomness a policy may use.
        **knobs: Policy-specific settings (each subclass lists its ``knobs``).
    """

    name: ClassVar[str]
    knobs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, weights: Sequence[float], uniform: Callable[[], float], **knobs):
        unknown = sorted(set(knobs) - set(self.knobs))
        if unknown:
            raise ValueError(f"policy {self.name!r} has no knob(s) {unknown}; its knobs: {list(self.knobs)}")
        self._w: list[float] = []
        for h, w in enumerate(weights):
            if isinstance(w, bool) or not (isinstance(w, numbers.Real) and math.isfinite(w) and w > 0):
                raise ValueError(f"weights must be positive finite numbers, got {w!r} for host {h}")
            self._w.append(float(w))
        if not callable(uniform):
            raise ValueError("uniform must be a zero-argument callable returning floats in [0, 1)")
        self._u = uniform
        self._seen: Sequence[int] | None = None  # copy of the eligible set the caches were built for

    def pick(self, eligible: Sequence[int], active: Sequence[int], key: int) -> int:
        """Return one element of ``eligible``.

        Args:
            eligible: Non-empty host indices in increasing order (never empty).
            active: ``active[h]`` = requests outstanding at host ``h`` as seen by this
                balancer (``len(active) > max(eligible)``).
            key: The request's integer key (used by hash policies).
        """
        raise NotImplementedError

    def weight(self, host: int) -> float:
        """Host ``host``'s weight (1.0 for hosts beyond the configured weights)."""
        return self._w[host] if host < len(self._w) else 1.0

    def _changed(self, eligible: Sequence[int]) -> bool:
        """True (and remembers ``eligible``) when the eligible set differs from the last pick's."""
        if eligible == self._seen:
            return False
        if not eligible:
            raise ValueError("eligible must name at least one host")
        top = eligible[-1]
        if top >= len(self._w):  # hosts added at run time get weight 1
            self._w.extend([1.0] * (top + 1 - len(self._w)))
        self._seen = eligible[:]  # same type as eligible, so the == above compares like with like
        return True


class _Weighted(Policy):
    """Shared eligible-set cache: whether weights are equal, cumulative weights for sampling."""

    def __init__(self, weights, uniform, **knobs):
        super().__init__(weights, uniform, **knobs)
        self._equal = True
        self._cum: list[float] = []
        self._total = 0.0

    def _refresh(self, eligible: Sequence[int]) -> None:
        w = self._w
        first = w[eligible[0]]
        self._equal = all(w[h] == first for h in eligible)
        cum, total = [], 0.0
        for h in eligible:
            total += w[h]
            cum.append(total)
        self._cum, self._total = cum, total

    def _sample(self, eligible: Sequence[int]) -> int:
        """One host drawn with probability proportional to weight (one ``uniform`` draw)."""
        if self._equal:
            return eligible[int(self._u() * len(eligible))]
        i = bisect_right(self._cum, self._u() * self._total)
        return eligible[i if i < len(eligible) else -1]  # guard u * total rounding up to total


class RoundRobin(Policy):
    """nginx smooth weighted round robin (golden G3.4).

    On each pick every eligible host adds its weight to its ``current_weight``; the host
    with the largest ``current_weight`` wins (ties: the lowest index) and has the total
    eligible weight subtracted from it. Weights {a: 5, b: 1, c: 1} give ``a a b a c a a``,
    repeating; equal weights give plain rotation in index order.

    Only eligible hosts take part in a pick (the total is the sum of *eligible* weights),
    as in nginx, which skips peers that are down or failed: a host outside the eligible
    set keeps its ``current_weight`` frozen, so it gains no advantage while away and
    rejoins with the credit or debt it left with (less than one total weight). A host
    removed at the end of a cycle (all current weights back at 0) leaves the others
    rotating in their order; removed mid-cycle, a host that was owed a turn may be
    picked twice in a row while the credits even out (nginx does the same).
    """

    name = "round_robin"

    def __init__(self, weights, uniform, **knobs):
        super().__init__(weights, uniform, **knobs)
        self._cw: list[float] = []  # nginx's current_weight, per host
        self._total = 0.0

    def pick(self, eligible, active, key):
        cw = self._cw
        if self._changed(eligible):
            if len(cw) < len(self._w):
                cw.extend([0.0] * (len(self._w) - len(cw)))  # new hosts start level
            self._total = math.fsum(self._w[h] for h in eligible)
        w = self._w
        best, top = -1, -math.inf
        for h in eligible:
            c = cw[h] + w[h]
            cw[h] = c
            if c > top:
                best, top = h, c
        cw[best] -= self._total
        return best


class Random(_Weighted):
    """Weighted random choice among the eligible hosts (Envoy ``RANDOM``).

    Host ``h`` is chosen with probability ``weight(h) / sum of eligible weights``, one
    ``uniform`` draw per pick.
    """

    name = "random"

    def pick(self, eligible, active, key):
        if self._changed(eligible):
            self._refresh(eligible)
        return self._sample(eligible)


class LeastConnections(Policy):
    """Join the shortest queue by full scan (nginx ``least_conn``).

    Picks the eligible host with the fewest ``active`` requests or, with unequal weights,
    the smallest ``active / weight``. Ties go round-robin: among the tied hosts, the
    first one after the previously picked host (in index order, wrapping), so hosts
    that stay tied are served in strict rotation (nginx breaks ties by weighted round
    robin; with equal weights that is the same rotation). Uses no randomness.
    """

    name = "least_connections"

    def __init__(self, weights, uniform, **knobs):
        super().__init__(weights, uniform, **knobs)
        self._last = -1  # the previous pick
        self._equal = True
        self._inv: list[float] = []

    def pick(self, eligible, active, key):
        if self._changed(eligible):
            w = self._w
            self._equal = all(w[h] == w[eligible[0]] for h in eligible)
            self._inv = [1.0 / x for x in w]
        last, low, first, after = self._last, math.inf, -1, -1
        # One pass: `first` is the first host with the lowest load, `after` the first such
        # host beyond the previous pick (the next one in the rotation, if any).
        if self._equal:
            for h in eligible:
                a = active[h]
                if a < low:
                    low, first, after = a, h, (h if h > last else -1)
                elif a == low and after < 0 and h > last:
                    after = h
        else:
            inv = self._inv
            for h in eligible:
                a = active[h] * inv[h]
                if a < low:
                    low, first, after = a, h, (h if h > last else -1)
                elif a == low and after < 0 and h > last:
                    after = h
        self._last = best = after if after >= 0 else first
        return best


class LeastRequest(_Weighted):
    """Envoy ``LEAST_REQUEST``: the best of ``choice_count`` random samples.

    * Equal weights (Envoy's N-choices mode): draw ``choice_count`` hosts uniformly
      WITH replacement from the eligible set and take the one with the fewest active
      requests; ties go to the first drawn. ``choice_count = 2`` is power-of-two
      choices; ``choice_count = 1`` is exactly :class:`Random` (same draws, same picks).
    * Unequal weights: effective weight ``weight / (active + 1) ** active_request_bias``.
      Envoy feeds that into its weighted round-robin (EDF) scheduler; here instead
      ``choice_count`` hosts are drawn at random *weighted by weight* (with
      replacement) and the one with the largest effective weight wins (ties: first
      drawn). With bias 0 that is plain weighted random; with bias 1 load counts as much
      as weight.

    Knobs:
        choice_count: Samples per pick (integer >= 1, default 2; gRPC caps it at 10).
        active_request_bias: Exponent on ``active + 1`` (>= 0, default 1.0).
    """

    name = "least_request"
    knobs = ("choice_count", "active_request_bias")

    def __init__(self, weights, uniform, *, choice_count: int = 2, active_request_bias: float = 1.0, **unknown):
        super().__init__(weights, uniform, **unknown)  # rejects unknown knobs with ValueError
        self.choice_count = _int_knob("choice_count", choice_count, 1)
        bias = active_request_bias
        if isinstance(bias, bool) or not (isinstance(bias, numbers.Real) and math.isfinite(bias) and bias >= 0):
            raise ValueError(f"active_request_bias must be a non-negative finite number, got {bias!r}")
        self.active_request_bias = float(bias)

    def pick(self, eligible, active, key):
        if self._changed(eligible):
            self._refresh(eligible)
        if self._equal:
            u, n = self._u, len(eligible)
            best = eligible[int(u() * n)]
            fewest = active[best]
            for _ in range(self.choice_count - 1):
                h = eligible[int(u() * n)]
                a = active[h]
                if a < fewest:
                    best, fewest = h, a
            return best
        w, bias = self._w, self.active_request_bias
        best, top = -1, -math.inf
        for _ in range(self.choice_count):
            h = self._sample(eligible)
            a = active[h] + 1
            effective = w[h] / (a if bias == 1.0 else a ** bias)
            if effective > top:
                best, top = h, effective
        return best


class RingHash(Policy):
    """Envoy ``RING_HASH`` / ketama consistent hashing over the eligible hosts.

    Each eligible host ``h`` places ``round(virtual_nodes * weight(h))`` (at least 1)
    points on a 64-bit ring (see :class:`simulator.balancing.hashing.HashRing`); a
    request goes to the owner of the first point clockwise at or after
    ``hash64(key)``, wrapping. The same key always reaches the same host while the
    eligible set is unchanged, and removing a host remaps only the keys it owned.

    The ring is rebuilt only when the eligible set changes (host points are computed
    once per host; the last few rings are cached per eligible set). Envoy sizes its ring
    by ``minimum_ring_size`` (default 1024) and ``maximum_ring_size`` instead of a
    per-host count, so with ``N`` hosts Envoy has at least ``1024 / N`` points per host;
    set ``virtual_nodes`` accordingly to mimic it. Load imbalance: a host's share has
    CV ``sqrt((N-1)/(N v + 1))`` (:func:`simulator.theory.ring_share_cv`).

    Knobs:
        virtual_nodes: Points per host of weight 1 (integer >= 1, default 100).
        salt: Integer selecting an independent ring layout (default 0).
    """

    name = "ring_hash"
    knobs = ("virtual_nodes", "salt")

    def __init__(self, weights, uniform, *, virtual_nodes: int = 100, salt: int = 0, **unknown):
        super().__init__(weights, uniform, **unknown)
        self.virtual_nodes = _int_knob("virtual_nodes", virtual_nodes, 1)
        self._mask = _domain_mask("ring", salt)  # the same layout HashRing(..., salt=salt) uses
        self._host_points: dict[tuple[int, int], list[int]] = {}
        self._rings: dict[tuple[int, ...], HashRing] = {}
        self._points: list[int] = []
        self._owners: list[int] = []
        self._memo: dict[int, int] = {}

    def ring(self, eligible: Sequence[int]) -> HashRing:
        """The ring over ``eligible`` (built on first use, then cached)."""
        members = tuple(eligible)
        ring = self._rings.get(members)
        if ring is None:
            points = {}
            for h in members:
                replicas = max(1, round(self.virtual_nodes * self.weight(h)))
                cached = self._host_points.get((h, replicas))
                if cached is None:
                    cached = self._host_points[h, replicas] = HashRing.member_points(h, replicas, self._mask)
                points[h] = cached
            ring = HashRing.from_points(points)
            if len(self._rings) >= _CACHE_LIMIT:
                del self._rings[next(iter(self._rings))]  # evict the oldest
            self._rings[members] = ring
        return ring

    def pick(self, eligible, active, key):
        if self._changed(eligible):
            ring = self.ring(eligible)
            self._points, self._owners, self._memo = ring.points, ring.owners, {}
        host = self._memo.get(key)
        if host is None:
            points = self._points
            i = bisect_left(points, _key_hash(key))  # first point >= hash, wrapping
            host = self._owners[i] if i < len(points) else self._owners[0]
            if len(self._memo) < _MEMO_LIMIT:
                self._memo[key] = host
        return host


class Maglev(Policy):
    """Envoy ``MAGLEV``: a Maglev lookup table over the eligible hosts (Eisenbud et al. 2016).

    Table population uses per-host ``offset`` and ``skip`` from two independent hashes
    of the host id (see :class:`simulator.balancing.hashing.MaglevTable`); a request
    goes to ``table[hash64(key) mod table_size]``. With equal weights each host owns
    ``floor(M/N)`` or ``ceil(M/N)`` slots; unequal weights use Envoy's weighted
    population (slot counts proportional to weight). Removing a host moves its own slots
    plus a small extra (< 1 % of the table at N = 10, golden G4.4). Tables are built only
    when the eligible set changes and the last few are cached per eligible set.

    Knobs:
        table_size: Table size ``M``; must be prime (default 65537, as Envoy; Envoy's
            maximum is 5000011). Non-prime sizes raise ValueError.
        salt: Integer selecting independent permutations (default 0).
    """

    name = "maglev"
    knobs = ("table_size", "salt")

    def __init__(self, weights, uniform, *, table_size: int = 65537, salt: int = 0, **unknown):
        super().__init__(weights, uniform, **unknown)
        self.table_size = _int_knob("table_size", table_size, 2)
        if not is_prime(table_size):
            raise ValueError(f"maglev table_size must be prime (e.g. 65537), got {table_size}")
        _salt_mask(salt)  # validate now rather than at the first pick
        self.salt = salt
        self._tables: dict[tuple[int, ...], MaglevTable] = {}
        self._table: list[int] = []
        self._memo: dict[int, int] = {}

    def table(self, eligible: Sequence[int]) -> MaglevTable:
        """The lookup table over ``eligible`` (built on first use, then cached)."""
        members = tuple(eligible)
        table = self._tables.get(members)
        if table is None:
            weights = [self.weight(h) for h in members]
            table = MaglevTable(members, self.table_size, weights=weights, salt=self.salt)
            if len(self._tables) >= _CACHE_LIMIT:
                del self._tables[next(iter(self._tables))]
            self._tables[members] = table
        return table

    def pick(self, eligible, active, key):
        if self._changed(eligible):
            self._table, self._memo = self.table(eligible).table, {}
        host = self._memo.get(key)
        if host is None:
            host = self._table[_key_hash(key) % self.table_size]
            if len(self._memo) < _MEMO_LIMIT:
                self._memo[key] = host
        return host


POLICIES: dict[str, type[Policy]] = {
    cls.name: cls for cls in (RoundRobin, Random, LeastConnections, LeastRequest, RingHash, Maglev)
}


def make_policy(name: str, weights: Sequence[float], uniform: Callable[[], float], **knobs) -> Policy:
    """Build the policy registered as ``name`` in :data:`POLICIES`.

    Raises:
        ValueError: For an unknown policy name, an unknown knob or an invalid value.
    """
    try:
        cls = POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown load-balancing policy {name!r}; known: {', '.join(POLICIES)}") from None
    return cls(weights, uniform, **knobs)
