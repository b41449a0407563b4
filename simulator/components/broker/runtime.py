"""``kind: broker`` — a message broker with Kafka's semantics: topics, partitions, consumer groups.

**Producing.** A topic is an operation: ``publish: bus.trades`` produces and goes on,
``call: bus.trades`` waits for the acknowledgement (``acks``). A message carries the
request: its key when the request's workload draws ``keys:`` (partition
``murmur2(key) mod P``, :func:`simulator.messaging.partition_for`), else the partitions
take turns. The produce fails (an error status for the caller) when the partition has no
leader (``no_leader``; with ``acks: 0`` the message is sent anyway and lost), when
``acks: all`` finds fewer than ``min_insync_replicas`` live replicas
(``not_enough_replicas``), when a leader dies before copying an ``acks: all`` message
(``leader_failover``), or when an error-rate fault hits the leader (``error``). A full
partition (``max_backlog`` messages its slowest group has not taken) rejects (``full``,
status ``REJECTED``), drops its oldest such message, or blocks the producer for at most ``max_block``
(``max_block``); blocked producers get room first come first served. A caller's own
timeout stops the caller waiting, not the produce (as for every call in sdsim).

**Message ids.** Every message has an id, given by the broker (:meth:`Broker.new_message_id`)
when it is produced, or earlier when a service's outbox row is written (the row's request
carries it as ``message_id``: every produce of that row has the same id). Without
``enable_idempotence`` a lost acknowledgement (``lost_ack_probability``) makes the
producer's retry write a second copy, with the same id, right after the first (drawn on
the stream ``<broker>/lost_acks``; the copy is not held back by a full partition).

**Storing and consuming** — :mod:`.log` (partitions, retention, trimming),
:mod:`.replication` (nodes, copies, failover), :mod:`.members` (members on the
consumer service's replicas, pull loop, crashes), :mod:`.group` (consumer groups:
assignment, commits, rebalances) and :mod:`.share` (share groups: a work queue).

**What it reports** (over the whole run, warm-up and drain included, so that every
message is accounted for): the facts its spec declares — messages produced, rejected,
delivered, processed, redelivered, duplicated, dead-lettered and lost (in all and by
reason), rebalances, the backlog stored and the messages in flight at the end, the
consumer lag in messages and in seconds (age of the oldest message not taken yet) at the
end and at its maximum, and the produce → processed latency (mean, p50, p95, p99; exact
in both record modes, at 8 bytes per processed message); with an idempotent group, what
the dedupe tables stopped and their size; without the idempotent producer, the copies
its retries wrote; the groups' ``processed``,
``lost``, ``dead_lettered`` and ``duplicated`` events as counts of the measurement window
with the ratios the spec declares (``loss_ratio``, ``dead_letter_ratio``,
``duplicate_ratio``: what ``compare`` and sweeps compare); the
record tables ``messages`` (one row per processed message: full records only),
``consumer_lag`` (every group's lag each ``sample_interval``), ``partition_lag`` (the same per
partition, for topics of at most :data:`PARTITION_LAG_MAX` partitions), ``groups`` (each group's
counts at the end, the conservation identity of :mod:`.ledger`) and ``topics``. Each
produce is one span (no worker: utilization 0).
"""

from __future__ import annotations

from typing import Any, Generator

import numpy as np

from ...core.request import ERROR, OK, REJECTED
from ...messaging import partition_for
from ..base import Component
from .group import ConsumerGroup
from .ledger import TALLIED, Ledger, latency_stats
from .log import Topic
from .members import Group
from .replication import Replication, placement
from .share import ShareGroup
from .spec import GROUP_COUNTS, LOSS_REASONS, REJECT_REASONS

GROUP_FIELDS = ("group", "produced", *GROUP_COUNTS, "in_flight", "backlog", "lag", "lag_max", "lag_seconds",
                "lag_seconds_max", "latency_mean", "latency_p50", "latency_p95", "latency_p99", "dedupe_table_size",
                "dedupe_table_max")
"""Columns of the ``groups`` table (``group``: the index in ``BrokerSpec.group_keys()``; the dedupe table's
size at the end and at its largest, 0 without ``idempotency``)."""
TOPIC_FIELDS = ("topic", "produced", "rejected", *(f"rejected_{r}" for r in REJECT_REASONS), "lost_unread",
                "stored", "producer_duplicates")
"""Columns of the ``topics`` table (``topic``: the index in ``topics``; ``lost_unread``: lost with no group;
``producer_duplicates``: second copies written by a producer's retry, included in ``produced``)."""
MESSAGE_FIELDS = ("produced", "taken", "processed", "group", "partition", "offset", "key", "member", "deliveries",
                  "id")
"""Columns of the ``messages`` table: one row per message a group processed (first time): when it was produced,
when the delivery that succeeded started and ended, its partition, offset and key, the member (replica ×
``consumers`` + slot), how many deliveries it took and its message id. The table is what the group's
consumers applied (their read model): with an idempotent group each id is in it at most once."""
LAG_FIELDS = ("time", "group", "lag", "lag_seconds", "stored")
PARTITION_LAG_FIELDS = ("time", "group", "partition", "lag", "lag_seconds")
"""Columns of the ``partition_lag`` table: each ``sample_interval``, each partition's lag in each group."""
PARTITION_LAG_MAX = 100
"""Topics with more partitions record their groups' lag per group only: one line per partition stops
being readable well before, and the table would grow with partitions × samples."""
"""Columns of the ``consumer_lag`` table: each ``sample_interval``, each group's lag (messages visible and not
taken), the age of its oldest such message, and the messages its topic stores."""


class Broker(Component):
    kind = "broker"

    def __init__(self, name, spec, world):
        super().__init__(name, spec, world)
        self.env = env = world.env
        self.log = log = world.recorder.span_log(name, spec.kind, spec.replicas, list(spec.topics))
        self.record = log.add
        self.topics: list[Topic] = []
        first = 0
        for index, (topic_name, topic_spec) in enumerate(spec.topics.items()):
            nodes = placement(first, topic_spec.partitions, spec.replicas, spec.replication_factor)
            self.topics.append(Topic(topic_name, index, topic_spec, nodes))
            first += topic_spec.partitions
        self.by_name = {topic.name: topic for topic in self.topics}
        self.replication = self.replicas = Replication(env, spec, self.topics)  # faults hit its nodes
        self.nodes = self.replication.nodes
        self.keyed = [w.keys is not None for w in world.scenario.workload]
        self.error_draw = world.uniform(f"{name}/errors") if name in world.erratic else None
        retries = not spec.enable_idempotence and spec.lost_ack_probability > 0 and spec.acks != 0
        self.lost_ack = world.uniform(f"{name}/lost_acks") if retries else None
        self.ids = 0  # message ids given so far (new_message_id)
        add_message = log.table("messages", MESSAGE_FIELDS, summary="count")
        self.add_lag = log.table("consumer_lag", LAG_FIELDS, summary="keep")
        self.add_partition_lag = log.table("partition_lag", PARTITION_LAG_FIELDS, summary="keep")
        self.add_group = log.table("groups", GROUP_FIELDS, summary="keep")
        self.add_topic = log.table("topics", TOPIC_FIELDS, summary="keep")
        self.groups: list[Group] = []
        tallies = {name: log.counter(name) for name in TALLIED}
        log.ratios = spec.ratio_terms()
        clock = lambda: env.now  # noqa: E731
        for code, (topic_name, group_name) in enumerate(spec.group_keys()):
            topic = self.by_name[topic_name]
            group_spec = topic.spec.groups[group_name]
            kind = ShareGroup if group_spec.type == "share" else ConsumerGroup
            self.groups.append(kind(self, topic, group_name, group_spec, Ledger(code, add_message, tallies, clock)))
        self.open: dict[int, float] = {}  # produce visits waiting (blocked, or for copies): id -> arrival
        self.acknowledged: list[list] = [[] for _ in self.topics]  # per topic: on_acknowledged callbacks
        self._visits = 0
        log.facts.update({"topics": len(self.topics), "partitions": sum(len(t.partitions) for t in self.topics)})

    def operation(self, name: str) -> Topic:
        return self.by_name[name]

    def on_acknowledged(self, topic: str, callback) -> None:
        """Call ``callback(request)`` whenever a produce into *topic* is acknowledged (answers OK): how a
        projection learns which writes its read model must show (``kind: projection``)."""
        self.acknowledged[self.by_name[topic].index].append(callback)

    def wire(self) -> None:
        world, env = self.world, self.env
        for group in self.groups:
            service = world.components[group.spec.service]
            hop = world.hops.between(self.zone, service.zone)
            group.start(service, hop.pinned(service.handle, service.operation(group.spec.operation)))
        env.process(self._sample(world.scenario.sample_interval))
        horizon = world.scenario.duration + world.scenario.drain
        for topic in self.topics:
            if topic.spec.retention < horizon:  # otherwise nothing can expire during the run
                env.process(self._expire(topic))

    # -- producing -------------------------------------------------------------------------------
    def handle(self, topic: Topic, request) -> Generator[Any, Any, int]:
        """Produce *request* as a message of *topic*: one span, the status the producer sees."""
        arrival = self.env.now
        status = ERROR  # unless it returns: a crash of the producer's replica interrupted it
        try:
            status = yield from self._produce(topic, request)
        finally:
            self.record(arrival, arrival, arrival, self.env.now, status, topic.index)
        if status == OK:
            for heard in self.acknowledged[topic.index]:
                heard(request)
        return status

    def produce_to(self, topic: str, request) -> Generator[Any, Any, int]:
        """Produce into *topic* from inside the broker (a dead letter)."""
        return self.handle(self.by_name[topic], request)

    def new_message_id(self) -> int:
        """A fresh message id (a producer's: an outbox row takes one when it is written)."""
        self.ids += 1
        return self.ids

    def _partition(self, topic: Topic, request) -> Any:
        partitions = topic.partitions
        if self.keyed[request.workload]:
            key = request.key
            index = topic.keys.get(key)
            if index is None:
                index = topic.keys[key] = partition_for(key, len(partitions))
            return partitions[index]
        index = topic.next
        topic.next = (index + 1) % len(partitions)
        return partitions[index]

    def _produce(self, topic: Topic, request) -> Generator[Any, Any, int]:
        env, spec = self.env, self.spec
        partition = self._partition(topic, request)
        limit = topic.spec.max_backlog
        deadline = env.now + topic.spec.max_block
        granted = False  # woken with room reserved for it
        while True:
            leader = partition.leader
            failure = None
            if leader is None:
                if spec.acks == 0:  # sent all the same, to nobody
                    topic.produced += 1
                    self._lost_unsent(partition)
                    return self._give_back(partition, granted, OK)
                failure = "no_leader"
            elif (self.error_draw is not None and self.nodes[leader].error_probability
                  and self.error_draw() < self.nodes[leader].error_probability):
                failure = "error"
            elif spec.acks == "all" and self.replication.in_sync(partition) < spec.min_insync_replicas:
                failure = "not_enough_replicas"
            if failure is not None:
                topic.reject(failure)
                return self._give_back(partition, granted, ERROR)
            if granted or not partition.full(limit):
                break
            when_full = topic.spec.when_full
            if when_full == "drop" and partition.hw > partition.front:
                partition.delete(partition.front + 1, "dropped", env.now)
                continue
            if when_full != "block" or env.now >= deadline:
                topic.reject("full" if when_full != "block" else "max_block")
                return REJECTED if when_full != "block" else ERROR
            room = env.event()
            partition.waiters.append(room)
            visit = self._waiting()
            try:
                yield room | env.timeout(deadline - env.now)
            except BaseException:  # interrupted (the producer's replica crashed): leave the line
                if room.triggered:
                    self._give_back(partition, True, ERROR)
                else:
                    partition.waiters.remove(room)
                raise
            finally:
                del self.open[visit]
            if not room.triggered:
                partition.waiters.remove(room)
                topic.reject("max_block")
                return ERROR
            granted = True
        message_id = getattr(request, "message_id", None)  # an outbox row carries its own
        if message_id is None:
            message_id = self.new_message_id()
        partition.append(env.now, request, message_id)
        if topic.arrival is not None and not topic.arrival.triggered:  # the retention timer sleeps
            topic.arrival.succeed()
        if granted:
            partition.reserved -= 1
        copying = self.replication.written(partition)
        if self.lost_ack is not None and self.lost_ack() < spec.lost_ack_probability:
            # the acknowledgement was lost: the producer's retry, not recognised, writes a second copy
            partition.append(env.now, request, message_id, copy=True)
            self.replication.written(partition)
            topic.duplicates += 1
        if copying and spec.acks == "all":
            epoch = partition.epoch
            visit = self._waiting()
            try:
                yield env.timeout(spec.replication_lag)
            finally:
                del self.open[visit]
            if partition.epoch != epoch:  # the leader died before the followers copied it
                topic.reject("leader_failover")
                return ERROR
        return OK

    def _give_back(self, partition, granted: bool, status: int) -> int:
        if granted:  # the room reserved for this producer goes to the next one
            partition.reserved -= 1
            partition.room_freed()
        return status

    def _lost_unsent(self, partition) -> None:
        if partition.readers:
            for reader in partition.readers:
                reader.truncated(1, "no_leader")
        else:
            partition.topic.lost_unread(1, "no_leader")

    def _waiting(self) -> int:
        self._visits += 1
        self.open[self._visits] = self.env.now
        return self._visits

    # -- housekeeping ------------------------------------------------------------------------------
    def _expire(self, topic: Topic) -> Generator[Any, Any, None]:
        """Delete messages older than the topic's retention, as they age (a message is deleted once it
        is visible: at ``max(retention, replication_lag)`` after it was produced)."""
        env = self.env
        keep = max(topic.spec.retention, self.spec.replication_lag)
        while True:
            now = env.now
            due = None
            for partition in topic.partitions:
                upto = partition.start
                while upto < partition.hw and partition.message(upto).t_produce + keep <= now:
                    upto += 1
                if upto > partition.start:
                    partition.delete(upto, "retention", now)
                if partition.start < partition.end:
                    head = partition.message(partition.start).t_produce + keep
                    due = head if due is None else min(due, head)
            if due is None:  # nothing stored: sleep until a message comes
                topic.arrival = env.event()
                yield topic.arrival
                topic.arrival = None
                continue
            yield env.timeout(max(due - now, keep * 1e-6))

    def _sample(self, interval: float) -> Generator[Any, Any, None]:
        """Every group's lag (messages, seconds) and its topic's stored messages, each *interval*."""
        env = self.env
        while True:
            now = env.now
            for group in self.groups:
                code = group.ledger.code
                if len(group.topic.partitions) > PARTITION_LAG_MAX:
                    lag, age = group.lag_now(now)
                else:
                    rows = group.partition_lag(now)
                    for index, n, oldest in rows:
                        self.add_partition_lag(now, code, index, n, oldest)
                    lag, age = sum(r[1] for r in rows), max((r[2] for r in rows), default=0.0)
                self.add_lag(now, code, lag, age, group.topic.stored)
            yield env.timeout(interval)

    # -- faults ------------------------------------------------------------------------------------
    def on_crash(self, replicas) -> None:
        self.replication.crashed(replicas)

    def on_restart(self, replicas) -> None:
        self.replication.restarted(replicas)

    # -- the end -----------------------------------------------------------------------------------
    def finish(self, now: float) -> None:
        for arrival in self.open.values():
            self.log.add_unfinished(arrival, arrival, now)
        self.open.clear()
        totals = {name: 0 for name in GROUP_COUNTS}
        lag = in_flight = backlog = dedupe_size = dedupe_max = 0
        lag_max = 0
        age = age_max = 0.0
        for group in self.groups:
            ledger = group.ledger
            group_lag, group_age = group.lag_now(now)
            flying, group_backlog = group.in_flight(), group.backlog()
            latency = ledger.latency()
            table = group.dedupe
            size, largest = (0, 0) if table is None else (table.size(now), table.largest)
            dedupe_size += size
            dedupe_max += largest
            self.add_group(ledger.code, group.topic.produced, *(ledger.counts[n] for n in GROUP_COUNTS), flying,
                           group_backlog, group_lag, ledger.lag_max, group_age, max(ledger.lag_seconds_max, group_age),
                           *(np.nan if latency[k] is None else latency[k] for k in ("mean", "p50", "p95", "p99")),
                           size, largest)
            for name in GROUP_COUNTS:
                totals[name] += ledger.counts[name]
            lag += group_lag
            in_flight += flying
            backlog += group_backlog
            lag_max = max(lag_max, ledger.lag_max)
            age = max(age, group_age)
            age_max = max(age_max, ledger.lag_seconds_max, group_age)
        for topic in self.topics:
            rejected = [topic.rejected.get(r, 0) for r in REJECT_REASONS]
            self.add_topic(topic.index, topic.produced, sum(rejected), *rejected, sum(topic.lost.values()),
                           topic.stored, topic.duplicates)
            for reason, count in topic.lost.items():
                totals["lost"] += count
                totals[f"lost_{reason}"] += count
        latencies = [np.frombuffer(g.ledger.latencies, dtype=float) for g in self.groups if g.ledger.latencies]
        latency = latency_stats(np.concatenate(latencies) if latencies else np.zeros(0))
        facts = {
            "messages_produced": sum(t.produced for t in self.topics),
            "messages_rejected": sum(sum(t.rejected.values()) for t in self.topics),
            "messages_delivered": totals["delivered"], "messages_processed": totals["processed"],
            "redelivered": totals["redelivered"], "duplicated": totals["duplicated"],
            "dead_lettered": totals["dead_lettered"], "messages_lost": totals["lost"],
            **{f"lost_{r}": totals[f"lost_{r}"] for r in LOSS_REASONS},
            "rebalances": totals["rebalances"], "backlog": backlog, "stored": sum(t.stored for t in self.topics),
            "in_flight": in_flight, "consumer_lag": lag, "consumer_lag_max": lag_max,
            "consumer_lag_seconds": age, "consumer_lag_seconds_max": age_max,
            **{f"message_latency_{k}": v for k, v in latency.items()},
        }
        if self.spec.idempotent_groups():
            facts.update(deduplicated=totals["deduplicated"], replays_deduplicated=totals["replays_deduplicated"],
                         dedupe_table_size=dedupe_size, dedupe_table_max=dedupe_max)
        if not self.spec.enable_idempotence:
            facts["producer_duplicates"] = sum(t.duplicates for t in self.topics)
        self.log.facts.update(facts)


RUNTIME = Broker
