"""Consumer-group assignors: which member of a group reads which partitions of a topic.

An assignor maps ``(partitions, members)`` to ``{member: [partition, ...]}``; every
partition goes to exactly one member, members are taken in sorted order (as Kafka sorts
member ids), and a member may get none (more members than partitions leaves
``members - partitions`` idle: the group's parallelism is ``min(P, C)``, golden G8.1).

* ``range`` (Kafka's ``RangeAssignor``, per topic): each member gets ``P // C``
  consecutive partitions and the first ``P % C`` members one more: P = 12, C = 5 gives
  ``[3, 3, 2, 2, 2]``.
* ``round_robin`` (``RoundRobinAssignor``): partition *i* goes to member ``i % C``.

A rebalance (a member joins, leaves or is declared dead) reassigns from scratch with the
same function: these are the eager protocols, which revoke every partition first.
"""

from __future__ import annotations

from typing import Callable, Sequence

from ..registry import Registry

__all__ = ["ASSIGNORS", "Assignor", "assign", "range_assignment", "round_robin_assignment"]

Assignor = Callable[[int, Sequence[str]], dict[str, list[int]]]


def _members(members: Sequence[str]) -> list[str]:
    ordered = sorted(members)
    if len(set(ordered)) != len(ordered):
        raise ValueError("member ids must be unique")
    return ordered


def range_assignment(partitions: int, members: Sequence[str]) -> dict[str, list[int]]:
    """Kafka's range assignor for one topic of *partitions* partitions."""
    ordered = _members(members)
    if not ordered:
        return {}
    share, extra = divmod(partitions, len(ordered))
    out: dict[str, list[int]] = {}
    start = 0
    for index, member in enumerate(ordered):
        count = share + (1 if index < extra else 0)
        out[member] = list(range(start, start + count))
        start += count
    return out


def round_robin_assignment(partitions: int, members: Sequence[str]) -> dict[str, list[int]]:
    """Kafka's round-robin assignor for one topic: partition *i* to the *i*-th member modulo C."""
    ordered = _members(members)
    out: dict[str, list[int]] = {member: [] for member in ordered}
    for partition in range(partitions if ordered else 0):
        out[ordered[partition % len(ordered)]].append(partition)
    return out


ASSIGNORS: Registry[Assignor] = Registry("assignment strategy", {
    "range": range_assignment,
    "round_robin": round_robin_assignment,
})
"""The assignors a consumer group's ``assignment:`` may name."""


def assign(strategy: str, partitions: int, members: Sequence[str]) -> dict[str, list[int]]:
    """``ASSIGNORS[strategy](partitions, members)``; an unknown strategy lists the valid ones."""
    return ASSIGNORS[strategy](partitions, members)
