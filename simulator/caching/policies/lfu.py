"""LFU: evict the least frequently used entry (ties: the least recently used), in O(1)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from .base import _SLOT, CachePolicy


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
