"""A Kafka consumer group: each partition read by one member at a time, offsets committed.

**Assignment.** The group's live members (sorted by id) get the topic's partitions from
the ``assignment`` strategy (:data:`simulator.messaging.ASSIGNORS`: ``range`` gives
P = 12, C = 5 the shares 3, 3, 2, 2, 2; a member beyond the partition count idles).
A member reads its partitions in turn, one message at a time; each partition is read in
offset order, so messages of one key (one partition) are processed in produce order.

**Commits.** ``at_least_once``: a member commits the offsets it has processed when it
polls and ``auto_commit_interval`` has passed since its last commit (an idle member too);
a crash replays what it processed since then (duplicates, golden G8.2). ``at_most_once``: the
offset is committed as the message is taken, so a crash loses the message in flight.

**Rebalances** (eager, as Kafka's classic protocol). A member whose replica crashed stops
at once; the group notices ``session_timeout`` later (lag piles up meanwhile on its
partitions: golden G8.3) and reassigns every partition among the live members. Members of a
restarted replica join at once, which rebalances too. A rebalance drops every member
whose replica is down (it could not rejoin), commits what live members processed of the
partitions they are revoked, and a partition's new reader starts from the committed
offset, after the old reader (if alive) finished the message it holds. Rebalances that
fall at the same instant are one. The first assignment is not counted.

**Clean leaves** (a ``stop`` fault). A member whose replica stops cleanly sends LeaveGroup:
the group rebalances at that instant (no ``session_timeout`` wait) and the member commits
every partition it is revoked as it gives it up, a held one once the call in flight there
has finished (the call is not interrupted). So nothing it processed is replayed: a clean
leave makes no duplicates. A call that fails meanwhile is not retried and not counted
failed: its message is left uncommitted, for the partition's next reader (at most once it
is lost, ``at_most_once``: its offset was committed when it was taken).

**Failures.** A failed consumer call is retried by the same member at once, up to
``max_deliveries`` calls in all (the count starts again after a rebalance); then the
message goes to the dead-letter topic (or is lost, ``failed``) and the member moves on.

**Idempotency.** With ``idempotency``, a message whose id the group's dedupe table holds
is acknowledged without a consumer call (:mod:`.dedupe`): a producer's duplicate copy, or a
replay after a crash, is not applied twice.
"""

from __future__ import annotations

from typing import Any, Generator

from ...core.request import OK
from ...messaging import assign
from .members import Group, Member


class Cursor:
    """The group's position in one partition (a :class:`~.log.Reader`).

    ``committed`` — where a new reader starts; ``position`` — the next offset to take;
    ``done`` — every offset below it was handled once (processed, dead-lettered or lost);
    ``taken`` — every offset below it was delivered at least once; ``owner`` — the member
    assigned to it; ``holder`` — the member handling its message at offset ``held``, if any.
    """

    __slots__ = ("group", "partition", "committed", "position", "done", "taken", "owner", "holder", "held", "first",
                 "gone")

    def __init__(self, group: "ConsumerGroup", partition):
        self.group = group
        self.partition = partition
        self.committed = self.position = self.done = self.taken = 0
        self.owner: Member | None = None
        self.holder: Member | None = None
        self.held = -1
        self.first = False  # the message held is handled for the first time
        self.gone: tuple[int, str] | None = None  # deleted up to here (and why) while a first handling was held

    # -- the Reader protocol -------------------------------------------------------------------
    def keep_from(self) -> int:
        return self.committed

    def front(self) -> int:
        return self.position

    def visible(self, count: int) -> None:
        self.group.ledger.grow(count)
        if self.holder is None:
            Group.wake(self.owner)

    def deleted(self, messages, reason: str, now: float) -> None:
        ledger, upto = self.group.ledger, messages[-1].offset + 1
        held = self.held if self.holder is not None and self.first else -1
        for message in messages:
            if message.offset >= self.done and message.offset != held:
                ledger.lose(reason)
                ledger.waited(now - message.t_produce)
        self.move(max(self.position, upto))
        self.committed = max(self.committed, upto)
        self.taken = max(self.taken, upto)
        if messages[0].offset <= held < upto:  # `done` may pass it only once it is settled
            self.gone = (upto, reason if self.gone is None else self.gone[1])
        else:
            self.done = max(self.done, upto)

    def truncated(self, count: int, reason: str) -> None:
        self.group.ledger.lose(reason, count)

    def leader_changed(self) -> None:
        if self.holder is None:
            Group.wake(self.owner)

    # -- moving ----------------------------------------------------------------------------------
    def move(self, position: int) -> None:
        """Set the next offset to take (the group's lag follows; blocked producers may get room)."""
        self.group.ledger.grow(self.position - position)
        self.position = position
        if self.partition.waiters:
            self.partition.room_freed()

    def commit(self, offset: int) -> None:
        if offset > self.committed:
            self.committed = offset
            self.partition.trim()

    def available(self, member: Member) -> bool:
        p = self.partition
        return self.owner is member and self.holder is None and self.position < p.hw and p.leader is not None


class ConsumerGroup(Group):
    """A consumer group (module docstring)."""

    def __init__(self, broker, topic, name, spec, ledger):
        super().__init__(broker, topic, name, spec, ledger)
        self.cursors = [Cursor(self, p) for p in topic.partitions]
        for cursor in self.cursors:
            cursor.partition.readers.append(cursor)
        self.rebalancing = False
        self.at_least_once = spec.delivery == "at_least_once"

    # -- membership ----------------------------------------------------------------------------
    def joined(self, initial: bool) -> None:
        if initial:
            self._rebalance(count=False)
        else:
            self._soon()

    def died(self, member: Member) -> None:
        def expire() -> None:
            if self.members.get(member.id) is member:  # not dropped by a rebalance meanwhile
                self._soon()

        self.later(self.spec.session_timeout, expire)

    def leave(self, member: Member) -> None:
        self._soon()

    def _soon(self) -> None:
        """Rebalance at this instant, once however many joins and expiries fall on it."""
        if not self.rebalancing:
            self.rebalancing = True
            self.later(0.0, self._rebalance)

    def _rebalance(self, count: bool = True) -> None:
        self.rebalancing = False
        self.members = {i: m for i, m in sorted(self.members.items()) if m.alive}
        if count:
            self.ledger.count("rebalances")
        plan = assign(self.spec.assignment, len(self.cursors), list(self.members))
        for member_id, member in self.members.items():
            member.cursors = [self.cursors[p] for p in plan.get(member_id, [])]
            member.turn = 0
        owners: list[Member | None] = [None] * len(self.cursors)
        for member_id, partitions in plan.items():
            for p in partitions:
                owners[p] = self.members[member_id]
        for cursor, owner in zip(self.cursors, owners):
            old, cursor.owner = cursor.owner, owner
            if cursor.holder is None:  # a held partition is settled when its message is done (release)
                self._hand_over(cursor, old)
            Group.wake(owner)

    def _hand_over(self, cursor: Cursor, old: Member | None) -> None:
        """*old* gives *cursor* up: a live (or cleanly leaving) reader commits what it processed, a crashed
        one's progress is lost."""
        if old is not None and (old.alive or old.left):  # eager: every revoked partition is committed
            cursor.commit(cursor.position)
        elif old is not None or cursor.owner is not None:
            cursor.move(max(cursor.committed, cursor.partition.start))

    # -- the member's loop ---------------------------------------------------------------------
    def run(self, member: Member) -> Generator[Any, Any, None]:
        env = self.env
        interval = self.spec.auto_commit_interval
        member.next_commit = env.now + interval
        while member.alive:
            if self.at_least_once and env.now >= member.next_commit:
                self._commit(member)
                member.next_commit = env.now + interval
            cursor = self._next(member)
            if cursor is None:
                due = member.next_commit if self.at_least_once and self._uncommitted(member) else None
                yield from self.idle(member, due)
                continue
            yield from self._handle(member, cursor)

    def _commit(self, member: Member) -> None:
        for cursor in member.cursors:
            if cursor.owner is member and cursor.holder is None:
                cursor.commit(cursor.position)

    def _uncommitted(self, member: Member) -> bool:
        return any(c.owner is member and c.position > c.committed for c in member.cursors)

    def _next(self, member: Member) -> Cursor | None:
        cursors = member.cursors
        n = len(cursors)
        for k in range(n):
            cursor = cursors[(member.turn + k) % n]
            if cursor.available(member):
                member.turn = (member.turn + k + 1) % n
                return cursor
        return None

    def _handle(self, member: Member, cursor: Cursor) -> Generator[Any, Any, None]:
        env, ledger, spec = self.env, self.ledger, self.spec
        partition = cursor.partition
        offset = cursor.position
        message = partition.message(offset)
        first = cursor.first = offset >= cursor.done
        again = offset < cursor.taken
        cursor.holder, cursor.held = member, offset
        cursor.move(offset + 1)
        cursor.taken = max(cursor.taken, offset + 1)
        ledger.waited(env.now - message.t_produce)
        if not self.at_least_once:
            cursor.commit(offset + 1)
        if self.already_applied(message, first):
            cursor.done = max(cursor.done, offset + 1)
            self._release(member, cursor)
            return
        deliveries = 0
        status = None
        while True:
            deliveries += 1
            started = env.now
            status = yield from self.deliver(member, message, again or deliveries > 1)
            if status == OK or not member.alive or deliveries >= spec.max_deliveries:
                break
        handled = True
        if status == OK:
            if self.rolled_back(message, first):
                pass
            elif first:
                ledger.processed(message, partition.index, started, env.now, member.code, deliveries)
            else:
                ledger.count("duplicated")
        elif member.alive:
            yield from self.exhausted(message, first)
        elif not self.at_least_once:
            if first:
                ledger.lose("at_most_once")
        else:
            handled = False  # redelivered by the partition's next reader
        gone, cursor.gone = cursor.gone, None
        if gone is not None:  # deleted while held: nobody can take it again
            if not handled:
                ledger.lose(gone[1])
            cursor.done = max(cursor.done, gone[0])
        elif handled:
            cursor.done = max(cursor.done, offset + 1)
        elif member.left:  # abandoned by a member leaving cleanly: its commit must stop before it
            cursor.move(offset)
        self._release(member, cursor)

    def _release(self, member: Member, cursor: Cursor) -> None:
        """*member* is done with the message it held of *cursor*."""
        cursor.holder, cursor.held = None, -1
        cursor.first = False
        if cursor.owner is not member:  # revoked meanwhile: settle the hand-over now
            self._hand_over(cursor, member)
            Group.wake(cursor.owner)

    # -- what the broker reads -----------------------------------------------------------------
    def partition_lag(self, now: float) -> list[tuple[int, int, float]]:
        rows = []
        for cursor in self.cursors:
            p = cursor.partition
            if cursor.position < p.hw:
                rows.append((p.index, p.hw - cursor.position, now - p.message(cursor.position).t_produce))
            else:
                rows.append((p.index, 0, 0.0))
        return rows

    def in_flight(self) -> int:
        return sum(1 for c in self.cursors if c.holder is not None and c.first)

    def backlog(self) -> int:
        return sum(self.counted_end(c.partition) - c.done for c in self.cursors) - self.in_flight()
