"""The scenario: a pure-data description of an architecture, its workload, faults and SLOs.

Frozen pydantic models, unknown keys rejected. Nothing here knows about SimPy; the engine
(:mod:`simulator.engine`) builds a runnable world from a :class:`Scenario`. This module
holds what every scenario has: params, operations, workload, network, SLOs. Component, fault
and step kinds live in their own folders and modules (:mod:`simulator.components`,
:mod:`simulator.faults`, :mod:`simulator.steps`); :attr:`Scenario.components`,
:attr:`Scenario.faults` and :attr:`Operation.steps` accept every kind registered there
(:mod:`.kinds`, :data:`simulator.steps.Step`).

Conventions: durations in seconds, rates per second (YAML accepts units, see
:mod:`simulator.units`). A call target is written ``component.operation``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from .distributions import Const, Distribution, KeyDistribution
from .kinds import ComponentSpec, FaultSpec, rebuild_on_registration
from .kinds import ComponentBase, FaultBase, ImplicitCall  # noqa: F401  (they lived here; still importable)
from ..steps import Step
from ..tracing.spec import Tracing
from ..security.spec import Security
from .types import Duration, Name, PositiveDuration, Rate, Strict, tagged_union
from ..monitoring.spec import Monitoring

ZERO = Const(value=0.0)


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
    def _default_within_limits(self):
        if self.choices is not None and self.default not in self.choices:
            raise ValueError(f"default {self.default!r} is not one of the choices")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is greater than max {self.max:g}")
        number = not isinstance(self.default, bool) and isinstance(self.default, (int, float))
        if number and (self.min is not None and self.default < self.min
                       or self.max is not None and self.default > self.max):
            low = "-inf" if self.min is None else f"{self.min:g}"
            high = "inf" if self.max is None else f"{self.max:g}"
            raise ValueError(f"default {self.default!r} is outside the declared range [{low}, {high}]")
        return self


def _param_shorthand(value: Any) -> Any:
    return value if isinstance(value, dict) else {"default": value}


ParamSpec = Annotated[Param, BeforeValidator(_param_shorthand)]

# ----------------------------------------------------------------------------- steps
# Step kinds (call, publish, parallel, branch, saga) are registered strategies, one module each:
# simulator.steps. `Step` is the union of those registered, built with the models using it.

# ----------------------------------------------------------------------------- operations


class Operation(Strict):
    """What a component does for one operation: hold a worker for ``work``, then run ``steps`` in order."""

    model_config = ConfigDict(defer_build=True)  # its steps' union is complete once every step module loaded

    work: Distribution = ZERO
    steps: list[Step] = []


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


Arrivals = tagged_union({"poisson": Poisson, "closed": Closed}, "kind", "arrivals")


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
    """Zones and the latency of their links. Calls inside one zone pay ``local``.

    ``regions`` groups zones (``{eu: [eu-a, eu-b]}``), so a fault can name a whole region where it
    names zones (a partition's sides). ``unreachable_timeout``: how long a caller with no timeout of
    its own waits for an answer that a partition lost (a request or its reply dropped at a cut
    link) before the call fails as a timeout — a TCP connection retransmitting into the void.
    """

    zones: list[Name] = []
    regions: dict[Name, list[Name]] = {}
    local: Distribution = ZERO
    default: Distribution | None = None
    links: list[Link] = []
    unreachable_timeout: PositiveDuration = 30.0

    def zones_of(self, name: str) -> list[str]:
        """The zones *name* stands for: a region's zones, or the zone itself."""
        return list(self.regions[name]) if name in self.regions else [name]


# ----------------------------------------------------------------------------- SLOs

from .slo import (LATENCY_METRICS, RATE_METRICS, RATIO_METRICS, Recovery, Slo, SloBound,  # noqa: E402,F401
                  SloMetric, SloWindow)


# ----------------------------------------------------------------------------- scenario

class Scenario(Strict):
    """A whole experiment: architecture, workload, faults, objectives, run length and seed.

    Metrics cover requests issued in ``[warmup, duration)``. After ``duration`` no new request
    is sent; the run goes on until those requests finish, at most ``drain`` longer (requests
    still unanswered then count as timeouts).
    """

    # built on first use, when every kind's spec can be read (a kind's spec imports this module)
    model_config = ConfigDict(defer_build=True)

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
    tracing: Tracing | None = Field(None, description="trace the share `ratio` of the requests: spans per hop "
                                    "and per visit, exported as OTLP/JSON (simulator.tracing)")
    monitoring: Monitoring | None = Field(None, description="scrape the run as Prometheus would: series at a "
                                          "scrape_interval, exported as OpenMetrics (simulator.monitoring)")
    security: Security | None = Field(None, description="zero trust per hop: identities, mTLS modes, "
                                      "authorization policies (simulator.security)")

    @property
    def window(self) -> float:
        """Length of the measurement window, seconds."""
        return self.duration - self.warmup


rebuild_on_registration(Scenario)

# Moved to their kind's folder or module; still importable from here.
_MOVED = {
    **dict.fromkeys(("ServiceSpec", "Autoscaling"), "simulator.components.service.spec"),
    **dict.fromkeys(("DatabaseSpec", "DatabaseOperation", "Failover", "Sharding", "WRITE_PREFIXES"),
                    "simulator.components.database.spec"),
    **dict.fromkeys(("LoadBalancerSpec", "HealthCheck", "OutlierDetection"), "simulator.components.load_balancer.spec"),
    "CacheSpec": "simulator.components.cache.spec",
    "CrashFault": "simulator.faults.crash", "SlowdownFault": "simulator.faults.slowdown",
    "LatencyFault": "simulator.faults.latency", "ErrorsFault": "simulator.faults.errors",
    "CallStep": "simulator.steps.call", "PublishStep": "simulator.steps.publish",
    "ParallelStep": "simulator.steps.parallel", **dict.fromkeys(("BranchStep", "BranchOption"), "simulator.steps.branch"),
    "Target": "simulator.steps.base",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        return getattr(import_module(_MOVED[name]), name)
    if name == "STEP_KINDS":  # now a registry; this is a read-only copy of it
        from ..steps import STEPS

        return {kind: entry.spec for kind, entry in STEPS.items()}
    if name in ("COMPONENT_SPECS", "FAULT_SPECS"):  # now registries; this is a read-only copy of one
        from .kinds import KINDS, FAULTS

        return {kind: entry.spec for kind, entry in (KINDS if name == "COMPONENT_SPECS" else FAULTS).items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
