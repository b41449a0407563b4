"""The spec of ``kind: database``: primaries, read replicas and shards behind connection pools (pure data)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Iterable, Literal, Mapping

from pydantic import Field, model_validator

from ...balancing.hashing import MAX_RING_POINTS, STRATEGIES
from ...metrics.descriptors import Counter, Fact, Metric, Ratio, Share
from ...scenario.distributions import Const, Distribution, Exp
from ...scenario.kinds import ComponentBase
from ...scenario.model import ZERO
from ...scenario.types import Name, PositiveDuration, Strict

Strategy = Literal[tuple(STRATEGIES)]  # type: ignore[valid-type]
"""A placement strategy's name: a key of :data:`simulator.balancing.STRATEGIES`."""

WRITE_PREFIXES = ("write", "insert", "update", "delete", "upsert")


class ReadsAndWrites:
    """What a database-like kind's operations are: each a ``read`` or a ``write`` (its ``type``, else
    by its name: one starting with a word of :data:`WRITE_PREFIXES` writes), the class its visits
    are counted in."""

    def visit_classes(self) -> dict[str, str]:
        return {op: self.op_type(op) for op in self.operations}

    def op_type(self, name: str) -> str:
        declared = self.operations[name].type
        return declared or ("write" if name.lower().startswith(WRITE_PREFIXES) else "read")


def keyed(scenario: Any) -> bool:
    """Whether a workload of *scenario* sends keys (what staleness is tracked by)."""
    return any(w.keys is not None for w in scenario.workload)


class DatabaseOperation(Strict):
    """A database operation: a read or a write holding one pooled connection for ``work``.

    ``scatter: true`` makes it a query that touches every shard (scatter-gather): it runs
    on all shards at once and answers when the slowest one has. ``table`` says which data
    it reads or writes, for staleness: a read is stale only after a write to its table
    (operations without a table share one).
    """

    type: Literal["read", "write"] | None = None
    work: Distribution = ZERO
    scatter: bool = False
    table: Name | None = None


class Failover(Strict):
    """Promote a read replica when a primary is down: writes fail for ``promotion_delay``."""

    promotion_delay: Distribution = Const(value=30.0)


class Sharding(Strict):
    """Split the keys over ``shards`` independent primaries (each with its own replicas and pool).

    ``strategy``: ``mod_n`` (hash mod N), ``range`` (contiguous key ranges over
    ``0..key_space-1``; keys are popularity ranks, so hot keys share a shard),
    ``consistent`` (a hash ring with ``virtual_nodes`` per shard), ``jump`` (jump
    consistent hash) or ``maglev``. ``key_space`` defaults to the largest ``keys: n`` of
    the workloads.
    """

    shards: Annotated[int, Field(ge=1)]
    strategy: Strategy = "mod_n"
    virtual_nodes: Annotated[int, Field(ge=1, le=10_000)] = 100  # ring points per member: memory
    key_space: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _ring_fits(self):
        points = self.shards * self.virtual_nodes
        if self.strategy == "consistent" and points > MAX_RING_POINTS:
            raise ValueError(f"{self.shards:,} shards × {self.virtual_nodes:,} virtual_nodes is a ring of "
                             f"{points:,} points, more than the {MAX_RING_POINTS:,} allowed: use fewer virtual_nodes")
        return self


class DatabaseSpec(ReadsAndWrites, ComponentBase):
    """A database behind a connection pool of ``connections``; ``queue`` waiters at most.

    A request that waits longer than ``pool_timeout`` for a connection fails (HikariCP's
    ``connectionTimeout``). An operation's ``type`` defaults to ``write`` when its name starts
    with write/insert/update/delete/upsert, else ``read``.

    ``read_replicas`` asynchronous replicas per shard receive every write after
    ``replication_lag``; with ``read_from: replicas`` reads go to them (round robin), so a
    read can miss a recent write (a stale read; a read-your-writes violation when the same
    request wrote the key). Each node has its own pool of ``connections``. ``failover``
    promotes a replica when the primary crashes. ``sharding`` partitions keys over shards.

    A database has no ``vcpus``: an operation's ``work`` is the time it holds its
    connection (CPU, disk and locks together), and ``connections`` bounds the concurrency.
    """

    kind: Literal["database"] = "database"
    metrics: ClassVar[tuple[Metric, ...]] = (
        Counter("pool_timeouts", when=lambda spec, _: spec.pool_timeout is not None),
        *(Counter(n) for n in ("stale_reads", "ryw_violations", "replica_reads", "failovers", "scatter_queries")),
        Ratio("stale_ratio", "stale_reads", ("replica_reads",), when=lambda _, scenario: keyed(scenario)),
        Share("shard", over="shard", when=lambda spec, _: spec.shard_count > 1),
        Fact("staleness", in_words=True, when=lambda spec, scenario: spec.read_replicas and not keyed(scenario)),
        Fact("shards"), Fact("read_replicas"),
        Fact("strategy", in_words=True, when=lambda spec, _: spec.sharding is not None),
        Fact("keys_moved_adding_a_shard", record=True, when=lambda spec, _: spec.sharding is not None),
    )
    """Requests that waited longer than ``pool_timeout``; replica reads and how many were stale (tracked
    only when a workload has keys: without keys "stale" would only mean "some write happened"; the
    ``staleness`` fact says so); per-shard load; the placement's facts."""
    store = True  # drawn at the bottom of its tier
    connections: Annotated[int, Field(ge=1)] = 10
    queue: Annotated[int, Field(ge=0)] | None = None
    pool_timeout: PositiveDuration | None = None
    read_replicas: Annotated[int, Field(ge=0)] = 0
    replication_lag: Distribution = Exp(mean=0.05)
    read_from: Literal["primary", "replicas"] = "replicas"
    failover: Failover | None = None
    sharding: Sharding | None = None
    operations: Annotated[dict[Name, DatabaseOperation], Field(min_length=1)]

    @property
    def queue_limit(self) -> int | None:
        return self.queue

    @property
    def shard_count(self) -> int:
        return self.sharding.shards if self.sharding is not None else 1

    @property
    def nodes_per_shard(self) -> int:
        return 1 + self.read_replicas

    def fault_units(self) -> tuple[int, str]:
        return self.shard_count, "primaries"

    def describe(self) -> str:
        parts = []
        if self.sharding is not None:
            parts.append(f"{self.sharding.shards} shards ({self.sharding.strategy})")
        if self.read_replicas:
            parts.append(f"+{self.read_replicas} read replica{'s' if self.read_replicas > 1 else ''}")
        return " · ".join(parts)

    def instances(self, measured: Iterable[Mapping[str, Any]] = ()) -> float:
        """Primaries plus read replicas, on every shard."""
        return self.shard_count * self.nodes_per_shard


SPEC = DatabaseSpec
