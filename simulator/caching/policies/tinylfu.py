"""W-TinyLFU (Caffeine): a window LRU, a segmented main space, a frequency sketch admitting."""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from ...arguments import integer
from .base import _SLOT, CachePolicy


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
