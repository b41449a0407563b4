"""Broker nodes, partition leaders and the copy of each message to the followers.

``replicas`` nodes hold ``replication_factor`` copies of each partition: partition *k* of
the broker (counting across topics) lives on nodes ``k, k+1, … (mod nodes)``, the first
being its preferred leader, so leaders spread evenly over the nodes.

**Copying.** A message the leader writes is copied by the followers ``replication_lag``
later, when the partition has at least one live follower; until then it is above the
high watermark: consumers do not see it, and ``acks: all`` has not acknowledged it.
With no live follower (or ``replication_factor: 1``) it is visible at once.

**Failover.** A crashed node stops leading: each partition it led loses the messages it
had not copied yet (``acks: 0``/``1``: acknowledged, so counted lost with reason
``leader_failover``; ``acks: all``: not acknowledged, so their producers get an error)
and has no leader for ``leader_election_time``; then the first live replica leads (a
follower had every copied message: nothing acknowledged with ``acks: all`` is lost). A
partition whose replicas are all down stays without a leader until one restarts. A
restarted node is back in sync at once; leadership does not move back to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .log import Partition, Topic

_EPSILON = 1e-12  # a copy due "now" despite float rounding of the timer's time


class BrokerNode:
    """One broker node: what a ``crash`` fault takes down (``slowdown`` and ``error_probability``
    are what the other replica faults set; only the error probability matters to a broker)."""

    __slots__ = ("index", "up", "slowdown", "error_probability")

    def __init__(self, index: int):
        self.index = index
        self.up = True
        self.slowdown = 1.0
        self.error_probability = 0.0

    def crash(self) -> None:
        self.up = False

    def restart(self) -> None:
        self.up = True


def placement(first: int, partitions: int, nodes: int, factor: int) -> list[list[int]]:
    """The nodes of each of *partitions* partitions numbered from *first*: ``k, k+1, …`` mod *nodes*."""
    return [[(first + p + i) % nodes for i in range(factor)] for p in range(partitions)]


class Replication:
    """Leaders, followers and copies of one broker's partitions (module docstring)."""

    def __init__(self, env, spec, topics: list["Topic"]):
        self.env = env
        self.spec = spec
        self.topics = topics
        self.nodes = [BrokerNode(i) for i in range(spec.replicas)]
        self.replicas = self.nodes  # what replica faults read: component.replicas.replicas
        self.lag = spec.replication_lag
        self.acks_all = spec.acks == "all"

    def in_sync(self, partition: "Partition") -> int:
        """Live replicas of *partition* (all in sync: a restarted node catches up at once)."""
        nodes = self.nodes
        return sum(1 for n in partition.replicas if nodes[n].up)

    def written(self, partition: "Partition") -> bool:
        """The leader wrote a message (the last one): copy it, or show it at once. ``True`` when it waits for a copy."""
        if self.lag > 0 and (partition.pending or self.in_sync(partition) > 1):
            partition.pending.append(partition.log[-1])
            if not partition.copying:
                partition.copying = True
                self._copy_later(partition, self.lag)
            if not self.acks_all:
                partition.topic.produced += 1
            return True
        partition.topic.produced += 1
        partition.copied(1)
        return False

    def _copy_later(self, partition: "Partition", delay: float) -> None:
        epoch = partition.epoch
        self.env.timeout(delay).callbacks.append(lambda _: self._copy(partition, epoch))

    def _copy(self, partition: "Partition", epoch: int) -> None:
        if partition.epoch != epoch:  # the leader died: what it had not copied is gone
            return
        now, lag, pending = self.env.now, self.lag, partition.pending
        count = 0
        while pending and pending[0].t_produce + lag <= now + _EPSILON:
            pending.popleft()
            count += 1
        if self.acks_all:
            partition.topic.produced += count
        if count:
            partition.copied(count)
        if pending:
            self._copy_later(partition, max(pending[0].t_produce + lag - now, 0.0))
        else:
            partition.copying = False

    # -- faults ----------------------------------------------------------------------------------
    def crashed(self, nodes: list[BrokerNode]) -> None:
        down = {node.index for node in nodes}
        for topic in self.topics:
            for partition in topic.partitions:
                if partition.leader in down:
                    self._lose_leader(partition)

    def _lose_leader(self, partition: "Partition") -> None:
        cut = partition.truncate()
        partition.copying = False
        if cut and not self.acks_all:  # acknowledged, never copied
            if partition.readers:
                for reader in partition.readers:
                    reader.truncated(len(cut), "leader_failover")
            else:
                partition.topic.lost_unread(len(cut), "leader_failover")
        partition.leader = None
        self._elect_later(partition)

    def _elect_later(self, partition: "Partition") -> None:
        self.env.timeout(self.spec.leader_election_time).callbacks.append(lambda _: self._elect(partition))

    def _elect(self, partition: "Partition") -> None:
        if partition.leader is not None:
            return
        live = [n for n in partition.replicas if self.nodes[n].up]
        if live:
            partition.leader = live[0]
            for reader in partition.readers:
                reader.leader_changed()

    def restarted(self, nodes: list[BrokerNode]) -> None:
        up = {node.index for node in nodes}
        for topic in self.topics:
            for partition in topic.partitions:
                if partition.leader is None and up.intersection(partition.replicas):
                    self._elect_later(partition)
