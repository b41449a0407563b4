"""Recency-ordered policies: LRU (evict the least recently used) and FIFO (the oldest insert)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from .base import MISS, _EXPIRES, _VALUE, CachePolicy


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
