"""What a projection's read model holds, per key: the writes acknowledged and not yet applied.

A write is named by its key and its writer (the id of the request that produced it). When
the broker acknowledges a produce, :meth:`ReadModel.acknowledged` puts it in the key's
*missing* writes; when the projector applies the event, :meth:`ReadModel.applied` takes it
out and returns its lag. A read of a key is stale while the key has a missing write
(:meth:`ReadModel.missing`). Writes of one key go to one partition, so they are applied in
acknowledgement order; a writer that wrote the key twice has its writes taken out oldest first.

An apply that matches no missing write is a re-application (a redelivery after a crash or
a failed call) — or, in a race the broker allows, an event applied before its producer heard
the acknowledgement: it is kept as *ahead*, and that acknowledgement, when it comes, finds the
write already applied. Pure Python: no SimPy, no NumPy.
"""

from __future__ import annotations

from collections import deque


class ReadModel:
    """Per key: the missing writes (writer → acknowledgement times, oldest first), the last acknowledgement."""

    __slots__ = ("missing_writes", "ahead", "last_ack", "unapplied")

    def __init__(self) -> None:
        self.missing_writes: dict[int, dict[int, deque[float]]] = {}
        self.ahead: dict[tuple[int, int], int] = {}  # (key, writer) -> applies that came before their ack
        self.last_ack: dict[int, float] = {}
        self.unapplied = 0  # acknowledged writes not applied yet, over all keys

    def acknowledged(self, key: int, writer: int, now: float) -> None:
        """The broker acknowledged *writer*'s write to *key* at *now*."""
        self.last_ack[key] = now
        early = self.ahead.get((key, writer))
        if early:  # its event was applied already
            if early == 1:
                del self.ahead[(key, writer)]
            else:
                self.ahead[(key, writer)] = early - 1
            return
        self.missing_writes.setdefault(key, {}).setdefault(writer, deque()).append(now)
        self.unapplied += 1

    def applied(self, key: int, writer: int, now: float) -> tuple[float | None, bool]:
        """The projector applied *writer*'s event for *key* at *now*: ``(lag, caught_up)``.

        *lag* is now − its acknowledgement (``None`` when no missing write matched: a re-application);
        *caught_up* says that *writer* has no missing write to *key* left (its token is satisfied)."""
        writes = self.missing_writes.get(key)
        times = writes.get(writer) if writes else None
        if not times:
            self.ahead[(key, writer)] = self.ahead.get((key, writer), 0) + 1
            return None, True
        acked = times.popleft()
        self.unapplied -= 1
        if not times:
            del writes[writer]
            if not writes:
                del self.missing_writes[key]
            return now - acked, True
        return now - acked, False

    def missing(self, key: int, writer: int) -> tuple[bool, bool, float | None]:
        """For a read of *key* by *writer*: ``(stale, own, oldest)`` — some acknowledged write is missing,
        one of them is *writer*'s, and when the oldest missing one was acknowledged."""
        writes = self.missing_writes.get(key)
        if not writes:
            return False, False, None
        return True, writer in writes, min(times[0] for times in writes.values())
