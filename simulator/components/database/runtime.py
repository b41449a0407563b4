"""``kind: database`` — primaries, asynchronous read replicas and shards behind connection pools.

Every node (a primary or a read replica) is one replica of the database's :class:`~simulator.components.station.Station`, whose
workers are its ``connections``. A request that waits longer than ``pool_timeout`` for a
connection fails (HikariCP's ``connectionTimeout``; tallied as ``pool_timeouts``);
``queue`` bounds how many may wait at all.

Routing: the request's key picks the shard (``sharding.strategy``, see
:mod:`simulator.balancing.hashing`); writes go to the shard's primary; reads go to its
replicas in turn (``read_from: replicas``; the primary when none is up) or to the
primary. A ``scatter`` operation runs on every shard at once and answers when the
slowest has (scatter-gather); it fails if any shard fails.

Replication: a write committed on a primary reaches each of the shard's replicas
``replication_lag`` later. A read served by a replica that has not yet received the
latest write of the same key in the same ``table`` (operations without one share a
table) is a **stale read**; when the same request wrote that key it is also a
**read-your-writes violation**. Staleness needs keys: when no workload has ``keys:``
every request carries key 0, so it is not tracked (the summary says so).

Failover: a crash fault takes down primaries first. With ``failover``, the first replica
of the shard that is up becomes its primary ``promotion_delay`` after the crash; until
then its writes fail. The old primary comes back as a replica. Without failover, writes
fail until the primary restarts.

Tallies: ``stale_reads``, ``ryw_violations``, ``replica_reads``, ``failovers``,
``pool_timeouts``, ``scatter_queries`` and ``shard:<i>`` per request routed to shard *i*;
ratio ``stale_ratio`` = stale reads / replica reads. Facts: ``shards``, ``strategy``,
``read_replicas`` and ``keys_moved_adding_a_shard`` (the fraction of the key space that
moves when one shard is added, under this strategy).
"""

from __future__ import annotations

from typing import Any, Generator

from ...balancing import keys_moved, make_strategy
from ...core.request import ERROR, OK
from ...core.process import guarded
from ...core.sampling import sampler
from ..base import Component
from ..station import Operation, Station


class Database(Component):
    kind = "database"

    def __init__(self, name, spec, world):
        super().__init__(name, spec, world)
        self.env = world.env
        shards, per = spec.shard_count, spec.nodes_per_shard
        work = {op: spec.operations[op].work for op in spec.operation_names(world.scenario.components)}
        self.station = Station(name, spec, world, work, replicas=shards * per, workers=spec.connections,
                               max_wait=spec.pool_timeout,
                               labels=spec.visit_classes())
        self.replicas, self.log, self.ops = self.station.replicas, self.station.log, self.station.ops
        self.visit = self.station.visit
        self.nodes = self.replicas.replicas
        self.primary = [s * per for s in range(shards)]
        self.shard_nodes = [self.nodes[s * per:(s + 1) * per] for s in range(shards)]
        self._turn = [0] * shards
        self.writes = {op.index: spec.op_type(name) == "write" for name, op in self.ops.items()}
        self.scatter = {op.index: spec.operations[name].scatter for name, op in self.ops.items()}
        self.tables = {op.index: spec.operations[name].table for name, op in self.ops.items()}
        self.versions = world.versions(name)
        self.last_write: dict[tuple, tuple[int, list[float]]] = {}  # (table, key) -> (writer, visible at per node)
        self.lag = sampler(spec.replication_lag, world.rng(f"{name}/replication")) if spec.read_replicas else None
        self.promote = (sampler(spec.failover.promotion_delay, world.rng(f"{name}/failover"))
                        if spec.failover is not None else None)
        log = self.log
        self.count = {n: log.counter(n) for n in ("stale_reads", "ryw_violations", "replica_reads", "failovers",
                                                   "scatter_queries")}
        self.key_space = spec.sharding.key_space if spec.sharding and spec.sharding.key_space else self._key_space()
        # without keys every request carries key 0: "stale" would only mean "some write happened"
        self.keyed = any(w.keys is not None for w in world.scenario.workload)
        if not self.keyed and spec.read_replicas:
            log.facts["staleness"] = "not tracked: no workload has keys"
        self.shard_of = self._router()
        self.to_shard = [log.counter(f"shard:{s}") for s in range(shards)] if shards > 1 else None
        log.facts.update({"shards": shards, "read_replicas": spec.read_replicas})
        if spec.sharding is not None:
            knobs = self._strategy_knobs()
            sample = min(self.key_space, 100_000)
            if "key_space" in knobs:  # range: sample the whole key space (ranges are proportional), not its head
                knobs["key_space"] = sample
            log.facts["strategy"] = spec.sharding.strategy
            log.facts["keys_moved_adding_a_shard"] = keys_moved(spec.sharding.strategy, shards, shards + 1,
                                                                keys=sample, **knobs)

    def _key_space(self) -> int:
        sizes = [w.keys.n for w in self.world.scenario.workload if w.keys is not None]
        return max(sizes) if sizes else 1

    def _strategy_knobs(self) -> dict[str, Any]:
        sharding = self.spec.sharding
        return {"range": {"key_space": self.key_space},
                "consistent": {"virtual_nodes": sharding.virtual_nodes}}.get(sharding.strategy, {})

    def _router(self):
        if self.spec.sharding is None or self.spec.shard_count == 1:
            return lambda key: 0
        return make_strategy(self.spec.sharding.strategy, self.spec.shard_count, **self._strategy_knobs()).shard

    # -- routing ---------------------------------------------------------------------------------
    def operation(self, name: str) -> Operation:
        return self.ops[name]

    def handle(self, op: Operation, request) -> Generator[Any, Any, int]:
        """Route *request* to its shard (every shard for a scatter) and visit the node that serves it."""
        if self.scatter[op.index]:
            self.count["scatter_queries"](self.env.now)
            env = self.env
            parts = [env.process(guarded(self._on_shard(op, request, s))) for s in range(len(self.primary))]
            yield env.all_of(parts)
            return ERROR if any(p.value for p in parts) else OK
        shard = self.shard_of(request.key)
        if self.to_shard is not None:
            self.to_shard[shard](self.env._now)
        return (yield from self._on_shard(op, request, shard))

    def _read_node(self, shard: int):
        """The node a read of *shard* goes to: its replicas in turn, else its primary."""
        primary = self.nodes[self.primary[shard]]
        if self.lag is None or self.spec.read_from == "primary":
            return primary
        nodes = self.shard_nodes[shard]
        for _ in range(len(nodes)):
            self._turn[shard] = (self._turn[shard] + 1) % len(nodes)
            node = nodes[self._turn[shard]]
            if node is not primary and node.up:
                return node
        return primary

    def _on_shard(self, op, request, shard: int) -> Generator[Any, Any, int]:
        serve = self.visit
        table = self.tables[op.index]
        if self.writes[op.index]:
            status = yield from serve(op, request, self.nodes[self.primary[shard]])
            if status == OK:
                self._committed(shard, request, table)
            return status
        node = self._read_node(shard)
        status = yield from serve(op, request, node)
        if status == OK and node.index != self.primary[shard]:
            self._replica_read(node, request, table)
        return status

    # -- replication -----------------------------------------------------------------------------
    def _committed(self, shard: int, request, table) -> None:
        key = request.key
        if not request.replayed:  # a write-behind flush: the cache counted its version when it acknowledged it
            self.versions[key] = self.versions.get(key, 0) + 1
        if self.lag is not None and self.keyed:  # every committed write replicates, replayed ones too
            now = self.env.now
            visible = [0.0] * len(self.nodes)
            for node in self.shard_nodes[shard]:
                visible[node.index] = now + self.lag()
            self.last_write[(table, key)] = (request.id, visible)

    def _replica_read(self, node, request, table) -> None:
        now = self.env.now
        self.count["replica_reads"](now)
        if not self.keyed:
            return
        last = self.last_write.get((table, request.key))
        if last is not None and last[1][node.index] > now:
            self.count["stale_reads"](now)
            if last[0] == request.id:
                self.count["ryw_violations"](now)

    def finish(self, now: float) -> None:
        self.station.finish(now)

    # -- faults ----------------------------------------------------------------------------------
    def crash_targets(self, count: int | None) -> list:
        if count is None:
            return list(self.nodes)
        primaries = [self.nodes[p] for p in self.primary]
        return (primaries + [node for node in self.nodes if node not in primaries])[:count]

    def on_crash(self, replicas) -> None:
        if self.promote is None:
            return
        for shard, p in enumerate(self.primary):
            if self.nodes[p] in replicas:
                self.env.process(self._failover(shard, self.nodes[p]))

    def _failover(self, shard: int, old):
        yield self.env.timeout(self.promote())
        if self.nodes[self.primary[shard]] is not old or old.up:
            return  # already replaced, or back before the promotion finished
        for node in self.shard_nodes[shard]:
            if node is not old and node.up:
                self.primary[shard] = node.index
                self.count["failovers"](self.env.now)
                return


RUNTIME = Database
