"""The spec of ``kind: kv_store``: a replicated key-value store, CP (Raft) or AP (Dynamo) (pure data).

The semantics are on :class:`KvStoreSpec`; how a run plays them is in :mod:`.runtime`
(callers and metrics), :mod:`.raft` (CP) and :mod:`.dynamo` (AP).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from ...metrics.descriptors import Counter, Fact, Metric, Ratio, Share
from ...scenario.distributions import Distribution
from ...scenario.kinds import ComponentBase
from ...scenario.model import ZERO
from ...scenario.types import Name, PositiveDuration, Strict

MAX_REPLICAS = 1_000
"""At most this many replicas (every replica holds every key; anti-entropy compares every pair)."""
MAX_HISTORY_KEYS = 1_000_000
OPERATIONS = ("read", "write")
"""What callers may name: ``read`` and ``write`` of the request's key."""


def _cp(spec, scenario) -> bool:
    return spec.mode == "cp"


def _ap(spec, scenario) -> bool:
    return spec.mode == "ap"


def _checked(spec, scenario) -> bool:
    return spec.history_keys > 0


class Work(Strict):
    """The time one replica's worker spends on the operation (the leader's in CP, the coordinator's in AP)."""

    work: Distribution = ZERO


class Raft(Strict):
    """CP mode's knobs, with etcd's names and defaults (golden G7.4).

    ``election_timeout``: a follower that has not heard the leader for a timeout drawn in
    ``[election_timeout, 2·election_timeout)`` starts an election; a leader that has not
    reached a majority for ``election_timeout`` steps down (etcd's CheckQuorum).
    ``heartbeat_interval``: how often the leader reaches its followers.
    """

    election_timeout: PositiveDuration = 1.0
    heartbeat_interval: PositiveDuration = 0.1

    @model_validator(mode="after")
    def _heartbeat_below_timeout(self):
        if self.heartbeat_interval >= self.election_timeout:
            raise ValueError(f"heartbeat_interval ({self.heartbeat_interval:g}s) must be below election_timeout "
                             f"({self.election_timeout:g}s): followers would start elections between heartbeats")
        return self


class Dynamo(Strict):
    """AP mode's knobs, with Dynamo's and Cassandra's names.

    ``r`` / ``w``: replies a read waits for, acknowledgements a write waits for (the
    coordinator's own included). ``read_from``: which ``r`` replicas a read asks —
    ``nearest`` (the coordinator, then the replicas of its zone, then the others, in
    ``replicas`` order, among those it can reach) or ``random`` (``r`` of the reachable ones
    drawn at random: Bailis' PBS model, golden G7.2). ``sloppy_quorum``: a write that cannot
    reach ``w`` replicas still succeeds on those it reaches (with ``false`` it fails at once,
    Cassandra's UnavailableException). ``hinted_handoff``: the coordinator keeps a hint for
    each replica it could not reach and replays it at the first gossip round that finds the
    replica reachable (``gossip_interval``). ``read_repair``: a read that saw divergent
    versions pushes the newest to the replicas that answered with older ones.
    ``anti_entropy_interval``: every interval each pair of replicas that can reach each
    other reconciles every key (``null``: never). ``replication_lag``: how long a replica other
    than the coordinator takes to apply a write once it arrives (asynchronous apply; its
    acknowledgement leaves after it): with a large lag and ``w: 1`` a read right after a
    write finds it only on the coordinator (Bailis' PBS setting, golden G7.2).
    """

    r: Annotated[int, Field(ge=1)] = 1
    w: Annotated[int, Field(ge=1)] = 1
    read_from: Literal["nearest", "random"] = "nearest"
    sloppy_quorum: bool = True
    hinted_handoff: bool = True
    read_repair: bool = True
    gossip_interval: PositiveDuration = 1.0
    anti_entropy_interval: PositiveDuration | None = 10.0
    replication_lag: Distribution = ZERO


class KvStoreSpec(ComponentBase):
    """A key-value store of N ``replicas``, each in a zone, every replica holding every key.

    ``replicas`` lists one zone per replica (``[left, left, left, right, right]``: N = 5).
    A caller's ``read`` or ``write`` of the request's key goes to a **coordinator**: the first
    replica up in the caller's zone, else the first replica up (in ``replicas`` order) whose
    zone the caller can reach, paying the caller → coordinator link both ways; a message
    that a partition cuts is lost and the caller times out (``network.unreachable_timeout``).
    Each replica has ``workers`` workers (a FIFO queue of at most ``queue``) doing
    ``read.work`` / ``write.work``. Written values are unique (a counter per store).

    ``mode: cp`` — Raft-like (``cp:`` knobs): one leader; the coordinator forwards to it;
    a write commits when a majority (the leader included) has it, i.e. after the
    (q−1)-th fastest follower round trip (golden G7.3); a read is linearizable (ReadIndex:
    the leader confirms its leadership with a majority round first). A coordinator that
    knows no leader (its election timer ran out) **rejects** at once (``ERROR``: no
    leader); one that still believes in a leader it cannot reach loses the forward and
    answers ``TIMEOUT`` after ``request_timeout``; so does a leader that cannot reach a
    majority. The minority side of a partition therefore times out for one election
    timeout, then rejects fast.

    ``mode: ap`` — Dynamo-like (``ap:`` knobs): every replica is in the preference list;
    the coordinator writes to every replica it can reach and answers after ``w``
    acknowledgements; versions are ordered last-writer-wins by (the coordinator's clock,
    its replica index); a read asks ``r`` replicas and returns the newest version.

    ``request_timeout``: how long a coordinator waits for a forward, a majority or its
    acknowledgements before it answers ``TIMEOUT`` (a write's outcome is then unknown).
    ``history_keys``: the history (one row per operation) records the operations of the
    first ``history_keys`` keys the store sees (every operation of each); the consistency
    checker checks them all when the run ends (0: no history, no check).
    """

    kind: Literal["kv_store"] = "kv_store"
    metrics: ClassVar[tuple[Metric, ...]] = (
        *(Counter(n) for n in ("reads", "writes", "ok", "failed", "unavailable", "timeouts", "reads_ok",
                               "stale_reads", "messages_lost")),
        *(Counter(n, when=_cp) for n in ("elections", "leader_changes")),
        *(Counter(n, when=_ap) for n in ("conflicting_writes", "lww_lost_writes", "hints_delivered",
                                         "read_repairs", "anti_entropy_repairs")),
        Ratio("availability", "ok", ("ok", "failed")),
        Ratio("stale_ratio", "stale_reads", ("reads_ok",)),
        *(Share(n, over="zone") for n in ("requests", "succeeded", "stale")),
        Fact("mode", in_words=True), Fact("zone_codes", in_words=True),
        Fact("leader", when=_cp), Fact("divergent_keys", when=_ap),
        Fact("history_keys_recorded"), Fact("history_keys_total"),
        *(Fact(n, when=_checked) for n in ("linearizable", "linearizability_violations", "ryw_violations",
                                           "monotonic_read_violations", "consistency_keys_checked")),
        Fact("consistency_examples", in_words=True, when=_checked),
    )
    """Counters (window): requests by operation, answered OK and not (``failed`` =
    ``unavailable`` — rejected at once: no leader, too few replicas for ``w``/``r`` — plus
    ``timeouts`` and crashes), reads answered, stale reads (a read that returned a version older
    than the newest write acknowledged before the read was invoked), messages lost at cut
    links; CP: elections started, leaders elected; AP: conflicting writes (a version
    overwritten by a concurrent one: neither writer had seen the other), the acknowledged ones
    among them (``lww_lost_writes``: never visible again), hints delivered, replicas repaired by
    reads and by anti-entropy. Shares per caller zone (``requests:<i>``, ``succeeded:<i>``,
    ``stale:<i>``; ``i`` is the zone's index in ``network.zones``, ``zone_codes`` names them).
    Facts: the leader at the end (CP, replica index; None: none), the keys on which the
    replicas still disagree at the end (AP), the keys in the history and in all, and the
    consistency checker's verdict on the history (``history_keys`` > 0): ``linearizable``
    (1 / 0; None: unknown, a key's search ran out of budget), keys violating it, reads that
    broke read-your-writes and monotonic reads, keys checked, minimal examples in words."""
    store = True
    replicas: Annotated[list[Name], Field(min_length=1, max_length=MAX_REPLICAS, description="one zone per replica")]
    mode: Literal["cp", "ap"] = "cp"
    workers: Annotated[int, Field(ge=1)] = 1
    queue: Annotated[int, Field(ge=0)] | None = None
    read: Work = Work()
    write: Work = Work()
    cp: Raft | None = None
    ap: Dynamo | None = None
    request_timeout: PositiveDuration = 2.0
    history_keys: Annotated[int, Field(ge=0, le=MAX_HISTORY_KEYS)] = 1000

    @model_validator(mode="after")
    def _mode_knobs(self):
        if self.zone is not None:
            raise ValueError("a kv_store has one zone per replica: list them under replicas, not zone")
        if self.mode == "cp" and self.ap is not None:
            raise ValueError("ap: knobs apply to mode: ap (this store is mode: cp; use cp: knobs or set mode: ap)")
        if self.mode == "ap" and self.cp is not None:
            raise ValueError("cp: knobs apply to mode: cp (this store is mode: ap; use ap: knobs or set mode: cp)")
        n = len(self.replicas)
        for field in ("r", "w"):
            value = getattr(self.dynamo, field)
            if value > n:
                raise ValueError(f"ap.{field} ({value}) cannot exceed the replicas (N = {n})")
        return self

    @property
    def raft(self) -> Raft:
        return self.cp if self.cp is not None else Raft()

    @property
    def dynamo(self) -> Dynamo:
        return self.ap if self.ap is not None else Dynamo()

    @property
    def queue_limit(self) -> int | None:
        return self.queue

    @property
    def quorum(self) -> int:
        """A majority of the replicas: ⌊N/2⌋ + 1."""
        return len(self.replicas) // 2 + 1

    def placed_zones(self) -> list[tuple[tuple, str]]:
        """``(field path, zone)`` of every zone this spec names (the scenario checks they are declared)."""
        return [(("replicas", i), zone) for i, zone in enumerate(self.replicas)]

    def operation_names(self, components) -> list[str]:
        return list(OPERATIONS)

    def fault_units(self) -> tuple[int, str]:
        return len(self.replicas), "replicas"

    def instances(self, measured=()) -> float:
        return len(self.replicas)

    def timers(self, components) -> list[tuple[tuple, float, float]]:
        if self.mode == "cp":
            return [(("cp", "heartbeat_interval"), self.raft.heartbeat_interval, 1)]
        ap = self.dynamo
        timers = [(("ap", "gossip_interval"), ap.gossip_interval, len(self.replicas))]
        if ap.anti_entropy_interval is not None:
            n = len(self.replicas)
            timers.append((("ap", "anti_entropy_interval"), ap.anti_entropy_interval, n * (n - 1) / 2))
        return timers

    def describe(self) -> str:
        zones = sorted(set(self.replicas), key=self.replicas.index)
        where = " | ".join(f"{self.replicas.count(z)} {z}" for z in zones)
        if self.mode == "cp":
            return f"CP (Raft) · N={len(self.replicas)} · {where}"
        ap = self.dynamo
        return f"AP (Dynamo) · N={len(self.replicas)} R={ap.r} W={ap.w} · {where}"


SPEC = KvStoreSpec
