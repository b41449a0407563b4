"""The spec of ``kind: broker``: a message broker of topics, partitions and consumer groups (pure data).

Knob names are Kafka's, in snake case (``replication_factor``, ``min_insync_replicas``,
``acks``, ``auto_commit_interval``, ``session_timeout``, ``max_block``); the semantics
are described on :class:`BrokerSpec` and, in full, in :mod:`.runtime`.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Mapping

from pydantic import Field, model_validator

from ...messaging import ASSIGNORS
from ...metrics.descriptors import Counter, Fact, Metric, Ratio
from ...scenario.kinds import ComponentBase, ImplicitCall, Problems
from ...scenario.types import Duration, PositiveDuration, Strict
from ..service.spec import ServiceSpec

MAX_PARTITIONS = 10_000
"""Partitions one topic may have (Kafka advises a few thousand per broker)."""
MAX_MEMBERS = 10_000
"""Members one group may have: the consumer service's replicas × ``consumers``."""
MAX_BACKLOG = 10_000_000
"""The largest ``max_backlog`` (waiting messages per partition) a topic may set."""
MAX_NODES = 1_000
"""Broker nodes (``replicas``) one broker may have."""

TopicName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$", min_length=1,
                                 description="a topic: what `publish: broker.topic` names")]
GroupName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$", min_length=1)]
Consumer = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_-]*$",
                                description="service.operation called once per message")]
Assignment = Literal[tuple(ASSIGNORS)]  # type: ignore[valid-type]
"""An assignor's name: a key of :data:`simulator.messaging.ASSIGNORS`."""

LOSS_REASONS = ("retention", "dropped", "at_most_once", "leader_failover", "no_leader", "failed")
"""Why a message was lost for a group (``lost_<reason>``): see :mod:`.runtime`."""
REJECT_REASONS = ("full", "max_block", "no_leader", "not_enough_replicas", "leader_failover", "error")
"""Why a produce failed (the producer saw an error status): see :mod:`.runtime`."""
GROUP_COUNTS = ("delivered", "processed", "redelivered", "duplicated", "dead_lettered", "lost",
                *(f"lost_{r}" for r in LOSS_REASONS), "rebalances", "deduplicated", "replays_deduplicated")
"""What a group counts, besides its lag and latency (:mod:`.ledger`)."""
DEDUPE_FACTS = ("deduplicated", "replays_deduplicated", "dedupe_table_size", "dedupe_table_max")
"""What a broker with an idempotent group reports (:mod:`.dedupe`)."""


class Idempotency(Strict):
    """An idempotent consumer: the group's consumer keeps a dedupe table of the message ids it processed.

    The id is written in the same transaction as the consumer's effect (its read model), and
    kept ``ttl`` after that (golden §11.1 ``consumer.idempotency: dedupe_table(ttl)``). A
    delivery whose id is in the table is acknowledged without calling the consumer: a
    producer's duplicate copy (``deduplicated``) or a redelivery of a message already
    processed, after a crash with at-least-once (``replays_deduplicated``). A duplicate
    whose id has expired gets through and is applied again (``duplicated``).
    """

    ttl: PositiveDuration = 86400.0


class GroupSpec(Strict):
    """A consumer group of a topic: every group gets every message (pub/sub).

    ``consumer`` (``service.operation``) is called once per message, synchronously, through
    the network; ``consumers`` members run on each replica of that service. ``type``:

    * ``consumer`` — a Kafka consumer group: each partition has one reader at a time, given
      by the ``assignment`` strategy; members commit their offsets (``delivery``:
      ``at_least_once`` commits after processing, every ``auto_commit_interval``;
      ``at_most_once`` commits before processing); a crashed member is noticed after
      ``session_timeout`` and its partitions are reassigned (a rebalance);
    * ``share`` — a Kafka share group (KIP-932, a work queue like SQS or RabbitMQ): any
      member takes the next available message of any partition and acknowledges it after
      processing; a crashed member's message is released after ``lock_duration`` (or the
      session timeout, if shorter). No ordering.

    A message whose consumer call fails is delivered again, up to ``max_deliveries``
    deliveries in all; then it goes to the ``dead_letter`` topic of the same broker (or,
    without one, is counted lost with reason ``failed``).

    ``idempotency: {ttl: 10m}`` makes the consumer idempotent (:class:`Idempotency`).
    """

    consumer: Consumer
    consumers: Annotated[int, Field(ge=1, le=MAX_MEMBERS)] = 1
    type: Literal["consumer", "share"] = "consumer"
    assignment: Assignment = "range"
    delivery: Literal["at_least_once", "at_most_once"] = "at_least_once"
    auto_commit_interval: PositiveDuration = 5.0
    session_timeout: PositiveDuration = 45.0
    lock_duration: PositiveDuration = 30.0
    max_deliveries: Annotated[int, Field(ge=1, le=1000)] = 5
    dead_letter: TopicName | None = None
    idempotency: Idempotency | None = None

    @model_validator(mode="after")
    def _share(self):
        if self.type == "share" and self.delivery != "at_least_once":
            raise ValueError("a share group acknowledges each message after processing it: delivery must be "
                             "at_least_once (use type: consumer for at_most_once)")
        return self

    @property
    def service(self) -> str:
        return self.consumer.partition(".")[0]

    @property
    def operation(self) -> str:
        return self.consumer.partition(".")[2]


class TopicSpec(Strict):
    """A topic: ``partitions`` ordered logs, how long they keep a message and how many, and its groups.

    ``retention``: a message older than this is deleted, consumed or not (Kafka's
    ``retention.ms``, 7 days). ``max_backlog``: messages one partition may hold that its
    slowest group has not taken yet (``null``: no bound); ``when_full``: ``block`` (the
    producer waits for room, at most ``max_block``, then fails), ``drop`` (the oldest such
    message is discarded) or ``reject`` (the produce fails at once).
    """

    partitions: Annotated[int, Field(ge=1, le=MAX_PARTITIONS)] = 1
    retention: PositiveDuration = 7 * 86400.0
    max_backlog: Annotated[int, Field(ge=1, le=MAX_BACKLOG)] | None = None
    when_full: Literal["block", "drop", "reject"] = "block"
    max_block: Duration = 60.0
    groups: dict[GroupName, GroupSpec] = {}


class BrokerSpec(ComponentBase):
    """A message broker (Kafka semantics): topics of partitions, consumer groups, replicated broker nodes.

    Its operations are its topics: ``publish: bus.trades`` produces a message and goes on;
    ``call: bus.trades`` waits for the acknowledgement. A message carries the request's
    key when its workload draws ``keys:`` (then ``partition = murmur2(key) mod partitions``,
    as Kafka's Java client) and goes round robin otherwise; order holds per partition only.

    ``replicas`` broker nodes hold ``replication_factor`` copies of every partition, the
    leaders spread over the nodes. ``acks``: ``0`` (fire and forget), ``1`` (the leader
    wrote it) or ``all`` (every in-sync replica has it; refused when fewer than
    ``min_insync_replicas`` are up). Followers copy a message ``replication_lag`` after the
    leader wrote it, and consumers read only copied messages (the high watermark). A node
    crash (``crash`` with ``replicas: n`` hits n nodes) moves each of its partitions'
    leadership to a live follower after ``leader_election_time``; messages the dead leader
    had not copied yet are lost (``acks: 1``, ``0``) or were never acknowledged (``all``).

    ``enable_idempotence`` (Kafka's producer knob, true since 3.0): a producer retry of a
    message the broker already wrote is recognised (producer id and sequence number) and
    written once. ``false`` with ``lost_ack_probability`` p: the acknowledgement of a
    produce is lost with probability p, the producer's retry succeeds and writes a second
    copy of the message, with the same message id, next to the first
    (``producer_duplicates``; not with ``acks: 0``, which waits for no acknowledgement).
    """

    kind: Literal["broker"] = "broker"
    metrics: ClassVar[tuple[Metric, ...]] = (
        *(Fact(n, record=True) for n in (
            "messages_produced", "messages_rejected", "messages_delivered", "messages_processed", "redelivered",
            "duplicated", "dead_lettered", "messages_lost", *(f"lost_{r}" for r in LOSS_REASONS), "rebalances",
            "backlog", "stored", "in_flight", "consumer_lag", "consumer_lag_max", "consumer_lag_seconds",
            "consumer_lag_seconds_max", "message_latency_mean", "message_latency_p50", "message_latency_p95",
            "message_latency_p99")),
        Fact("topics"), Fact("partitions"),
        *(Counter(n) for n in ("processed", "lost", "dead_lettered", "duplicated")),
        Ratio("loss_ratio", "lost", ("processed", "dead_lettered", "lost")),
        Ratio("dead_letter_ratio", "dead_lettered", ("processed", "dead_lettered", "lost")),
        Ratio("duplicate_ratio", "duplicated", ("processed",)),
        *(Fact(n, record=True, when=lambda spec, _: spec.idempotent_groups()) for n in DEDUPE_FACTS),
        Fact("producer_duplicates", record=True, when=lambda spec, _: not spec.enable_idempotence),
    )
    """Facts: every message's fate over the whole run (summed over topics and groups), lag and latency.
    Counters and ratios: the groups' events in the measurement window; of the messages groups were
    done with (processed, dead-lettered or lost), the share lost and dead-lettered, and the extra
    processings per processed message (what ``compare`` and sweeps compare). With an idempotent group
(``idempotency``) the dedupe counts and the dedupe tables' size (summed over groups, at the end and at
the largest); without the idempotent producer, the duplicate copies written (``producer_duplicates``)."""
    store = True  # drawn at the bottom of its tier when it calls nothing
    replicas: Annotated[int, Field(ge=1, le=MAX_NODES)] = 1
    replication_factor: Annotated[int, Field(ge=1)] = 1
    min_insync_replicas: Annotated[int, Field(ge=1)] = 1
    acks: Literal[0, 1, "all"] = "all"
    replication_lag: Duration = 0.005
    leader_election_time: Duration = 0.2
    enable_idempotence: bool = True
    lost_ack_probability: Annotated[float, Field(ge=0, lt=1)] = 0.0
    topics: Annotated[dict[TopicName, TopicSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _replication(self):
        if self.replication_factor > self.replicas:
            raise ValueError(f"replication_factor ({self.replication_factor}) cannot exceed the broker nodes "
                             f"(replicas: {self.replicas})")
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError(f"min_insync_replicas ({self.min_insync_replicas}) cannot exceed replication_factor "
                             f"({self.replication_factor}): acks=all writes could never succeed")
        if self.lost_ack_probability > 0 and self.enable_idempotence:
            raise ValueError("lost_ack_probability makes duplicates only without the idempotent producer: set "
                             "enable_idempotence: false (with it, a retry is written once)")
        return self

    def idempotent_groups(self) -> bool:
        """Whether some group keeps a dedupe table (then the broker reports :data:`DEDUPE_FACTS`)."""
        return any(g.idempotency is not None for t in self.topics.values() for g in t.groups.values())

    def ratio_terms(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """The declared ratios as the span log takes them (``log.ratios``: name → numerator, denominators)."""
        return {m.name: (m.numerator, m.denominator) for m in self.metrics if isinstance(m, Ratio)}

    def operation_names(self, components) -> list[str]:
        return list(self.topics)

    def group_keys(self) -> list[tuple[str, str]]:
        """``(topic, group)`` of every group, in order: the codes of the ``groups`` and ``consumer_lag`` tables."""
        return [(topic, group) for topic, spec in self.topics.items() for group in spec.groups]

    def _own_name(self, components: Mapping[str, ComponentBase]) -> str | None:
        return next((name for name, spec in components.items() if spec is self), None)

    def implicit_calls(self, components) -> list[ImplicitCall]:
        """Each topic calls its groups' consumers (asynchronously: the producer does not wait), and
        produces into its groups' dead-letter topics; only calls whose target exists (the rest are
        :meth:`check`'s errors), so that the loop checker sees an event cycle."""
        calls = []
        me = self._own_name(components)
        for topic, spec in self.topics.items():
            for group in spec.groups.values():
                target = components.get(group.service)
                if target is not None and group.operation in target.operation_names(components):
                    calls.append(ImplicitCall(operation=topic, target=group.service,
                                              target_operation=group.operation, sync=False, field="topics"))
                if me is not None and group.dead_letter in self.topics and group.dead_letter != topic:
                    calls.append(ImplicitCall(operation=topic, target=me, target_operation=group.dead_letter,
                                              sync=False, field="topics"))
        return calls

    def check(self, name, components) -> Problems:
        """Each group's consumer is an operation of a (not autoscaled) service, or of a kind whose spec says
        ``group_consumer = True`` (a projection), its members are bounded, and its dead-letter topic is
        another topic of this broker."""
        problems: Problems = []
        for topic, spec in self.topics.items():
            for group_name, group in spec.groups.items():
                here = ("components", name, "topics", topic, "groups", group_name)
                service = components.get(group.service)
                if service is None:
                    problems.append(((*here, "consumer"), f"consumer service {group.service!r} does not exist "
                                                          f"(expected one of: {', '.join(components)})"))
                elif not (isinstance(service, ServiceSpec) or getattr(service, "group_consumer", False)):
                    problems.append(((*here, "consumer"), f"consumer {group.service!r} is a {service.kind} "
                                     "(expected a service, whose replicas run the group's members)"))
                elif group.operation not in service.operation_names(components):
                    ops = ", ".join(service.operation_names(components))
                    problems.append(((*here, "consumer"), f"{group.service!r} has no operation {group.operation!r} "
                                                          f"(it has: {ops})"))
                elif getattr(service, "autoscaling", None) is not None:
                    problems.append(((*here, "consumer"), f"consumer service {group.service!r} is autoscaled: a "
                                     "group's members live on a fixed set of replicas (remove autoscaling)"))
                elif service.replicas * group.consumers > MAX_MEMBERS:
                    problems.append(((*here, "consumers"), f"{service.replicas} replicas × {group.consumers} "
                                     f"consumers = {service.replicas * group.consumers:,} members, more than the "
                                     f"{MAX_MEMBERS:,} a group may have"))
                if group.dead_letter is not None:
                    if group.dead_letter == topic:
                        problems.append(((*here, "dead_letter"), f"dead_letter {topic!r} is the topic itself: a "
                                         "failing message would come back forever (name another topic)"))
                    elif group.dead_letter not in self.topics:
                        problems.append(((*here, "dead_letter"), f"dead_letter topic {group.dead_letter!r} does "
                                         f"not exist in {name!r} (its topics: {', '.join(self.topics)})"))
        return problems

    def fault_units(self) -> tuple[int, str]:
        return self.replicas, "nodes"

    def describe(self) -> str:
        partitions = sum(t.partitions for t in self.topics.values())
        groups = sum(len(t.groups) for t in self.topics.values())
        return (f"{len(self.topics)} topics · {partitions} partitions · {groups} groups · "
                f"acks={self.acks} rf={self.replication_factor}")


SPEC = BrokerSpec
