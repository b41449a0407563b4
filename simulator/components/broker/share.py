"""A Kafka share group (KIP-932): a work queue whose members compete for every message.

Any free member takes the next available message of any partition (it goes round the
partitions; with one partition the queue is first come first served): the broker's
consumers are then a multi-server queue, an M/M/c when messages arrive as a Poisson
stream and the consumer's work is exponential (its message wait follows Erlang C).
No order is kept.

A taken message is *acquired* (locked) by its member, which acknowledges it when the
consumer call succeeds: that is the only commit, so there is no uncommitted tail and a
crash replays nothing that was processed. A failed call releases the message at once for
any member to take again (a redelivery), until it was delivered ``max_deliveries`` times;
then it goes to the dead-letter topic (or is lost, ``failed``). A member whose replica
crashes holds its message until its lock expires (``lock_duration`` after it took it) or
its session does (``session_timeout`` after the crash), whichever comes first; then the
message is available again. If the call had in fact finished before the crash, the
message is processed twice (counted ``duplicated``), unless the group is idempotent
(``idempotency``, :mod:`.dedupe`): then a message whose id the dedupe table holds is
acknowledged without a consumer call, and of two copies processed at once only the first
to commit is applied. A member whose replica stops cleanly (a ``stop`` fault) lets its
call in flight finish and acknowledges it; if that call fails, it releases the message at
once for another member (no ``lock_duration`` wait), and
it takes no new message. Share groups never rebalance.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Generator

from ...core.request import OK
from .members import Group, Member


class Slot:
    """The share group's state of one partition (a :class:`~.log.Reader`).

    ``next`` — the first offset never taken; ``available`` — offsets released for another
    delivery (taken first); ``acquired`` — offset → (member, when taken); ``deliveries`` —
    how often each unacknowledged offset was delivered; ``processed`` — unacknowledged
    offsets whose call did succeed (their member died before acknowledging); ``gone`` —
    acquired offsets deleted meanwhile, and why.
    """

    __slots__ = ("group", "partition", "next", "available", "acquired", "deliveries", "processed", "gone")

    def __init__(self, group: "ShareGroup", partition):
        self.group = group
        self.partition = partition
        self.next = 0
        self.available: deque[int] = deque()
        self.acquired: dict[int, tuple[Member, float]] = {}
        self.deliveries: dict[int, int] = {}
        self.processed: set[int] = set()
        self.gone: dict[int, str] = {}

    # -- the Reader protocol -------------------------------------------------------------------
    def front(self) -> int:
        return self.next

    def keep_from(self) -> int:
        keep = self.next
        if self.acquired:
            keep = min(keep, min(self.acquired))
        if self.available:
            keep = min(keep, min(self.available))
        return keep

    def visible(self, count: int) -> None:
        self.group.ledger.grow(count)
        for _ in range(count):
            if not self.group.wake_one():
                break

    def deleted(self, messages, reason: str, now: float) -> None:
        ledger, upto = self.group.ledger, messages[-1].offset + 1
        released = set(self.available)
        for message in messages:
            offset = message.offset
            if offset in self.acquired:
                self.gone[offset] = reason  # settled when its member is done with it
            elif (offset >= self.next or offset in released) and offset not in self.processed:
                ledger.lose(reason)
                ledger.waited(now - message.t_produce)
        kept = deque(o for o in self.available if o >= upto)
        ledger.grow(-(len(self.available) - len(kept)) - max(0, upto - self.next))
        for offset in self.available:
            if offset < upto:
                self.deliveries.pop(offset, None)
                self.processed.discard(offset)
        self.available = kept
        self.next = max(self.next, upto)

    def truncated(self, count: int, reason: str) -> None:
        self.group.ledger.lose(reason, count)

    def leader_changed(self) -> None:
        while self.group.wake_one():
            pass

    def ready(self) -> bool:
        p = self.partition
        return p.leader is not None and (bool(self.available) or self.next < p.hw)


class ShareGroup(Group):
    """A share group (module docstring)."""

    def __init__(self, broker, topic, name, spec, ledger):
        super().__init__(broker, topic, name, spec, ledger)
        self.slots = [Slot(self, p) for p in topic.partitions]
        for slot in self.slots:
            slot.partition.readers.append(slot)
        self.waiting: deque[Member] = deque()  # idle members, longest idle first

    def wake_one(self) -> bool:
        """Wake the member idle longest; ``False`` when none is."""
        while self.waiting:
            member = self.waiting.popleft()
            if member.alive and member.wake is not None and not member.wake.triggered:
                member.wake.succeed()
                return True
        return False

    def died(self, member: Member) -> None:
        pass  # its message is released by the timer its loop sets (see _handle)

    # -- the member's loop ---------------------------------------------------------------------
    def run(self, member: Member) -> Generator[Any, Any, None]:
        while member.alive:
            taken = self._take(member)
            if taken is None:
                self.waiting.append(member)
                yield from self.idle(member)
                continue
            yield from self._handle(member, *taken)

    def _take(self, member: Member) -> tuple[Slot, int, bool] | None:
        slots = self.slots
        n = len(slots)
        for k in range(n):
            slot = slots[(member.turn + k) % n]
            if slot.ready():
                member.turn = (member.turn + k + 1) % n
                if slot.available:
                    offset = slot.available.popleft()
                else:
                    offset = slot.next
                    slot.next += 1
                    if slot.partition.waiters:
                        slot.partition.room_freed()
                delivered = slot.deliveries.get(offset, 0)
                slot.deliveries[offset] = delivered + 1
                slot.acquired[offset] = (member, self.env.now)
                self.ledger.grow(-1)
                return slot, offset, delivered > 0
        return None

    def _handle(self, member: Member, slot: Slot, offset: int, again: bool) -> Generator[Any, Any, None]:
        env, ledger = self.env, self.ledger
        message = slot.partition.message(offset)
        ledger.waited(env.now - message.t_produce)
        if self.already_applied(message, offset not in slot.processed):
            self._settle(slot, offset)
            return
        started = env.now
        status = yield from self.deliver(member, message, again)
        if status == OK:
            if self.rolled_back(message, offset not in slot.processed):
                pass
            elif offset in slot.processed:
                ledger.count("duplicated")
            else:
                ledger.processed(message, slot.partition.index, started, env.now, member.code, slot.deliveries[offset])
            if not member.alive and not member.left:  # done, but it cannot acknowledge: the lock will expire
                slot.processed.add(offset)
                self._expire(member, slot, offset)
                return
            self._settle(slot, offset)
        elif member.left:  # leaving cleanly: give the message back now
            self._release(slot, offset)
        elif not member.alive:
            self._expire(member, slot, offset)
        elif offset not in slot.gone and slot.deliveries[offset] >= self.spec.max_deliveries:
            yield from self.exhausted(message, offset not in slot.processed)
            self._settle(slot, offset)
        else:
            self._release(slot, offset)  # deleted meanwhile: lost there

    def _settle(self, slot: Slot, offset: int) -> None:
        """Acknowledged (processed, or dead-lettered): the message leaves the group."""
        del slot.acquired[offset]
        slot.deliveries.pop(offset, None)
        slot.processed.discard(offset)
        slot.gone.pop(offset, None)
        slot.partition.trim()

    def _release(self, slot: Slot, offset: int) -> None:
        """Back to the queue for another delivery (or, deleted meanwhile, gone for good)."""
        del slot.acquired[offset]
        reason = slot.gone.pop(offset, None)
        if reason is not None:
            if offset not in slot.processed:
                self.ledger.lose(reason)
            slot.deliveries.pop(offset, None)
            slot.processed.discard(offset)
            slot.partition.trim()
            return
        slot.available.append(offset)
        self.ledger.grow(1)
        self.wake_one()

    def _expire(self, member: Member, slot: Slot, offset: int) -> None:
        """*member* died holding *offset*: release it when its lock or its session expires."""
        taken = slot.acquired[offset][1]
        spec = self.spec
        at = min(taken + spec.lock_duration, member.died_at + spec.session_timeout)
        self.later(max(0.0, at - self.env.now), lambda: self._release(slot, offset))

    # -- what the broker reads -----------------------------------------------------------------
    def partition_lag(self, now: float) -> list[tuple[int, int, float]]:
        rows = []
        for slot in self.slots:
            p = slot.partition
            oldest = [o for o in slot.available if o not in slot.processed]
            lag = len(slot.available)
            if slot.next < p.hw:
                lag += p.hw - slot.next
                oldest.append(slot.next)
            rows.append((p.index, lag, now - p.message(min(oldest)).t_produce if oldest else 0.0))
        return rows

    def in_flight(self) -> int:
        return sum(1 for s in self.slots for o in s.acquired if o not in s.processed)

    def backlog(self) -> int:
        return sum(self.counted_end(s.partition) - s.next + sum(1 for o in s.available if o not in s.processed)
                   for s in self.slots)
