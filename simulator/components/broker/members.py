"""A group's members: consumers that live on the replicas of the consumer service and pull messages.

Each replica of the group's service runs ``consumers`` members (member ``"RRRRR-SSSSS"``:
replica, slot; Kafka sorts member ids, so the assignors see them replica by replica).
A member is a loop (a SimPy process): take the next message its group lets it take,
call the consumer operation on *its own* replica through the network (the hop from the
broker's zone), wait for the answer, account for it, repeat; with nothing to take it
sleeps until the group wakes it. Consumers pull: a message waits in the broker until a
member is free to take it.

A member lives and dies with its replica (:meth:`~simulator.components.replica.Replica.watch`):
a crash of the replica kills its members at once (a call in flight there is interrupted
and fails), and the group only notices after ``session_timeout`` (a crash sends no
LeaveGroup). A clean stop of the replica (a ``stop`` fault, a rolling deploy) makes its
members *leave*: each takes no new message, lets the call it has in flight finish (nothing
is interrupted) and sends LeaveGroup, so the group acts at once (:meth:`Group.leave`).
When the replica restarts, fresh members join at once.

:class:`Group` holds what both group types share; :mod:`.group` (consumer groups) and
:mod:`.share` (share groups) say which message a member takes and what its outcome does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Generator

import simpy

from ...core.request import ERROR, OK
from .dedupe import DedupeTable
from .ledger import Ledger

if TYPE_CHECKING:
    from .log import Message, Topic
    from .spec import GroupSpec


class Member:
    """One consumer: its ``id``, the ``replica`` it runs on, whether it is ``alive`` (``left``: it
    ended by leaving the group cleanly, not by a crash), and its loop's state."""

    __slots__ = ("id", "code", "replica", "alive", "left", "died_at", "wake", "cursors", "turn", "next_commit")

    def __init__(self, id: str, code: int, replica: Any):
        self.id = id
        self.code = code  # replica index × consumers + slot (the `member` column of the messages table)
        self.replica = replica
        self.alive = True
        self.left = False
        self.died_at = 0.0
        self.wake: simpy.Event | None = None  # set while idle
        self.cursors: list = []  # consumer groups: the partitions assigned to it
        self.turn = 0  # where its round over its partitions resumes
        self.next_commit = 0.0


class Group:
    """Group ``name`` of ``topic`` (*spec*): its members, its ledger and the consumer call."""

    def __init__(self, broker, topic: "Topic", name: str, spec: "GroupSpec", ledger: Ledger):
        self.broker = broker
        self.env = broker.env
        self.topic = topic
        self.name = name
        self.spec = spec
        self.ledger = ledger
        self.members: dict[str, Member] = {}  # members in the group (dead ones until it notices)
        self.consume: Callable[[Any, Any], Generator[Any, Any, int]] | None = None
        self.dedupe = DedupeTable(spec.idempotency.ttl) if spec.idempotency is not None else None
        ledger.idempotent = self.dedupe is not None

    # -- membership ----------------------------------------------------------------------------
    def start(self, service, consume: Callable[[Any, Any], Generator[Any, Any, int]]) -> None:
        """Join ``consumers`` members per replica of *service*; *consume* is ``call(request, replica)``."""
        self.consume = consume
        for replica in service.replicas.replicas:
            replica.watch(self._replica_changed)
            for member in self._members_of(replica):
                self.members[member.id] = member
        self.joined(initial=True)
        for member in self.members.values():
            self.env.process(self.run(member))

    def _members_of(self, replica) -> list[Member]:
        consumers = self.spec.consumers
        return [Member(f"{replica.index:05d}-{slot:05d}", replica.index * consumers + slot, replica)
                for slot in range(consumers)]

    def _replica_changed(self, replica) -> None:
        if replica.up:  # restarted: fresh members join at once
            for member in self._members_of(replica):
                self.members[member.id] = member
                self.env.process(self.run(member))
            self.joined(initial=False)
            return
        now = self.env.now
        for member in list(self.members.values()):
            if member.replica is replica and member.alive:
                member.alive = False
                member.left = replica.graceful
                member.died_at = now
                if member.wake is not None and not member.wake.triggered:
                    member.wake.succeed()  # an idle member ends its loop
                if member.left:
                    self.leave(member)
                else:
                    self.died(member)

    def joined(self, initial: bool) -> None:
        """Members joined (all of them at the start)."""

    def died(self, member: Member) -> None:
        """*member*'s replica crashed; the group has not noticed yet."""

    def leave(self, member: Member) -> None:
        """*member*'s replica stopped cleanly: it sent LeaveGroup (its call in flight, if any, goes on)."""

    def later(self, delay: float, action: Callable[[], None]) -> None:
        """Run *action* after *delay* simulated seconds (a timer, not a process)."""
        self.env.timeout(delay).callbacks.append(lambda _: action())

    # -- the member's loop ---------------------------------------------------------------------
    def run(self, member: Member) -> Generator[Any, Any, None]:
        raise NotImplementedError

    def idle(self, member: Member, until: float | None = None) -> Generator[Any, Any, None]:
        """Sleep until the group wakes *member* (or until *until*, for a commit that falls due)."""
        env = self.env
        member.wake = wake = env.event()
        if until is not None and until > env.now:
            yield wake | env.timeout(until - env.now)
        else:
            yield wake
        member.wake = None

    @staticmethod
    def wake(member: Member | None) -> None:
        if member is not None and member.wake is not None and not member.wake.triggered:
            member.wake.succeed()

    def deliver(self, member: Member, message: "Message", again: bool) -> Generator[Any, Any, int]:
        """One delivery of *message* to *member*'s consumer call (*again*: the group delivered it before)."""
        counts = self.ledger.counts
        counts["delivered"] += 1
        if again:
            counts["redelivered"] += 1
        try:
            return (yield from self.consume(message.request, member.replica))
        except simpy.Interrupt:  # a crash the consumer call did not catch: the delivery failed
            return ERROR

    def already_applied(self, message: "Message", first: bool) -> bool:
        """An idempotent consumer's look-up before a delivery: *message*'s id is in the dedupe table, so it
        is acknowledged without calling the consumer (*first*: the group had not handled this copy)."""
        if self.dedupe is None or not self.dedupe.seen(message.id, self.env.now):
            return False
        self.ledger.count("deduplicated" if first else "replays_deduplicated")
        return True

    def rolled_back(self, message: "Message", first: bool) -> bool:
        """After a successful call: the consumer's transaction writes the id; ``True`` when another delivery
        of the same id committed meanwhile, so that this one is rolled back (counted as deduplicated)."""
        if self.dedupe is None or self.dedupe.applied(message.id, self.env.now):
            return False
        self.ledger.count("deduplicated" if first else "replays_deduplicated")
        return True

    def dead_letter(self, message: "Message") -> Generator[Any, Any, bool]:
        """Move *message* to the dead-letter topic (``True`` when it got there); without one, ``False``."""
        if self.spec.dead_letter is None:
            return False
        status = yield from self.broker.produce_to(self.spec.dead_letter, message.request)
        return status == OK

    def exhausted(self, message: "Message", first: bool) -> Generator[Any, Any, None]:
        """``max_deliveries`` calls failed: to the dead-letter topic, or lost (``failed``)."""
        moved = yield from self.dead_letter(message)
        if first:
            if moved:
                self.ledger.count("dead_lettered")
            else:
                self.ledger.lose("failed")

    # -- what the broker reads at the end ------------------------------------------------------
    def counted_end(self, partition) -> int:
        """The end of the partition's produced messages: ``hw`` under ``acks: all`` (the rest were not acknowledged)."""
        return partition.hw if self.broker.spec.acks == "all" else partition.end

    def partition_lag(self, now: float) -> list[tuple[int, int, float]]:
        """Per partition of the topic: ``(index, messages visible and not taken yet, age of the oldest
        of them)`` (0 and 0.0 when there are none)."""
        raise NotImplementedError

    def lag_now(self, now: float) -> tuple[int, float]:
        """Messages visible and not taken yet, and the age of the oldest of them, over the partitions."""
        rows = self.partition_lag(now)
        return sum(r[1] for r in rows), max((r[2] for r in rows), default=0.0)

    def in_flight(self) -> int:
        raise NotImplementedError

    def backlog(self) -> int:
        raise NotImplementedError
