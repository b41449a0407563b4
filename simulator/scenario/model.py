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

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, WithJsonSchema,
                      field_validator, model_validator)

from ..units import parse_duration, parse_rate
from .distributions import Const, Distribution, KeyDistribution

ZERO = Const(value=0.0)
from .types import Duration, Name, PositiveDuration, Probability, Rate


class Strict(BaseModel):
    """Base of every scenario model: immutable, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _tagged(specs: dict[str, type[BaseModel]], key: str, what: str):
    def tag(value: Any) -> str | None:
        return value.get(key) if isinstance(value, dict) else getattr(value, key, None)

    return Annotated[
        Union[tuple(Annotated[t, Tag(k)] for k, t in specs.items())],  # type: ignore[misc]
        Discriminator(tag, custom_error_type=f"unknown_{what}",
                      custom_error_message=f"unknown {what} {key} (expected one of {', '.join(specs)})"),
    ]


# ----------------------------------------------------------------------------- params

class Param(Strict):
    """A named parameter: referenced as ``${name}`` anywhere in the file, overridden with ``--param``."""

    default: float | int | str | bool
    description: str | None = None
    min: float | None = None
    max: float | None = None


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


class ServiceSpec(ComponentBase):
    """A service: ``replicas`` × ``workers``, a bounded FIFO queue per replica, named operations.

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
    operations: Annotated[dict[Name, Operation], Field(min_length=1)]

    @model_validator(mode="after")
    def _bound(self):
        if self.capacity is not None:
            if self.queue is not None:
                raise ValueError("give queue or capacity, not both")
            if self.capacity < self.workers:
                raise ValueError(f"capacity ({self.capacity}) must be at least workers ({self.workers})")
        return self

    @property
    def queue_limit(self) -> int | None:
        return self.capacity - self.workers if self.capacity is not None else self.queue


WRITE_PREFIXES = ("write", "insert", "update", "delete", "upsert")


class DatabaseOperation(Strict):
    """A database operation: a read or a write holding one pooled connection for ``work``."""

    type: Literal["read", "write"] | None = None
    work: Distribution = ZERO


class DatabaseSpec(ComponentBase):
    """A database behind a connection pool of ``connections``; ``queue`` waiters at most.

    A request that waits longer than ``pool_timeout`` for a connection fails (HikariCP's
    ``connectionTimeout``). An operation's ``type`` defaults to ``write`` when its name starts
    with write/insert/update/delete/upsert, else ``read``.
    """

    kind: Literal["database"] = "database"
    connections: Annotated[int, Field(ge=1)] = 10
    queue: Annotated[int, Field(ge=0)] | None = None
    pool_timeout: PositiveDuration | None = None
    operations: Annotated[dict[Name, DatabaseOperation], Field(min_length=1)]

    @property
    def queue_limit(self) -> int | None:
        return self.queue

    def op_type(self, name: str) -> str:
        declared = self.operations[name].type
        return declared or ("write" if name.lower().startswith(WRITE_PREFIXES) else "read")


COMPONENT_SPECS: dict[str, type[ComponentBase]] = {"service": ServiceSpec, "database": DatabaseSpec}
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
    """Work at ``target`` takes ``factor`` times longer (a noisy neighbour, GC, a bad deploy)."""

    kind: Literal["slowdown"] = "slowdown"
    target: Name
    factor: Annotated[float, Field(gt=0)]


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

    @model_validator(mode="before")
    @classmethod
    def _units(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        metric = data.get("metric")
        parse = parse_duration if metric in LATENCY_METRICS else parse_rate if metric in RATE_METRICS else None
        if parse is not None:
            data = {**data, **{k: parse(data[k]) for k in ("max", "min") if data.get(k) is not None}}
        return data

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
