"""A topic's partitions: ordered logs of messages, their offsets and what readers they have.

A :class:`Partition` stores the messages at offsets ``[start, end)``. ``hw`` (the high
watermark) is the end of what the followers have copied: consumers read below it only;
``[hw, end)`` waits ``replication_lag`` to be copied. Offsets only grow, except when a
leader dies before its followers copied its tail: that tail is cut (``end`` falls back to
``hw``) and its offsets are used again, as Kafka truncates a log to the new leader's.

A message leaves the partition (``start`` moves) when every group is past it (committed
or acknowledged: :meth:`Partition.trim`), when it is older than the topic's
``retention``, or when a full partition with ``when_full: drop`` discards its oldest; the
last two are losses for every group that had not taken it yet (:meth:`Partition.delete`).
The partition tells its readers (one per group) what happens to its messages: they
count and wake their members.

**Full.** A partition's *waiting* messages are those the slowest group has not taken yet
(``end`` minus the lowest of the groups' fronts; every stored message when it has no
group). ``max_backlog`` bounds them: taken messages kept only until their commit do not
count, as RabbitMQ's ``max-length`` does not count unacknowledged ones. ``drop``
discards the oldest waiting message (and whatever is stored before it).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .spec import TopicSpec


class Message:
    """One message: its ``offset`` in its partition, when it was produced, the request it carries, its
    ``id`` (the producer's message id: two copies of one message, a producer's retry, share it) and
    whether it is such a second ``copy``."""

    __slots__ = ("offset", "t_produce", "request", "id", "copy")

    def __init__(self, offset: int, t_produce: float, request: Any, id: int, copy: bool = False):
        self.offset = offset
        self.t_produce = t_produce
        self.request = request
        self.id = id
        self.copy = copy


class Reader(Protocol):
    """A group's view of one partition (:mod:`.group`, :mod:`.share`)."""

    def keep_from(self) -> int:
        """The lowest offset the group still needs."""

    def front(self) -> int:
        """The lowest offset the group has never taken (a released message aside)."""

    def visible(self, count: int) -> None:
        """*count* more messages were copied (the high watermark moved)."""

    def deleted(self, messages: list[Message], reason: str, now: float) -> None:
        """Stored *messages* (the oldest ones) were deleted: a loss for those the group had not taken."""

    def truncated(self, count: int, reason: str) -> None:
        """*count* produced messages never became visible (a leader died, or had none): lost for the group."""

    def leader_changed(self) -> None:
        """The partition has a leader again (or lost it)."""


_COMPACT = 4096  # messages gone from the head before the list is compacted


class Partition:
    """Partition ``index`` of a topic: its log, its leader and replicas (broker nodes), its readers."""

    __slots__ = ("topic", "index", "log", "base", "start", "end", "hw", "pending", "replicas", "leader", "epoch",
                 "readers", "waiters", "reserved", "copying")

    def __init__(self, topic: "Topic", index: int, replicas: list[int]):
        self.topic = topic
        self.index = index
        self.log: list[Message] = []
        self.base = 0  # offset of log[0]
        self.start = 0
        self.end = 0
        self.hw = 0
        self.pending: deque[Message] = deque()  # [hw, end): written by the leader, not copied yet
        self.replicas = replicas  # broker nodes holding a copy, preferred leader first
        self.leader: int | None = replicas[0]
        self.epoch = 0  # bumped when a leader dies: what it had not copied is gone
        self.readers: list[Reader] = []
        self.waiters: deque = deque()  # producers blocked for room (when_full: block)
        self.reserved = 0  # room handed to woken producers that have not appended yet
        self.copying = False  # a replication timer is scheduled

    @property
    def stored(self) -> int:
        return self.end - self.start

    @property
    def front(self) -> int:
        """The oldest offset some group has not taken yet (``start`` without groups)."""
        return min((reader.front() for reader in self.readers), default=self.start)

    def message(self, offset: int) -> Message:
        return self.log[offset - self.base]

    def append(self, now: float, request: Any, id: int, copy: bool = False) -> Message:
        message = Message(self.end, now, request, id, copy)
        self.log.append(message)
        self.end += 1
        return message

    def copied(self, count: int) -> None:
        """The high watermark moves by *count* (followers copied them): readers see them."""
        self.hw += count
        for reader in self.readers:
            reader.visible(count)

    # -- leaving the partition ----------------------------------------------------------------
    def _cut_head(self, upto: int) -> list[Message]:
        gone = self.log[self.start - self.base:upto - self.base]
        self.start = upto
        if upto - self.base > _COMPACT and upto - self.base > len(self.log) // 2:
            del self.log[:upto - self.base]
            self.base = upto
        return gone

    def trim(self) -> None:
        """Drop the head every group is past (no loss), and give the room to blocked producers."""
        keep = min((reader.keep_from() for reader in self.readers), default=self.start)
        if keep > self.start:
            self._cut_head(min(keep, self.hw))
            self.room_freed()

    def delete(self, upto: int, reason: str, now: float) -> None:
        """Delete the stored messages below *upto* (retention, dropped; never above the high watermark):
        readers count their losses."""
        gone = self._cut_head(min(upto, self.hw))
        if not gone:
            return
        if self.readers:
            for reader in self.readers:
                reader.deleted(gone, reason, now)
        else:
            self.topic.lost_unread(len(gone), reason)
        self.room_freed()

    def truncate(self) -> list[Message]:
        """The leader died: cut ``[hw, end)``, which no follower has; returns the messages cut."""
        cut = list(self.pending)
        self.pending.clear()
        if cut:
            del self.log[self.hw - self.base:]
            self.end = self.hw
            self.room_freed()
        self.epoch += 1
        return cut

    # -- producers blocked for room -----------------------------------------------------------
    def full(self, limit: int | None) -> bool:
        return limit is not None and (self.end - self.front + self.reserved >= limit or bool(self.waiters))

    def room_freed(self) -> None:
        """Wake blocked producers, first come first served, while there is room for them (readers
        call it when they take a message and producers wait)."""
        limit = self.topic.spec.max_backlog
        waiters = self.waiters
        while waiters and limit is not None and self.end - self.front + self.reserved < limit:
            self.reserved += 1
            waiters.popleft().succeed()


class Topic:
    """A topic: its partitions, its spec, how messages are spread, and what it counted."""

    __slots__ = ("name", "index", "spec", "partitions", "next", "keys", "produced", "rejected", "lost", "arrival",
                 "duplicates")

    def __init__(self, name: str, index: int, spec: "TopicSpec", placement: list[list[int]]):
        self.name = name
        self.index = index
        self.spec = spec
        self.partitions = [Partition(self, p, replicas) for p, replicas in enumerate(placement)]
        self.next = 0  # round robin for messages without a key
        self.keys: dict[int, int] = {}  # key -> partition (murmur2 is computed once per key)
        self.produced = 0
        self.rejected: dict[str, int] = {}
        self.lost: dict[str, int] = {}  # messages of a topic without groups deleted or cut
        self.arrival = None  # set while the retention timer waits for a message to come
        self.duplicates = 0  # second copies a producer's retry wrote (enable_idempotence: false)

    def lost_unread(self, count: int, reason: str) -> None:
        self.lost[reason] = self.lost.get(reason, 0) + count

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1

    @property
    def stored(self) -> int:
        return sum(p.stored for p in self.partitions)
