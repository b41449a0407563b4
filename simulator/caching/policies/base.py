"""The cache policy contract: the base class every replacement policy extends, and MISS.

:class:`CachePolicy` holds the entries, the expiry clocks (Caffeine ``expireAfterWrite`` /
``expireAfterAccess``) and the counters; a subclass decides only which resident entry a
full cache evicts. The common semantics every policy keeps are in
:mod:`simulator.caching.policies`.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, ClassVar

from ...arguments import integer


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


def _duration(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be None or a non-negative finite number of seconds, "
                         f"got {value!r}")
    return float(value)
