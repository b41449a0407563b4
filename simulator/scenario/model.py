"""The scenario: a pure-data description of an architecture, its workload, faults and SLOs.

Frozen pydantic models, unknown keys rejected. Nothing here knows about SimPy; the engine
(:mod:`simulator.engine`) builds a runnable world from a :class:`Scenario`. Component and
fault kinds are open registries (:data:`COMPONENT_SPECS`, :data:`FAULT_SPECS`): a new kind
is one new spec model added there plus its runtime class, nothing else changes.

Conventions: durations in seconds, rates per second (YAML accepts units, see
:mod:`simulator.units`). A call target is written ``component.operation``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, ValidationInfo,
                      WithJsonSchema, field_validator, model_validator)

from ..units import parse_duration, parse_rate
from .distributions import Const, Distribution, Exp, KeyDistribution
from .types import TAGGED_UNIONS, Duration, Name, PositiveDuration, Probability, Rate, units_required

ZERO = Const(value=0.0)


class Strict(BaseModel):
    """Base of every scenario model: immutable, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _tagged(specs: dict[str, type[BaseModel]], key: str, what: str):
    def tag(value: Any) -> str | None:
        return value.get(key) if isinstance(value, dict) else getattr(value, key, None)

    TAGGED_UNIONS[f"unknown_{what}"] = (key, key, tuple(specs))
    return Annotated[
        Union[tuple(Annotated[t, Tag(k)] for k, t in specs.items())],  # type: ignore[misc]
        Discriminator(tag, custom_error_type=f"unknown_{what}",
                      custom_error_message=f"unknown {what} {key} (expected one of {', '.join(specs)})"),
    ]


# ----------------------------------------------------------------------------- params

class Param(Strict):
    """A named parameter: referenced as ``${name}`` anywhere in the file, overridden with ``--param``.

    ``min``/``max`` bound a number; ``choices`` lists the values allowed (``policy: {default:
    round_robin, choices: [round_robin, least_request]}``); notebooks show a drop-down for it.
    """

    default: float | int | str | bool
    description: str | None = None
    min: float | None = None
    max: float | None = None
    choices: Annotated[list[float | int | str | bool], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _default_is_a_choice(self):
        if self.choices is not None and self.default not in self.choices:
            raise ValueError(f"default {self.default!r} is not one of the choices")
        return self


def _param_shorthand(value: Any) -> Any:
    return value if isinstance(value, dict) else {"default": value}


ParamSpec = Annotated[Param, BeforeValidator(_param_shorthand)]

# ----------------------------------------------------------------------------- steps

Target = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_-]*$",
                              description="component.operation")]


class CallStep(Strict):
    """Synchronous call: the caller waits for the callee's response; a failure fails the caller.

    ``timeout``: the caller stops waiting after this long (the callee's work goes on) and
    the call counts as failed. ``fallback``: steps to run instead when the call fails —
    ``[]`` means carry on without the answer (graceful degradation); without a fallback a
    failed call fails the operation.
    """

    call: Target
    timeout: PositiveDuration | None = None
    fallback: list["Step"] | None = None


class PublishStep(Strict):
    """Asynchronous publish: the caller does not wait; the callee's work still happens."""

    publish: Target


class ParallelStep(Strict):
    """Fan-out: run every branch concurrently and wait for all; fails if any fails."""

    parallel: Annotated[list["Step"], Field(min_length=1)]


class BranchOption(Strict):
    p: Probability
    steps: list["Step"] = []


class BranchStep(Strict):
    """Probabilistic branch: exactly one option runs, chosen with probability ``p``; the p's sum to 1."""

    branch: Annotated[list[BranchOption], Field(min_length=1)]

    @field_validator("branch")
    @classmethod
    def _sums_to_one(cls, options: list[BranchOption]) -> list[BranchOption]:
        total = sum(o.p for o in options)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"branch probabilities sum to {total:g} (expected 1)")
        return options


STEP_KINDS = {"call": CallStep, "publish": PublishStep, "parallel": ParallelStep, "branch": BranchStep}


def _step_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        keys = [k for k in STEP_KINDS if k in value]
        return keys[0] if len(keys) == 1 else None
    for k, t in STEP_KINDS.items():
        if isinstance(value, t):
            return k
    return None


Step = Annotated[
    Union[tuple(Annotated[t, Tag(k)] for k, t in STEP_KINDS.items())],  # type: ignore[misc]
    Discriminator(_step_tag, custom_error_type="bad_step",
                  custom_error_message="a step needs exactly one of call, publish, parallel or branch"),
]
ParallelStep.model_rebuild()
BranchOption.model_rebuild()
CallStep.model_rebuild()

# ----------------------------------------------------------------------------- components


class Operation(Strict):
    """What a component does for one operation: hold a worker for ``work``, then run ``steps`` in order."""

    work: Distribution = ZERO
    steps: list[Step] = []


class ComponentBase(Strict):
    kind: str
    zone: Name | None = None
    description: str | None = None

    def operation_names(self, components: dict[str, "ComponentBase"]) -> list[str]:
        """The operations callers may name (*components*: the scenario's, for kinds that forward)."""
        return list(getattr(self, "operations", {}))

    def implicit_calls(self, components: dict[str, "ComponentBase"]) -> list["ImplicitCall"]:
        """Calls this kind makes by itself (a balancer to its backend, a cache to its origin)."""
        return []


class ImplicitCall(BaseModel):
    """``operation`` of a component calls ``target.target_operation`` (``sync``: waits for it)."""

    operation: str
    target: str
    target_operation: str
    sync: bool = True
    field: str = ""  # the spec field that makes the call, for located errors


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
    """

    kind: Literal["service"] = "service"
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
        return self.capacity - self.workers if self.capacity is not None else self.queue


WRITE_PREFIXES = ("write", "insert", "update", "delete", "upsert")


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
    strategy: Literal["mod_n", "range", "consistent", "jump", "maglev"] = "mod_n"
    virtual_nodes: Annotated[int, Field(ge=1)] = 100
    key_space: Annotated[int, Field(ge=1)] | None = None


class DatabaseSpec(ComponentBase):
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

    def op_type(self, name: str) -> str:
        declared = self.operations[name].type
        return declared or ("write" if name.lower().startswith(WRITE_PREFIXES) else "read")


class HealthCheck(Strict):
    """Active health checking (Envoy names): probe every host each ``interval``.

    A probe fails when the host is down or does not answer within ``timeout``; after
    ``unhealthy_threshold`` consecutive failures the host gets no traffic, after
    ``healthy_threshold`` consecutive successes it gets traffic again.
    """

    interval: PositiveDuration = 5.0
    timeout: PositiveDuration = 1.0
    unhealthy_threshold: Annotated[int, Field(ge=1)] = 3
    healthy_threshold: Annotated[int, Field(ge=1)] = 2


class OutlierDetection(Strict):
    """Passive health (Envoy ``outlier_detection``): eject a host after ``consecutive_errors`` failed answers.

    An ejected host gets no traffic for ``base_ejection_time`` × the number of times it has
    been ejected; at most ``max_ejection_percent`` of the hosts are ejected at once (but at
    least one may be). ``failures: any`` counts every error or rejection (Envoy's
    ``consecutive_5xx``); ``gateway`` only refused connections and 503s
    (``consecutive_gateway_failure``), so application errors do not eject a host.
    """

    consecutive_errors: Annotated[int, Field(ge=1)] = 5
    failures: Literal["any", "gateway"] = "any"
    base_ejection_time: PositiveDuration = 30.0
    max_ejection_percent: Annotated[float, Field(ge=0, le=100)] = 10.0


LB_POLICIES = ("round_robin", "random", "least_connections", "least_request", "ring_hash", "maglev")


class LoadBalancerSpec(ComponentBase):
    """A load balancer in front of the replicas of ``backend`` (nginx, Envoy, an ALB).

    It forwards every operation of its backend: ``lb.op`` reaches ``backend.op`` on the
    replica ``policy`` picks (Envoy names: ``round_robin`` is nginx's smooth weighted round
    robin with ``weights`` per replica; ``least_request`` is power of ``choice_count``
    choices; ``least_connections`` scans every host; ``ring_hash`` and ``maglev`` hash the
    request's key). It is itself a component with ``replicas`` × ``workers``, ``work`` per
    request (its own latency; each worker is an event loop with a CPU of its own, as nginx's
    ``worker_processes auto``, so there is no ``vcpus``) and a ``queue``, so it can be the bottleneck; at most
    ``max_connections`` requests may be outstanding upstream (more are rejected, a 503).
    ``retries`` tries another host after a refused connection or a 503 (nginx's
    ``proxy_next_upstream``), at most that many times per request.

    Without ``health_check`` or ``outlier_detection`` it keeps sending to a crashed
    replica, and those requests fail. When fewer than ``panic_threshold`` of the hosts are
    healthy it ignores health and balances over all of them (Envoy's panic mode).
    """

    kind: Literal["load_balancer"] = "load_balancer"
    backend: Name
    policy: Literal[LB_POLICIES] = "round_robin"  # type: ignore[valid-type]
    weights: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)] | None = None
    choice_count: Annotated[int, Field(ge=1, le=100)] = 2
    active_request_bias: Annotated[float, Field(ge=0)] = 1.0
    virtual_nodes: Annotated[int, Field(ge=1)] = 100
    table_size: Annotated[int, Field(ge=2)] = 65537
    health_check: HealthCheck | None = None
    outlier_detection: OutlierDetection | None = None
    panic_threshold: Probability = 0.5
    replicas: Annotated[int, Field(ge=1)] = 1
    workers: Annotated[int, Field(ge=1)] = 1
    queue: Annotated[int, Field(ge=0)] | None = None
    work: Distribution = ZERO
    max_connections: Annotated[int, Field(ge=1)] | None = None
    retries: Annotated[int, Field(ge=0)] = 0

    @property
    def queue_limit(self) -> int | None:
        return self.queue

    def operation_names(self, components):
        backend = components.get(self.backend)
        return [] if backend is None or backend is self else backend.operation_names(components)

    def implicit_calls(self, components):
        return [ImplicitCall(operation=op, target=self.backend, target_operation=op, field="backend")
                for op in self.operation_names(components)]


CACHE_POLICIES = ("lru", "lfu", "fifo", "tinylfu")


class CacheSpec(ComponentBase):
    """A cache of ``capacity`` entries in front of an ``origin`` (Redis, memcached, Caffeine).

    Operations ``read`` and ``write`` look up the request's key. ``pattern``:

    * ``cache_aside`` — a read miss loads from ``origin.origin_read`` and fills the entry; a
      write goes to ``origin.origin_write`` and then deletes the entry (invalidation);
    * ``read_through`` — as cache-aside, but the cache does the load, so concurrent misses on
      one key share one load (``coalesce`` defaults to true);
    * ``write_through`` — a write goes to the origin, then updates the entry;
    * ``write_behind`` — a write updates the entry and is acknowledged at once; the origin
      write follows ``write_behind_delay`` later (writes to one key inside the delay are
      merged; those still pending when the cache crashes are lost).

    ``policy`` picks the victim when full (``tinylfu`` evicts a newcomer instead when it is
    less popular than the victim: an admission refusal); ``expire_after_write`` / ``expire_after_access`` are Caffeine's TTLs.
    A hit on an entry older than the origin's latest write is a stale read. The cache is
    a component with ``replicas`` × ``workers`` and ``work`` per look-up (Redis: one
    worker, exp(12us)); each worker has a CPU of its own (no ``vcpus``).
    """

    kind: Literal["cache"] = "cache"
    origin: Name
    origin_read: Name = "read"
    origin_write: Name | None = "write"
    pattern: Literal["cache_aside", "read_through", "write_through", "write_behind"] = "cache_aside"
    policy: Literal[CACHE_POLICIES] = "lru"  # type: ignore[valid-type]
    capacity: Annotated[int, Field(ge=1)]
    expire_after_write: PositiveDuration | None = None
    expire_after_access: PositiveDuration | None = None
    coalesce: bool | None = None
    write_behind_delay: PositiveDuration = 1.0
    replicas: Annotated[int, Field(ge=1)] = 1
    workers: Annotated[int, Field(ge=1)] = 1
    queue: Annotated[int, Field(ge=0)] | None = None
    work: Distribution = ZERO

    @property
    def queue_limit(self) -> int | None:
        return self.queue

    @property
    def coalescing(self) -> bool:
        return self.coalesce if self.coalesce is not None else self.pattern == "read_through"

    def writes_through_to(self, components) -> bool:
        """Whether the cache has a ``write`` operation: ``origin_write`` set explicitly, or the
        default ``write`` and the origin has such an operation (a read-only origin gets a read-only cache)."""
        if self.origin_write is None:
            return False
        if "origin_write" in self.model_fields_set:
            return True
        origin = components.get(self.origin)
        return origin is None or self.origin_write in origin.operation_names(components)

    def operation_names(self, components):
        return ["read", "write"] if self.writes_through_to(components) else ["read"]

    def implicit_calls(self, components):
        calls = [ImplicitCall(operation="read", target=self.origin, target_operation=self.origin_read,
                              field="origin_read")]
        if self.writes_through_to(components):
            calls.append(ImplicitCall(operation="write", target=self.origin, target_operation=self.origin_write,
                                      sync=self.pattern != "write_behind", field="origin_write"))
        return calls


COMPONENT_SPECS: dict[str, type[ComponentBase]] = {"service": ServiceSpec, "database": DatabaseSpec,
                                                   "load_balancer": LoadBalancerSpec, "cache": CacheSpec}
"""Registry of component kinds (YAML ``kind:``) to their spec models."""

# ----------------------------------------------------------------------------- workload


class Poisson(Strict):
    """Open loop: arrivals do not wait for responses (what produces queue blow-ups)."""

    kind: Literal["poisson"] = "poisson"
    rate: Rate


class Closed(Strict):
    """Closed loop: ``users`` each send, wait for the response, think, repeat."""

    kind: Literal["closed"] = "closed"
    users: Annotated[int, Field(ge=1)]
    think: Distribution = ZERO


Arrivals = _tagged({"poisson": Poisson, "closed": Closed}, "kind", "arrivals")


class ProfilePoint(Strict):
    """From ``at`` the rate becomes ``rate``: at once, over a linear ``ramp``, or for a ``for`` spike."""

    at: Duration
    rate: Rate
    ramp: PositiveDuration | None = None
    for_: PositiveDuration | None = Field(None, alias="for")

    @model_validator(mode="after")
    def _one_shape(self):
        if self.ramp is not None and self.for_ is not None:
            raise ValueError("a profile point is a ramp or a spike (for), not both")
        return self


class Workload(Strict):
    """A population of clients sending requests to an ``entry`` component."""

    name: Name
    entry: Name
    zone: Name | None = None
    arrivals: Arrivals
    profile: list[ProfilePoint] = []
    operation: Name | None = None
    mix: dict[Name, Annotated[float, Field(gt=0)]] | None = None
    keys: KeyDistribution | None = None
    timeout: PositiveDuration | None = None

    @model_validator(mode="after")
    def _check(self):
        if (self.operation is None) == (self.mix is None):
            raise ValueError("a workload needs exactly one of operation or mix")
        if self.mix is not None:
            total = sum(self.mix.values())
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"mix weights sum to {total:g} (expected 1)")
        if self.profile:
            if self.arrivals.kind != "poisson":
                raise ValueError("a rate profile needs poisson arrivals")
            times = [p.at for p in self.profile]
            if times != sorted(times):
                raise ValueError("profile points must be in time order")
        return self

    def operations(self) -> dict[str, float]:
        return dict(self.mix) if self.mix is not None else {self.operation: 1.0}


# ----------------------------------------------------------------------------- network


class Link(Strict):
    """One-way latency between two zones (a call pays it on the way there and back)."""

    between: Annotated[list[Name], Field(min_length=2, max_length=2)]
    latency: Distribution


class Network(Strict):
    """Zones and the latency of their links. Calls inside one zone pay ``local``."""

    zones: list[Name] = []
    local: Distribution = ZERO
    default: Distribution | None = None
    links: list[Link] = []


# ----------------------------------------------------------------------------- faults


class FaultBase(Strict):
    kind: str
    at: Duration
    for_: PositiveDuration = Field(alias="for")


class CrashFault(FaultBase):
    """``target`` (or ``replicas`` of its replicas) is down; in-flight work there fails."""

    kind: Literal["crash"] = "crash"
    target: Name
    replicas: Annotated[int, Field(ge=1)] | None = None


class SlowdownFault(FaultBase):
    """Work at ``target`` (or at ``replicas`` of its replicas) takes ``factor`` times longer (a noisy neighbour, GC)."""

    kind: Literal["slowdown"] = "slowdown"
    target: Name
    factor: Annotated[float, Field(gt=0)]
    replicas: Annotated[int, Field(ge=1)] | None = None


class LatencyFault(FaultBase):
    """Extra one-way latency on the link between two zones (both directions)."""

    kind: Literal["latency"] = "latency"
    between: Annotated[list[Name], Field(min_length=2, max_length=2)]
    extra: Distribution


class ErrorsFault(FaultBase):
    """Each operation at ``target`` fails with ``probability`` after doing its work (a bad deploy)."""

    kind: Literal["errors"] = "errors"
    target: Name
    probability: Probability


FAULT_SPECS: dict[str, type[FaultBase]] = {"crash": CrashFault, "slowdown": SlowdownFault, "latency": LatencyFault,
                                           "errors": ErrorsFault}
"""Registry of fault kinds to their spec models."""

# ----------------------------------------------------------------------------- SLOs

LATENCY_METRICS = ("latency_mean", "latency_p50", "latency_p90", "latency_p95", "latency_p99",
                   "latency_p999", "latency_max")
RATIO_METRICS = ("availability", "error_rate")
RATE_METRICS = ("throughput", "goodput")
SloMetric = Literal[LATENCY_METRICS + RATIO_METRICS + RATE_METRICS]  # type: ignore[valid-type]


SloBound = Annotated[float | None, WithJsonSchema(
    {"anyOf": [{"type": "number"}, {"type": "string", "description": "with units: 250ms, 0.999, 100/s"},
               {"type": "null"}]})]


class Slo(Strict):
    """An objective checked after the run: ``metric`` (of one ``operation`` or all) within ``max``/``min``."""

    name: str
    metric: SloMetric
    operation: Name | None = None
    max: SloBound = None
    min: SloBound = None

    @field_validator("max", "min", mode="before")
    @classmethod
    def _units(cls, value: Any, info: ValidationInfo) -> Any:
        metric = info.data.get("metric")
        if value is None:
            return value
        if metric in LATENCY_METRICS:
            return parse_duration(value, require_unit=units_required(info))
        return parse_rate(value) if metric in RATE_METRICS else value

    @model_validator(mode="after")
    def _bound(self):
        if (self.max is None) == (self.min is None):
            raise ValueError("an SLO needs exactly one of max or min")
        return self

    @property
    def target(self) -> float:
        return self.max if self.max is not None else self.min

    def met_by(self, value: float) -> bool:
        if value != value:  # NaN: nothing measured
            return False
        return value <= self.max if self.max is not None else value >= self.min


# ----------------------------------------------------------------------------- scenario

ComponentSpec = _tagged(COMPONENT_SPECS, "kind", "component")
FaultSpec = _tagged(FAULT_SPECS, "kind", "fault")


class Scenario(Strict):
    """A whole experiment: architecture, workload, faults, objectives, run length and seed.

    Metrics cover requests issued in ``[warmup, duration)``. After ``duration`` no new request
    is sent; the run goes on until those requests finish, at most ``drain`` longer (requests
    still unanswered then count as timeouts).
    """

    extends: str | None = Field(None, description="a scenario file (relative path) this one builds on: "
                                "mappings merge, everything else replaces; resolved while loading")
    name: str
    description: str = ""
    seed: Annotated[int, Field(ge=0)] = 1
    duration: PositiveDuration
    warmup: Duration = 0.0
    drain: Duration = 600.0
    sample_interval: PositiveDuration = 1.0
    records: Literal["full", "summary", "auto"] = Field(
        "auto", description="what the run keeps: full = one record per request and component visit (exact "
        "percentiles, request and span tables); summary = aggregates built as the run goes (memory bounded, "
        "percentiles within 1 %, time series at multiples of sample_interval); auto = full unless the workloads "
        "are expected to issue more than 2,000,000 requests (simulator.metrics.records)")
    params: dict[Name, ParamSpec] = {}
    network: Network = Network()
    workload: Annotated[list[Workload], Field(min_length=1)]
    components: Annotated[dict[Name, ComponentSpec], Field(min_length=1)]
    faults: list[FaultSpec] = []
    slos: list[Slo] = []

    @property
    def window(self) -> float:
        """Length of the measurement window, seconds."""
        return self.duration - self.warmup
