"""``slos:`` — objectives checked after a run, as pure data (:mod:`simulator.objectives` judges them).

An SLO reads a request-level metric (overall or of one ``operation``) or, with
``component``, any metric that component reports in the summary (a counter by its name);
over the measurement window (default), a fixed ``window``, ``during`` a fault or ``after``
one (plus ``grace``); or, with ``recovery``, the time from a fault's end until the metric is
back within target. A component's recovery reads its time averages
(:data:`COMPONENT_SERIES_METRICS`) or the counters and ratios its kind reports, not what is
counted per visit (:data:`COMPONENT_VISIT_METRICS`, refused here).

A fault is named by its index in ``faults:`` (``0``), its kind when only one fault has it
(``crash``), or ``kind:target`` (``crash:db``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, WithJsonSchema, field_validator, model_validator

from ..errors import unknown_name
from ..units import parse_duration, parse_rate
from .types import Duration, Name, PositiveDuration, Strict, units_required

LATENCY_METRICS = ("latency_mean", "latency_p50", "latency_p90", "latency_p95", "latency_p99",
                   "latency_p999", "latency_max")
RATIO_METRICS = ("availability", "error_rate")
RATE_METRICS = ("throughput", "goodput")
REQUEST_METRICS = LATENCY_METRICS + RATIO_METRICS + RATE_METRICS
SloMetric = Literal[REQUEST_METRICS]  # type: ignore[valid-type]
SERIES_METRICS = ("latency_p50", "latency_p95", "latency_p99", *RATIO_METRICS, *RATE_METRICS)
"""What the time series carries, so what a recovery time can be measured on."""
DURATION_COMPONENT_METRICS = ("wait_mean", "wait_p99")
"""Component metrics written as durations (``max: 20ms``)."""
COMPONENT_VISIT_METRICS = ("p_wait", "wait_mean", "wait_p99", "visits", "served", "errors", "rejected")
"""Component metrics counted per visit: over a window other than the whole run they need full records."""
STATION_METRICS = ("utilization", "p_wait", "wait_mean", "wait_p99", "queue_len_mean", "in_system_mean", "visits",
                   "visits_per_request", "served", "errors", "rejected", "capacity", "capacity_mean")
"""What every component's summary entry offers an objective, whatever its kind (its visits, waits
and time averages; ``capacity_mean`` is ``capacity`` when it never changed)."""
ALERT_SCORE_METRICS = ("incidents", "detected", "recall", "firings", "matched", "false_alerts", "precision",
                       "time_to_detect_mean", "time_to_detect_max")
"""What ``alerts.SELECTOR.METRIC`` reads off the alert scores (:mod:`simulator.monitoring.alerts`)."""
ALERT_METRIC = re.compile(r"alerts\.([^.\s]+)\.(\w+)")
"""``alerts.SELECTOR.METRIC``: SELECTOR ``all``, a ``severity`` label or an alert's name."""
COMPONENT_SERIES_METRICS = ("utilization", "queue_len_mean", "in_system_mean")
"""Component time averages kept per ``sample_interval`` bucket in both record modes: a recovery time
can be measured on them, as on any counter or ratio the component's kind reports."""

SloBound = Annotated[float | None, WithJsonSchema(
    {"anyOf": [{"type": "number"}, {"type": "string", "description": "with units: 250ms, 0.999, 100/s"},
               {"type": "null"}]})]
FaultRef = Annotated[int | str, WithJsonSchema(
    {"anyOf": [{"type": "integer", "minimum": 0, "description": "index in faults:"},
               {"type": "string", "description": "the fault's kind (when only one has it) or kind:target"}]})]


class SloWindow(Strict):
    """A fixed interval ``[from, to)`` of simulated time (``to`` defaults to the run's ``duration``)."""

    from_: Duration = Field(alias="from")
    to: Duration | None = None

    @model_validator(mode="after")
    def _ordered(self):
        if self.to is not None and self.to <= self.from_:
            raise ValueError("window: `to` must be after `from`")
        return self


class Recovery(Strict):
    """The time from the end of fault ``after`` (its start with ``from: start``) until the metric stays
    within target: at most ``within``. From the start, it is a recovery time objective (RTO) as DR
    plans state it: from the outage to the objective met again, whether or not the outage ends."""

    after: FaultRef
    within: PositiveDuration
    from_: Literal["end", "start"] = Field("end", alias="from")


class Slo(Strict):
    """An objective checked after the run: ``metric`` (of one ``operation``, all, or ``component``)
    within ``max``/``min``, over a window, or back within it soon enough after a fault (``recovery``)."""

    name: str
    component: Name | None = None
    metric: str
    operation: Name | None = None
    max: SloBound = None
    min: SloBound = None
    window: SloWindow | None = None
    during: FaultRef | None = None
    after: FaultRef | None = None
    grace: Duration = 0.0
    recovery: Recovery | None = None

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("component") is not None:
            if not re.fullmatch(r"[A-Za-z_]\w*", value):
                raise ValueError(f"a component metric is a name such as hit_ratio, not {value!r}")
        elif value.startswith("alerts."):
            match = ALERT_METRIC.fullmatch(value)
            if match is None:
                raise ValueError(f"an alert score is alerts.SELECTOR.METRIC (SELECTOR all, a severity or an "
                                 f"alert's name), e.g. alerts.page.recall; not {value!r}")
            if match.group(2) not in ALERT_SCORE_METRICS:
                raise ValueError(unknown_name("alert score", match.group(2), ALERT_SCORE_METRICS))
        elif value not in REQUEST_METRICS:
            raise ValueError(unknown_name("metric", value, REQUEST_METRICS)
                             .replace(")", "; or give `component:` to read a component's metric)"))
        return value

    @field_validator("max", "min", mode="before")
    @classmethod
    def _units(cls, value: Any, info: ValidationInfo) -> Any:
        metric = info.data.get("metric")
        if value is None:
            return value
        alert_time = isinstance(metric, str) and metric.startswith("alerts.") and ".time_to_detect" in metric
        if (metric in LATENCY_METRICS or alert_time
                or (info.data.get("component") and metric in DURATION_COMPONENT_METRICS)):
            return parse_duration(value, require_unit=units_required(info))
        return parse_rate(value) if metric in RATE_METRICS and not info.data.get("component") else value

    @model_validator(mode="after")
    def _bound(self):
        if (self.max is None) == (self.min is None):
            raise ValueError("an SLO needs exactly one of max or min")
        if sum(x is not None for x in (self.window, self.during, self.after, self.recovery)) > 1:
            raise ValueError("an SLO has at most one of window, during, after or recovery")
        if self.grace and self.after is None:
            raise ValueError("grace applies to `after: <fault>` only")
        if self.component is not None and self.operation is not None:
            raise ValueError("an SLO reads a component's metric or an operation's, not both")
        if self.recovery is not None and self.component is None and self.metric not in SERIES_METRICS:
            raise ValueError(f"a recovery time is measured on a time series: metric one of {', '.join(SERIES_METRICS)}")
        if self.alert_score and (self.operation is not None or self.windowed):
            raise ValueError("an alert score is read over the whole run: no operation, window, during, after "
                             "or recovery")
        if self.recovery is not None and self.metric in COMPONENT_VISIT_METRICS:
            raise ValueError(f"a recovery time is measured on a time series: a component's "
                             f"{', '.join(COMPONENT_SERIES_METRICS)} or a counter or ratio its kind reports "
                             f"(not {self.metric}, which is counted per visit)")
        return self

    @property
    def target(self) -> float:
        return self.max if self.max is not None else self.min

    def met_by(self, value: float) -> bool:
        if value != value:  # NaN: nothing measured
            return False
        return value <= self.max if self.max is not None else value >= self.min

    @property
    def alert_score(self) -> bool:
        """Whether it reads an alert score (``alerts.SELECTOR.METRIC``), not a request or component metric."""
        return self.component is None and self.metric.startswith("alerts.")

    @property
    def windowed(self) -> bool:
        """Whether it reads anything but the whole measurement window."""
        return any(x is not None for x in (self.window, self.during, self.after, self.recovery))

    def fault_refs(self) -> list[tuple[tuple, FaultRef]]:
        """``(field path, reference)`` of every fault this SLO names."""
        refs = [(("during",), self.during), (("after",), self.after)]
        if self.recovery is not None:
            refs.append((("recovery", "after"), self.recovery.after))
        return [(path, ref) for path, ref in refs if ref is not None]

    def check(self, index: int, scenario: Any) -> list[tuple[tuple, str]]:
        """Cross-references against *scenario*: the component and faults named, the window, the records."""
        here = ("slos", index)
        problems = []
        if self.component is not None and self.component not in scenario.components:
            problems.append(((*here, "component"), unknown_name("component", self.component,
                                                                 list(scenario.components))))
        rules = getattr(getattr(scenario, "monitoring", None), "rules", None)
        if self.alert_score and not rules:
            problems.append(((*here, "metric"), f"{self.metric} scores alert rules: the scenario has none "
                                                "(monitoring.rules)"))
        elif self.alert_score:
            selector = self.metric.split(".")[1]
            known = ["all", *dict.fromkeys(r.severity for r in rules if r.severity), *(r.alert for r in rules)]
            if selector not in known:
                problems.append(((*here, "metric"), unknown_name("alert selector", selector, known)))
        for path, ref in self.fault_refs():
            try:
                find_fault(ref, scenario.faults)
            except ValueError as exc:
                problems.append(((*here, *path), str(exc)))
        if self.window is not None:
            end = scenario.duration if self.window.to is None else self.window.to
            if self.window.from_ >= scenario.duration or end > scenario.duration:
                problems.append(((*here, "window"), f"the window must lie inside the run (duration "
                                                    f"{scenario.duration:g}s)"))
        spec = scenario.components.get(self.component) if self.component is not None else None
        windowed = self.window or self.during is not None or self.after is not None
        if scenario.records == "summary" and windowed and (spec is None or self.metric in COMPONENT_VISIT_METRICS):
            what = "the requests" if self.component is None else "the visits"
            problems.append(((*here,), f"a window reads {what}: it needs full records (records: full or auto)"))
        if spec is not None and self.recovery is not None and self.metric not in COMPONENT_VISIT_METRICS:
            series = [*COMPONENT_SERIES_METRICS, *timed_metrics(spec, scenario)]
            if self.metric not in series:
                problems.append(((*here, "metric"), f"a recovery time is measured on a time series: component "
                                                    f"{self.component!r} has {', '.join(series)}"))
        if spec is not None and self.metric not in (valid := component_metrics(spec, scenario)):
            problems.append(((*here, "metric"), f"component {self.component!r} ({spec.kind}) does not report "
                                                f"{self.metric!r}: it reports {', '.join(valid)}"))
        if scenario.records == "summary" and self.recovery is not None and self.operation is not None:
            problems.append(((*here, "operation"), "an operation's time series needs full records"))
        return problems

    def extras(self, scenario: Any) -> dict[str, Any]:
        """What the summary's verdict says beyond name/metric/value (only keys that apply)."""
        out: dict[str, Any] = {}
        if self.component is not None:
            out["component"] = self.component
        if self.window is not None or self.during is not None or self.after is not None:
            from ..objectives.windows import resolve_window

            window = resolve_window(self, scenario)
            out["window"] = [window.start, window.end]
        if self.recovery is not None:
            out["recovery"] = {"after": self.recovery.after, "within": self.recovery.within,
                               "threshold": self.target, "threshold_bound": "max" if self.max is not None else "min"}
            if self.recovery.from_ == "start":  # an RTO: counted from the fault's start
                out["recovery"]["from"] = "start"
        return out


def timed_metrics(spec: Any, scenario: Any) -> list[str]:
    """The counters and ratios a component of *spec* reports in *scenario* (its kind's declarations,
    :mod:`simulator.metrics.descriptors`): timestamped, so readable over any window and per bucket."""
    declared = (*getattr(spec, "metrics", ()), *getattr(spec, "shared_metrics", ()))  # as descriptors.of_kind
    return [m.name for m in declared if getattr(m, "timed", False) and m.applies(spec, scenario)]


def component_metrics(spec: Any, scenario: Any) -> list[str]:
    """Every metric an objective can read off a component of *spec* in *scenario*: the station's
    (:data:`STATION_METRICS`), the visits by class (``reads``, ``writes``), the counters, ratios
    and numeric facts its kind declares, and what its steps' record tables add (a saga's outcomes)."""
    from ..steps import kind_of
    from .topology import iter_steps  # topology imports this module

    names = [*STATION_METRICS, *sorted({f"{c}s" for c in spec.visit_classes().values()})]
    declared = (*getattr(spec, "metrics", ()), *getattr(spec, "shared_metrics", ()))  # as descriptors.of_kind
    names += [m.name for m in declared if m.readable and m.applies(spec, scenario)]
    for steps in spec.operation_steps().values():
        for step, _, _ in iter_steps(steps, ()):
            names += kind_of(step).metrics(step)
    return list(dict.fromkeys(names))


def find_fault(ref: FaultRef, faults: list[Any]) -> tuple[int, Any]:
    """``(index, spec)`` of the fault *ref* names in *faults*; ValueError saying what exists."""
    names = [f"{i} ({f.kind}:{getattr(f, 'target', '')})".replace(":)", ")") for i, f in enumerate(faults)]
    listing = f"faults: {', '.join(names)}" if names else "the scenario has no faults"
    if isinstance(ref, bool):
        raise ValueError(f"a fault reference is an index or a name, not {ref!r}")
    if isinstance(ref, int):
        if 0 <= ref < len(faults):
            return ref, faults[ref]
        raise ValueError(f"no fault {ref} ({listing})")
    kind, _, target = ref.partition(":")
    hits = [(i, f) for i, f in enumerate(faults)
            if f.kind == kind and (not target or getattr(f, "target", None) == target)]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise ValueError(f"no fault {ref!r} ({listing})")
    raise ValueError(f"{ref!r} names {len(hits)} faults: give kind:target or an index ({listing})")
