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
"""

from __future__ import annotations

import math
import zlib
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, ClassVar

from ..arguments import integer

__all__ = [
    "MISS", "CachePolicy", "LRUPolicy", "FIFOPolicy", "LFUPolicy", "WTinyLFUPolicy",
    "FrequencySketch", "POLICIES", "make_policy",
]


class _Miss:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISS"

    def __reduce__(self) -> str:  # pickling keeps the singleton (process pools, sweeps)
        return "MISS"


MISS: Any = _Miss()
"""Sentinel returned by :meth:`CachePolicy.get` on a miss (cached values may be ``None``)."""

_INF = math.inf

# Entry layout: a list [value, expires_at, write_deadline, slot]. ``expires_at`` is the
# earlier of the two deadlines (inf without expiry); ``write_deadline`` is kept apart so a
# read can recompute ``expires_at`` under expire-after-access; ``slot`` is policy-specific.
_VALUE, _EXPIRES, _WRITE_DEADLINE, _SLOT = 0, 1, 2, 3


class CachePolicy:
    """A bounded key -> value store with a replacement policy and optional expiry.

    Time ``now`` is simulated seconds, non-decreasing across calls. See the module
    docstring for the semantics shared by all policies.

    Args:
        capacity: Maximum number of resident entries (integer >= 1).
        expire_after_write: Seconds after creation or replacement at which an entry
            expires (finite, >= 0), or ``None`` for no write expiry.
        expire_after_access: Seconds after the last read or write at which an entry
            expires (finite, >= 0), or ``None`` for no access expiry.

    Attributes:
        evictions: Entries removed to make room for a new key (running count).
        expirations: Entries removed because they had expired (running count).
        rejections: Evictions in which an admission policy refused the newcomer (the
            candidate lost to the victim); a subset of ``evictions`` (running count).
    """

    name: ClassVar[str]

    def __init__(self, capacity: int, expire_after_write: float | None = None,
                 expire_after_access: float | None = None) -> None:
        integer("capacity", capacity)
        self.capacity = capacity
        self.expire_after_write = _duration("expire_after_write", expire_after_write)
        self.expire_after_access = _duration("expire_after_access", expire_after_access)
        self.evictions = self.expirations = self.rejections = 0
        self._data: dict = {}
        # Queues ordered by deadline, kept only for the expiry kinds in use: a write queue
        # in last-write order and an access queue in last-touch order. With a fixed T and a
        # non-decreasing clock, queue order is deadline order, so the expired entries of
        # each kind are exactly a prefix of its queue and can be purged from the head.
        self._write_queue: OrderedDict | None = (
            OrderedDict() if self.expire_after_write is not None else None)
        self._access_queue: OrderedDict | None = (
            OrderedDict() if self.expire_after_access is not None else None)
        self._expiring = self._write_queue is not None or self._access_queue is not None

    # -- public interface -----------------------------------------------------------------

    def get(self, key: Hashable, now: float) -> Any:
        """The value cached under ``key``, or :data:`MISS`.

        A hit updates recency/frequency per the policy (and, under expire-after-access,
        pushes the entry's deadline to ``now + T``). An entry whose deadline is ``<= now``
        is removed, counted in ``expirations``, and the call is a miss.
        """
        entry = self._data.get(key)
        if entry is None:
            return MISS
        if now >= entry[_EXPIRES]:
            self._expire(key)
            return MISS
        if self._access_queue is not None:
            self._touch(key, entry, now)
        self._on_hit(key, entry)
        return entry[_VALUE]

    def put(self, key: Hashable, value: Any, now: float) -> int:
        """Insert or replace ``key``; return how many OTHER entries were evicted for capacity.

        Replacing a resident, unexpired key stores ``value``, restarts its write and access
        clocks, counts as a use (see the module docstring) and evicts nothing. A resident
        but expired key is first removed as an expiration, then inserted afresh. Inserting
        into a full cache first purges every expired entry (``expirations``) and only then
        evicts live entries chosen by the policy (``evictions``).
        """
        entry = self._data.get(key)
        if entry is not None:
            if now < entry[_EXPIRES]:
                entry[_VALUE] = value
                if self._expiring:
                    self._rewrite(key, entry, now)
                self._on_replace(key, entry)
                return 0
            self._expire(key)
        if self._expiring:
            if len(self._data) >= self.capacity:
                self._purge(now)
            entry = self._new_entry(key, value, now)
        else:
            entry = [value, _INF, _INF, None]
        return self._insert(key, entry)

    def invalidate(self, key: Hashable) -> bool:
        """Remove ``key`` if present (expired or not); return whether it was. No counter moves."""
        if key not in self._data:
            return False
        self._remove(key)
        return True

    def __len__(self) -> int:
        """Resident entries, including expired ones no call has removed yet."""
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is resident (possibly expired: there is no ``now`` to check
        against). Changes no recency, frequency or counter."""
        return key in self._data

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(capacity={self.capacity}, size={len(self._data)}, "
                f"evictions={self.evictions}, expirations={self.expirations}, "
                f"rejections={self.rejections})")

    # -- policy hooks ---------------------------------------------------------------------

    def _on_hit(self, key: Hashable, entry: list) -> None:
        """Record a read hit on a live entry."""
        raise NotImplementedError

    def _on_replace(self, key: Hashable, entry: list) -> None:
        """Record a write to a live entry (by default the same as a hit)."""
        self._on_hit(key, entry)

    def _insert(self, key: Hashable, entry: list) -> int:
        """Store a key that is not resident, evicting for capacity; return the evictions."""
        raise NotImplementedError

    def _unlink(self, key: Hashable, entry: list) -> None:
        """Drop ``key`` from the policy's own ordering structures (``_data`` is done)."""
        raise NotImplementedError

    # -- shared machinery -----------------------------------------------------------------

    def _remove(self, key: Hashable) -> list:
        """Remove a resident key from every structure and return its entry."""
        entry = self._data.pop(key)
        if self._expiring:
            self._forget(key)
        self._unlink(key, entry)
        return entry

    def _forget(self, key: Hashable) -> None:
        """Drop ``key`` from the expiry queues (called for every removal, incl. evictions)."""
        if self._write_queue is not None:
            del self._write_queue[key]
        if self._access_queue is not None:
            del self._access_queue[key]

    def _expire(self, key: Hashable) -> None:
        self._remove(key)
        self.expirations += 1

    def _new_entry(self, key: Hashable, value: Any, now: float) -> list:
        write_deadline = _INF if self._write_queue is None else now + self.expire_after_write
        expires = write_deadline
        if self._write_queue is not None:
            self._write_queue[key] = None
        if self._access_queue is not None:
            self._access_queue[key] = None
            expires = min(expires, now + self.expire_after_access)
        return [value, expires, write_deadline, None]

    def _rewrite(self, key: Hashable, entry: list, now: float) -> None:
        """Restart both expiry clocks of a live entry that was just replaced."""
        expires = _INF
        if self._write_queue is not None:
            expires = entry[_WRITE_DEADLINE] = now + self.expire_after_write
            self._write_queue.move_to_end(key)
        if self._access_queue is not None:
            expires = min(expires, now + self.expire_after_access)
            self._access_queue.move_to_end(key)
        entry[_EXPIRES] = expires

    def _touch(self, key: Hashable, entry: list, now: float) -> None:
        """Restart the access clock of a live entry that was just read."""
        entry[_EXPIRES] = min(entry[_WRITE_DEADLINE], now + self.expire_after_access)
        self._access_queue.move_to_end(key)

    def _purge(self, now: float) -> None:
        """Remove every expired entry: each is a prefix of the write or the access queue.

        The head of a queue stops the scan once it is live: its deadline of that queue's
        kind is then in the future, and so are those of everything behind it.
        """
        for queue in (self._write_queue, self._access_queue):
            while queue:
                key = next(iter(queue))
                if now < self._data[key][_EXPIRES]:
                    break
                self._expire(key)


class LRUPolicy(CachePolicy):
    """Least recently used: a hit or a write moves the key to the fresh end; evict the stalest."""

    name = "lru"

    def __init__(self, capacity: int, expire_after_write: float | None = None,
                 expire_after_access: float | None = None) -> None:
        super().__init__(capacity, expire_after_write, expire_after_access)
        self._data = OrderedDict()  # recency order: least recently used first

    def get(self, key: Hashable, now: float) -> Any:
        # Inlined base get: this runs once per simulated request.
        entry = self._data.get(key)
        if entry is None:
            return MISS
        if now >= entry[_EXPIRES]:
            self._expire(key)
            return MISS
        if self._access_queue is not None:
            self._touch(key, entry, now)
        self._data.move_to_end(key)
        return entry[_VALUE]

    def _on_hit(self, key: Hashable, entry: list) -> None:
        self._data.move_to_end(key)

    def _insert(self, key: Hashable, entry: list) -> int:
        data = self._data
        evicted = 0
        while len(data) >= self.capacity:
            victim, _ = data.popitem(last=False)
            if self._expiring:
                self._forget(victim)
            evicted += 1
        data[key] = entry
        self.evictions += evicted
        return evicted

    def _unlink(self, key: Hashable, entry: list) -> None:
        pass  # the OrderedDict is _data itself


class FIFOPolicy(LRUPolicy):
    """First in, first out: evict the oldest insertion; hits and replacements do not reorder."""

    name = "fifo"

    def get(self, key: Hashable, now: float) -> Any:
        entry = self._data.get(key)
        if entry is None:
            return MISS
        if now >= entry[_EXPIRES]:
            self._expire(key)
            return MISS
        if self._access_queue is not None:
            self._touch(key, entry, now)
        return entry[_VALUE]

    def _on_hit(self, key: Hashable, entry: list) -> None:
        pass


class _Bucket:
    """All resident keys used exactly ``count`` times, least recently used first."""

    __slots__ = ("count", "keys", "prev", "next")

    def __init__(self, count: int) -> None:
        self.count = count
        self.keys: OrderedDict = OrderedDict()
        self.prev: _Bucket = self
        self.next: _Bucket = self


class LFUPolicy(CachePolicy):
    """Least frequently used, with frequencies counted while resident (in-cache LFU).

    A newly inserted key has count 1; every hit or replacement adds 1. The victim is a key
    with the smallest count, and among those the least recently used one. A key that
    leaves (evicted, expired, invalidated) forgets its count. Every operation is O(1): keys
    live in per-count buckets kept in a doubly linked list in increasing count order
    (Shah, Mitra, Matani, "An O(1) algorithm for implementing the LFU cache eviction
    scheme", 2010).
    """

    name = "lfu"

    def __init__(self, capacity: int, expire_after_write: float | None = None,
                 expire_after_access: float | None = None) -> None:
        super().__init__(capacity, expire_after_write, expire_after_access)
        self._head = _Bucket(0)  # sentinel: _head.next is the least-count bucket

    def _on_hit(self, key: Hashable, entry: list) -> None:
        bucket = entry[_SLOT]
        following = bucket.next
        if following.count != bucket.count + 1:
            following = self._bucket_after(bucket, bucket.count + 1)
        del bucket.keys[key]
        following.keys[key] = None
        entry[_SLOT] = following
        if not bucket.keys:
            self._drop(bucket)

    def _insert(self, key: Hashable, entry: list) -> int:
        data = self._data
        evicted = 0
        while len(data) >= self.capacity:
            bucket = self._head.next
            victim, _ = bucket.keys.popitem(last=False)
            if not bucket.keys:
                self._drop(bucket)
            del data[victim]
            if self._expiring:
                self._forget(victim)
            evicted += 1
        first = self._head.next
        if first.count != 1:
            first = self._bucket_after(self._head, 1)
        first.keys[key] = None
        entry[_SLOT] = first
        data[key] = entry
        self.evictions += evicted
        return evicted

    def _unlink(self, key: Hashable, entry: list) -> None:
        bucket = entry[_SLOT]
        del bucket.keys[key]
        if not bucket.keys:
            self._drop(bucket)

    @staticmethod
    def _bucket_after(bucket: _Bucket, count: int) -> _Bucket:
        new = _Bucket(count)
        new.prev, new.next = bucket, bucket.next
        bucket.next.prev = new
        bucket.next = new
        return new

    @staticmethod
    def _drop(bucket: _Bucket) -> None:
        bucket.prev.next = bucket.next
        bucket.next.prev = bucket.prev


_MASK64 = (1 << 64) - 1
# Odd 64-bit multipliers for multiply-shift hashing (Dietzfelbinger et al. 1997), one per
# sketch row; the first is the golden-ratio constant, the others are splitmix64's.
_ROW_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93)


def _key_bits(key: Hashable) -> int:
    """A deterministic 64-bit integer for ``key`` (see the module docstring on keys)."""
    if type(key) is int:
        return key & _MASK64
    if isinstance(key, str):
        return zlib.crc32(key.encode("utf-8", "surrogatepass"))
    if isinstance(key, (bytes, bytearray)):
        return zlib.crc32(key)
    return hash(key) & _MASK64


class FrequencySketch:
    """A 4-bit count-min sketch with periodic halving (TinyLFU's approximate frequency).

    Four rows of saturating 4-bit counters (0..15), each row indexed by a multiply-shift hash
    of the key. :meth:`increment` adds 1 to the key's counter in every row (saturating);
    :meth:`frequency` is the minimum over the rows, which never underestimates the count
    since the last reset (count-min). After ``sample_size`` increments that changed at least
    one counter, every counter is halved (integer shift) and the increment tally is halved:
    the "reset" that ages old popularity (Einziger, Friedman, Manes 2017). No doorkeeper.

    Args:
        capacity: The cache size it serves (>= 1); each row has the next power of two
            >= ``4 * capacity`` counters (at least 16), and ``sample_size = 10 * capacity``.
    """

    __slots__ = ("width", "sample_size", "additions", "resets", "_table", "_shift", "_offsets")

    def __init__(self, capacity: int) -> None:
        integer("capacity", capacity)
        bits = max(4, (4 * capacity - 1).bit_length())
        self.width = 1 << bits
        self.sample_size = 10 * capacity
        self.additions = 0
        self.resets = 0
        self._shift = 64 - bits
        self._offsets = tuple(row * self.width for row in range(4))
        self._table = [0] * (4 * self.width)  # the four rows laid end to end

    def _indexes(self, key: Hashable) -> tuple[int, int, int, int]:
        x, shift = _key_bits(key), self._shift
        a, b, c, d = _ROW_MULTIPLIERS
        o0, o1, o2, o3 = self._offsets
        return (o0 + ((x * a & _MASK64) >> shift), o1 + ((x * b & _MASK64) >> shift),
                o2 + ((x * c & _MASK64) >> shift), o3 + ((x * d & _MASK64) >> shift))

    def increment(self, key: Hashable) -> None:
        """Count one occurrence of ``key``; may trigger the halving reset."""
        table = self._table
        added = False
        for i in self._indexes(key):
            count = table[i]
            if count < 15:
                table[i] = count + 1
                added = True
        if added:
            self.additions += 1
            if self.additions >= self.sample_size:
                self._reset()

    def frequency(self, key: Hashable) -> int:
        """Estimated occurrences of ``key`` (0..15), aged by the resets."""
        table = self._table
        i0, i1, i2, i3 = self._indexes(key)
        return min(table[i0], table[i1], table[i2], table[i3])

    def _reset(self) -> None:
        self._table = [count >> 1 for count in self._table]
        self.additions //= 2
        self.resets += 1


# Segment tags stored in an entry's slot.
_WINDOW, _PROBATION, _PROTECTED = 0, 1, 2


class WTinyLFUPolicy(CachePolicy):
    """W-TinyLFU as in Caffeine (Einziger, Friedman, Manes, ACM ToS 2017), fixed window.

    Layout: a **window** LRU of ``capacity - floor(0.99 * capacity)`` entries (1 %, at least
    1) in front of a **main** SLRU of ``floor(0.99 * capacity)`` entries, split into a
    **protected** segment of at most ``floor(0.8 * main)`` and a **probation** segment
    holding the rest. The window size is fixed: Caffeine's hill climber is not modelled.

    * Every :meth:`get` (hit or miss) counts the key in a :class:`FrequencySketch`;
      :meth:`put` does not, so the usual get-miss-then-put counts each request once.
    * A new key enters the window's fresh end. When the window overflows, its least
      recently used entry (the *candidate*) moves to probation if main has room; otherwise
      it competes with probation's least recently used entry (the *victim*): the candidate
      is admitted (and the victim evicted) only if its estimated frequency is strictly
      higher, else the candidate itself is evicted. Either loser counts as one eviction
      (and in the value ``put`` returns): both were resident, and Caffeine counts both as
      evictions. A candidate that loses also counts in ``rejections`` (admission refused
      it). Caffeine's random admission of warm candidates (a defence against hash
      flooding) is omitted to stay deterministic.
    * A hit in the window or in protected refreshes recency there; a hit in probation
      promotes the entry to protected, demoting protected's least recently used entry to
      probation's fresh end if protected is over its size.
    """

    name = "tinylfu"

    def __init__(self, capacity: int, expire_after_write: float | None = None,
                 expire_after_access: float | None = None) -> None:
        super().__init__(capacity, expire_after_write, expire_after_access)
        # Integer arithmetic: 0.99 * 100 in floating point is not reliably 99.
        self.main_capacity = capacity * 99 // 100
        self.window_capacity = capacity - self.main_capacity
        self.protected_capacity = self.main_capacity * 80 // 100
        self.sketch = FrequencySketch(capacity)
        self._window: OrderedDict = OrderedDict()
        self._probation: OrderedDict = OrderedDict()
        self._protected: OrderedDict = OrderedDict()
        self._segments = (self._window, self._probation, self._protected)

    def get(self, key: Hashable, now: float) -> Any:
        self.sketch.increment(key)  # every look-up counts, hit or miss
        return super().get(key, now)

    def _on_hit(self, key: Hashable, entry: list) -> None:
        segment = entry[_SLOT]
        if segment == _PROBATION:
            del self._probation[key]
            protected = self._protected
            protected[key] = None
            entry[_SLOT] = _PROTECTED
            if len(protected) > self.protected_capacity:
                demoted, _ = protected.popitem(last=False)
                self._probation[demoted] = None
                self._data[demoted][_SLOT] = _PROBATION
        else:
            self._segments[segment].move_to_end(key)

    def _insert(self, key: Hashable, entry: list) -> int:
        window = self._window
        entry[_SLOT] = _WINDOW
        self._data[key] = entry
        window[key] = None
        if len(window) <= self.window_capacity:
            return 0
        candidate, _ = window.popitem(last=False)
        probation = self._probation
        if len(probation) + len(self._protected) < self.main_capacity:
            probation[candidate] = None
            self._data[candidate][_SLOT] = _PROBATION
            return 0
        # Main is full and protected holds at most protected_capacity < main_capacity, so
        # probation is empty only when main_capacity == 0 (capacity 1): then no contest.
        refused = True
        if probation:
            victim = next(iter(probation))
            if self.sketch.frequency(candidate) > self.sketch.frequency(victim):
                del probation[victim]
                probation[candidate] = None
                self._data[candidate][_SLOT] = _PROBATION
                candidate, refused = victim, False
        # ``candidate`` is now the loser.
        self.rejections += refused
        del self._data[candidate]
        if self._expiring:
            self._forget(candidate)
        self.evictions += 1
        return 1

    def _unlink(self, key: Hashable, entry: list) -> None:
        del self._segments[entry[_SLOT]][key]


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


def _duration(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be None or a non-negative finite number of seconds, "
                         f"got {value!r}")
    return float(value)
