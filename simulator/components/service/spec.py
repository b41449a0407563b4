"""The spec of ``kind: service``: replicas × workers serving named operations (pure data)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Iterable, Literal, Mapping

from pydantic import Field, model_validator

from ...metrics.descriptors import Counter, Fact, Metric
from ...scenario.distributions import Const, Distribution
from ...scenario.kinds import ComponentBase, ImplicitCall, Problems
from ...scenario.source import Path
from ...scenario.model import Operation
from ...scenario.types import Duration, Name, PositiveDuration, Strict
from ..event_store.spec import REPLAY_METRICS, EventSourced
from ..registry.spec import OPERATION as REGISTER, discovery_problems


class Autoscaling(Strict):
    """A horizontal autoscaler with Kubernetes HPA v2 semantics.

    Every ``interval`` the controller measures ``metric`` over the last interval across the
    ready replicas and recommends ``ceil(ready × measured / target)`` replicas, unless the
    ratio is within ``tolerance`` of 1. Scale-up is at most max(+100 %, +4 replicas) per
    interval (the HPA default policy); a scale-down only happens once every recommendation
    in the last ``scale_down_stabilization`` (the cooldown) allows it. New replicas take
    ``provisioning_delay`` (image pull, boot, readiness: a cold start) before they receive
    traffic; removed replicas stop receiving traffic at once and finish what they hold.
    ``metric: utilization`` is busy workers / workers (``target`` a fraction, 0.6 = 60 %);
    ``requests_per_replica`` is arrivals per second per ready replica.
    """

    min_replicas: Annotated[int, Field(ge=1)] = 1
    max_replicas: Annotated[int, Field(ge=1)]
    metric: Literal["utilization", "requests_per_replica"] = "utilization"
    target: Annotated[float, Field(gt=0)]
    interval: PositiveDuration = 15.0
    tolerance: Annotated[float, Field(ge=0)] = 0.1
    scale_up_stabilization: Duration = 0.0
    scale_down_stabilization: Duration = 300.0
    provisioning_delay: Distribution = Const(value=30.0)

    @model_validator(mode="after")
    def _bounds(self):
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) must not exceed max_replicas ({self.max_replicas})")
        if self.metric == "utilization" and self.target > 1:
            raise ValueError(f"a utilization target is a fraction of the workers (got {self.target:g}, expected <= 1)")
        return self


class Outbox(Strict):
    """A transactional outbox: what ``publish: ... via: outbox`` writes, and its relay to the broker.

    Every ``poll_interval`` the relay takes at most ``batch_size`` rows, oldest first, and
    produces them in order (golden §11.1 ``outbox.poll_interval``; Debezium's
    ``poll.interval.ms`` and ``max.batch.size`` by default). The semantics are in
    :mod:`simulator.components.service.outbox`.
    """

    poll_interval: PositiveDuration = 0.5
    batch_size: Annotated[int, Field(ge=1, le=1_000_000)] = 2048


class Shed(Strict):
    """Load shedding at a service (golden §15's fixes; Envoy's overload manager, a CoDel-like rule).

    ``max_queue_time``: a request that waited longer than this for a worker is dropped when a
    worker takes it (the worker goes to the next one at once). ``max_queue_length``: a request
    arriving when this many already wait at its replica is rejected at the door. Either or
    both; a shed request is ``REJECTED`` and counted ``shed``.
    """

    max_queue_time: PositiveDuration | None = None
    max_queue_length: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _some(self):
        if self.max_queue_time is None and self.max_queue_length is None:
            raise ValueError("shed needs max_queue_time (drop a request that waited longer) or max_queue_length "
                             "(reject beyond that many waiting), or both")
        return self


def _hedged(*specs, cancelling: bool = False) -> bool:
    """Whether any ``call`` step of *specs* hedges (then it counts its hedges); with *cancelling*,
    hedges that cancel their losers (then callees count the copies cancelled)."""
    from ...scenario.topology import hedges  # the step registry, loaded once a scenario is

    return hedges(specs, cancelling)


def _cancelling(scenario) -> bool:
    """Whether some hedge of *scenario* cancels its losers (then every service counts the copies cancelled)."""
    from ...scenario.topology import hedges_cancel  # the step registry, loaded once a scenario is

    return hedges_cancel(scenario)


OUTBOX_FACTS = ("outbox_written", "outbox_relayed", "outbox_pending", "outbox_pending_max", "outbox_relay_failures",
                "outbox_delay_mean", "outbox_delay_p50", "outbox_delay_p99")
"""What a service with an outbox reports (written → acknowledged by the broker, for the delay)."""


class ServiceSpec(ComponentBase):
    """A service: ``replicas`` × ``workers``, a bounded FIFO queue per replica, named operations.

    ``speeds`` makes replicas heterogeneous: replica *i* does its work ``speeds[i]`` times
    as fast (0.5 = a node twice as slow). ``instance`` names an instance class of the cost
    model (vertical scaling: a class with a higher ``speed`` costs more per hour; see
    :mod:`simulator.catalog`). ``autoscaling`` adds and removes replicas at run time.

    ``vcpus`` is the number of CPUs of one replica; ``work`` is CPU time on them. When more
    workers compute at once than there are vCPUs, they share the vCPUs (processor sharing:
    k computing on c vCPUs each progress at min(1, c/k)), so 5 gunicorn workers on 2 vCPUs
    complete at most 2 CPU-seconds of work per second. Waiting on steps (I/O) uses no CPU.
    Unset, it is the ``instance`` class's vCPUs (an m7i.large has 2), or, without an
    instance, one per worker: no contention. An explicit ``vcpus`` wins over the instance.

    ``io: blocking`` holds the worker for the whole operation, downstream calls included
    (Flask/Django sync workers); ``io: async`` holds it only for ``work`` and frees it while
    the steps wait (Node.js, Go). ``queue`` is the number of requests that may wait per
    replica (``null`` = unbounded); a full queue rejects. ``capacity`` is the alternative
    spelling of the same bound as queueing theory writes it (the K of M/M/c/K): the most
    requests one replica holds, in service and waiting.

    ``outbox`` gives it a transactional outbox (:class:`Outbox`), which its ``publish``
    steps with ``via: outbox`` write to. ``event_sourced`` rebuilds each replica's state
    from an event store on start and after a crash, down meanwhile
    (:class:`~simulator.components.event_store.spec.EventSourced`).

    ``discovery`` names a registry (``kind: registry``) its replicas register with; direct calls
    into it then follow the registry's client views, stale ones included
    (:class:`~simulator.components.registry.spec.RegistrySpec`). Without it discovery is ideal:
    a direct call reaches only replicas that are up, at once.

    Overload (golden §15): ``shed`` drops requests that waited too long or finds too many
    waiting (:class:`Shed`); ``queue_order: lifo`` gives a free worker the newest waiting
    request instead of the oldest (under overload the newest is the one whose caller still
    waits); ``drop_expired: true`` drops, when a worker takes it, a request whose caller's
    deadline has passed (the workload's ``timeout``, narrowed by each call's ``timeout`` on
    the way: deadline propagation), counted ``expired``: no work for an answer no one awaits.
    All three are ``REJECTED`` outcomes of the visit.
    """

    kind: Literal["service"] = "service"
    metrics: ClassVar[tuple[Metric, ...]] = (
        *(Fact(n, record=True, when=lambda spec, _: spec.outbox is not None) for n in OUTBOX_FACTS),
        *REPLAY_METRICS,
        Counter("shed", when=lambda spec, _: spec.shed is not None),
        Counter("expired", when=lambda spec, _: spec.drop_expired),
        *(Counter(n, when=lambda spec, _: _hedged(spec)) for n in ("hedges_sent", "hedges_won")),
        Counter("hedges_cancelled", when=lambda spec, _: _hedged(spec, cancelling=True)),
        Counter("cancelled", when=lambda _, scenario: _cancelling(scenario)))
    """Beyond every component's visits, waits and utilization: its outbox's counts and delay, when it has
    one; an event-sourced one's replays; requests it shed and expired requests it dropped, with those
    settings; the hedges its calls sent, those that answered first and the losers cancelled, when one
    hedges; the hedged copies cancelled here, where some hedge cancels."""
    replicas: Annotated[int, Field(ge=1)] = 1
    workers: Annotated[int, Field(ge=1)] = 1
    queue: Annotated[int, Field(ge=0)] | None = None
    capacity: Annotated[int, Field(ge=1)] | None = None
    io: Literal["blocking", "async"] = "blocking"
    instance: Name | None = None
    vcpus: Annotated[int, Field(ge=1, description="CPUs per replica, shared by the work of its workers "
                                                  "(default: the instance class's, else one per worker)")] | None = None
    speeds: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)] | None = None
    autoscaling: Autoscaling | None = None
    outbox: Outbox | None = None
    event_sourced: EventSourced | None = None
    discovery: Name | None = None
    shed: Shed | None = None
    queue_order: Literal["fifo", "lifo"] = "fifo"
    drop_expired: bool = False
    operations: Annotated[dict[Name, Operation], Field(min_length=1)]

    @model_validator(mode="after")
    def _bound(self):
        if self.capacity is not None:
            if self.queue is not None:
                raise ValueError("give queue or capacity, not both")
            if self.capacity < self.workers:
                raise ValueError(f"capacity ({self.capacity}) must be at least workers ({self.workers})")
        if self.speeds is not None and len(self.speeds) != self.replicas:
            raise ValueError(f"speeds lists {len(self.speeds)} replicas, the service has {self.replicas}")
        if self.autoscaling is not None:
            a = self.autoscaling
            if not a.min_replicas <= self.replicas <= a.max_replicas:
                raise ValueError(f"replicas ({self.replicas}) must lie within autoscaling min_replicas..max_replicas "
                                 f"({a.min_replicas}..{a.max_replicas}): it is the starting count")
        return self

    @property
    def queue_limit(self) -> int | None:
        limit = self.capacity - self.workers if self.capacity is not None else self.queue
        shed = None if self.shed is None else self.shed.max_queue_length
        return limit if shed is None else shed if limit is None else min(limit, shed)

    def check(self, name: str, components) -> Problems:
        problems: Problems = []
        if self.event_sourced is not None:
            problems += self.event_sourced.check(("components", name, "event_sourced"), components)
        if self.discovery is not None:
            problems += discovery_problems(("components", name, "discovery"), self.discovery, components)
        return problems

    def implicit_calls(self, components) -> list[ImplicitCall]:
        """With ``discovery``: its replicas register with the registry (an edge of the diagram; no request's call)."""
        if self.discovery is None or getattr(components.get(self.discovery), "kind", None) != "registry":
            return []
        return [ImplicitCall(operation="<discovery>", target=self.discovery, target_operation=REGISTER, sync=False,
                             field="discovery")]

    def fault_units(self) -> tuple[int, str]:
        replicas = self.autoscaling.max_replicas if self.autoscaling is not None else self.replicas
        return replicas, "replicas"

    def describe(self) -> str:
        scaling = self.autoscaling
        return f"autoscaled {scaling.min_replicas}–{scaling.max_replicas}" if scaling is not None else ""

    def timers(self, components: Mapping[str, ComponentBase]) -> list[tuple[Path, float, float]]:
        timers = [] if self.outbox is None else [(("outbox", "poll_interval"), self.outbox.poll_interval, 1)]
        if self.autoscaling is None:
            return timers
        return [*timers, (("autoscaling", "interval"), self.autoscaling.interval, 1)]

    def instances(self, measured: Iterable[Mapping[str, Any]] = ()) -> float:
        """Its replicas; autoscaled, the time-average ready replicas over the runs (none: ``max_replicas``)."""
        if self.autoscaling is None:
            return self.replicas
        means = [m.get("capacity_mean") for m in measured]
        means = [m / self.workers for m in means if m is not None]
        return sum(means) / len(means) if means else self.autoscaling.max_replicas


SPEC = ServiceSpec
