"""An idempotent consumer's dedupe table: the message ids it processed, each kept ``ttl`` after.

The consumer writes a message's id in the same transaction as the message's effect (its
read model): the id is there exactly when the effect is. A delivery first looks its id
up: found and not expired, the consumer's effect is already applied and the message is
acknowledged without calling it. Two deliveries of one id processed at the same time (two
members of a share group) both pass the look-up; the second transaction to commit finds
the id written (a unique key) and is rolled back: its effect is not applied either
(:meth:`DedupeTable.applied` returns ``False``). Golden G11.2: replaying 10⁴ events with
5 % duplicates leaves each event applied once and 10⁴ ids in the table.

Expiry is lazy: an id is gone from the moment its ``ttl`` has passed (a look-up then
misses), and the table's size counts only live ids (``size(now)``); ``largest`` is the
size at its maximum. Memory: one entry per live id.
"""

from __future__ import annotations

from collections import deque


class DedupeTable:
    """The ids processed in the last *ttl* seconds."""

    __slots__ = ("ttl", "expiry", "order", "largest")

    def __init__(self, ttl: float):
        self.ttl = ttl
        self.expiry: dict[int, float] = {}  # id -> when it expires
        self.order: deque[tuple[float, int]] = deque()  # (expiry, id) in the order written
        self.largest = 0

    def _expire(self, now: float) -> None:
        expiry, order = self.expiry, self.order
        while order and order[0][0] <= now:
            at, id_ = order.popleft()
            if expiry.get(id_) == at:  # not written again since
                del expiry[id_]

    def seen(self, id_: int, now: float) -> bool:
        """Whether *id_* was processed less than ``ttl`` ago."""
        at = self.expiry.get(id_)
        return at is not None and at > now

    def applied(self, id_: int, now: float) -> bool:
        """Commit the processing of *id_* at *now*: ``False`` (rolled back) when it is there already."""
        self._expire(now)
        if id_ in self.expiry:
            return False
        at = now + self.ttl
        self.expiry[id_] = at
        self.order.append((at, id_))
        if len(self.expiry) > self.largest:
            self.largest = len(self.expiry)
        return True

    def size(self, now: float) -> int:
        """Ids not expired at *now*."""
        self._expire(now)
        return len(self.expiry)
