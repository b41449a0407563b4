"""The spec of ``kind: projection``: a CQRS read model fed by a broker topic (pure data).

The semantics are on :class:`ProjectionSpec`; how a run measures them is in :mod:`.runtime`.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Mapping

from pydantic import Field

from ...metrics.descriptors import Counter, Fact, Metric, Ratio
from ...scenario.distributions import Distribution
from ...scenario.kinds import ComponentBase, Problems
from ...scenario.model import ZERO
from ...scenario.types import PositiveDuration, Strict

Source = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_-]*$",
                              description="broker.topic: the events this read model projects")]
OPERATIONS = ("apply", "read")
"""What callers may name: ``apply`` (the projector's work per event: what the topic's group
consumes) and ``read`` (a query against the read model)."""
LAG_FACTS = ("projection_lag_mean", "projection_lag_p50", "projection_lag_p95", "projection_lag_p99",
             "projection_lag_max")
"""Acknowledged → applied, over the writes applied in the run (seconds)."""


def _token(spec, scenario) -> bool:
    return spec.read.consistency_token


class Apply(Strict):
    """The projector's work per event: ``work`` holding one of the ``workers`` of a replica."""

    work: Distribution = ZERO


class Read(Strict):
    """A read of one key (the request's): ``work`` is the time to answer it (no projector worker:
    reads are served by the read store beside the projector).

    ``consistency_token: true`` — read-your-writes: the read carries the client's own writes to
    its key (those its request made and the broker acknowledged) and waits until the read model
    has applied them, at most ``max_wait``; then ``when_late``: ``error`` (the read fails) or
    ``serve_stale`` (it answers with what the read model has, counted as a stale own read).
    """

    work: Distribution = ZERO
    consistency_token: bool = False
    max_wait: PositiveDuration = 1.0
    when_late: Literal["serve_stale", "error"] = "serve_stale"


class ProjectionSpec(ComponentBase):
    """A CQRS projection: consumes the events of ``source`` (``broker.topic``) and keeps, per key, the
    writes it has applied (its read model); reads of a key are served from it.

    **Feeding it.** The projection is a consumer of its topic like any service: the broker names
    ``<projection>.apply`` as a group's consumer (``groups: {view: {consumer: trade_view.apply}}``),
    so the group's partitions, offsets, at-least-once redelivery, lag chart and crash semantics
    apply unchanged. Its ``replicas`` × ``workers`` are the projector; the group's members run
    on its replicas. Applying an event holds a worker for ``apply.work``; the read model is
    updated when that work ends (a redelivered event is applied again without changing it).

    **Stale reads.** A write is *acknowledged* when the broker acknowledged its produce to the
    producer (the ``publish``/``call`` into ``source`` answered OK). A read of key *k* is
    **stale** when some write to *k* was acknowledged before the read and the projection has not
    applied it yet; **own** stale when one of those writes was made by the reading request itself
    (a session: produce, then read, in one request chain). Messages carry the request's key
    (workload ``keys:``; without keys every request is key 0). **Projection lag** is acknowledged
    → applied, per write.

    One projector at μ fed at λ (M/M/1) lags ``Exp(μ − λ)``, and a read ``d`` after its write
    is stale with probability ``exp(−(μ − λ) d)`` (golden G11.1).
    """

    kind: Literal["projection"] = "projection"
    metrics: ClassVar[tuple[Metric, ...]] = (
        *(Counter(n) for n in ("reads", "stale_reads", "stale_own_reads", "applied", "reapplied")),
        *(Counter(n, when=_token) for n in ("token_waits", "token_timeouts")),
        Ratio("stale_ratio", "stale_reads", ("reads",)),
        Ratio("stale_own_ratio", "stale_own_reads", ("reads",)),
        *(Fact(n, record=True) for n in (*LAG_FACTS, "staleness_mean", "staleness_p99", "unapplied")),
        *(Fact(n, record=True, when=_token) for n in ("token_wait_mean", "token_wait_p99")),
    )
    """Counters (window): reads, those served stale (any acknowledged write missing) and stale for
    their own write, writes applied (first time) and applies of nothing new (``reapplied``:
    redeliveries), and with the token the reads that waited and those that gave up. Facts (whole
    run): the projection lag, how far behind a stale read was (now − the oldest missing
    acknowledgement), the acknowledged writes not applied at the end, the token's wait."""
    source: Source
    replicas: Annotated[int, Field(ge=1)] = 1
    workers: Annotated[int, Field(ge=1, description="projector threads per replica")] = 1
    apply: Apply = Apply()
    read: Read = Read()

    @property
    def queue_limit(self) -> None:
        """Events wait in the broker, not here: a member hands the projector one event at a time."""
        return None

    @property
    def broker(self) -> str:
        return self.source.partition(".")[0]

    @property
    def topic(self) -> str:
        return self.source.partition(".")[2]

    group_consumer: ClassVar[bool] = True
    """A broker group may name its ``apply`` as a consumer: its members run on these replicas."""

    def operation_names(self, components) -> list[str]:
        return list(OPERATIONS)

    def check(self, name: str, components: Mapping[str, ComponentBase]) -> Problems:
        """``source`` is a topic of a broker, and a group of that topic consumes ``<name>.apply``."""
        here = ("components", name, "source")
        broker = components.get(self.broker)
        if broker is None:
            return [(here, f"broker {self.broker!r} does not exist (expected one of: {', '.join(components)})")]
        topics = getattr(broker, "topics", None)
        if broker.kind != "broker" or not isinstance(topics, Mapping):
            return [(here, f"{self.broker!r} is a {broker.kind} (expected a broker whose topic the projection reads)")]
        if self.topic not in topics:
            return [(here, f"{self.broker!r} has no topic {self.topic!r} (its topics: {', '.join(topics)})")]
        consumer = f"{name}.apply"
        if not any(group.consumer == consumer for group in topics[self.topic].groups.values()):
            return [(here, f"no group of {self.source} consumes {consumer}: the read model would never be "
                           f"updated (add a group with consumer: {consumer})")]
        return []

    def fault_units(self) -> tuple[int, str]:
        return self.replicas, "replicas"

    def describe(self) -> str:
        token = " · read-your-writes" if self.read.consistency_token else ""
        return f"projects {self.source}{token}"


SPEC = ProjectionSpec
