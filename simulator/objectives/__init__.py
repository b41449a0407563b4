"""Objectives: one place that parses, reads and judges "metric within target".

Every consumer uses this module: a scenario's ``slos:`` (``Result.summary()["slos"]``),
sweep records (``slo.<name>.value``), :func:`~simulator.experiments.planning.knee` and
:func:`~simulator.experiments.planning.plan`, and the lab grader.

**An objective** (:class:`Objective`) is ``metric`` within ``target``: at most (``bound``
``"max"``) or at least (``"min"``). What it reads:

* a request-level metric, overall or of one ``operation``: ``latency_mean`` …
  ``latency_max``, ``availability``, ``error_rate`` (1 − availability), ``throughput`` and
  ``goodput`` (per second);
* a component's metric, read by name from ``summary()["components"][component]``: whatever
  the kind reports there (``utilization``, ``p_wait``, ``queue_len_mean``, a cache's
  ``hit_ratio``, a database's ``stale_ratio``, …; ``wait_mean``/``wait_p99`` are
  ``wait_s.mean``/``wait_s.p99``; a counter by its name, ``lost_writes``: ``counts.<name>``).
  A name the component does not have is an error that lists the names it has;
* a scenario SLO's verdict column in a sweep record (``slo.<name>.value``).
* an alert score, when the scenario has ``monitoring.rules``: ``alerts.SELECTOR.METRIC``
  with SELECTOR ``all``, a ``severity`` label or an alert's name and METRIC ``recall``,
  ``precision``, ``false_alerts``, ``time_to_detect_max``, … (``summary()["alerts"]``,
  :func:`simulator.monitoring.alerts.score_value`): ``alerts.page.false_alerts<=0``.

**Where it reads** (:class:`Window`, from a scenario ``Slo``): the measurement window
(default), a fixed interval (``window: {from: 20s, to: 60s}``), a fault's active interval
(``during: <fault>``) or from a fault's end plus a grace period to the end of the
measurement window (``after: <fault>``, ``grace: 5s``). A window reads, with the summary's
definitions, the requests *issued* in it, or for a component
(:meth:`~simulator.metrics.result.Result.component_window`) the visits *arriving* in it,
the events its counters tallied in it (a ratio is Σ numerator / Σ denominator over the
window) and its time averages over it. Request windows need full records. With summary
records (``records: summary``, or ``auto`` on a very large run) a component's counters,
ratios and time averages are summed from the ``sample_interval`` buckets, so a window whose
edges lie on that grid still reads them; its per-visit metrics (``p_wait``, waits, visit
counts) and any edge off the grid need full records. What cannot be read gives ``None``:
the objective fails, with ``unavailable`` saying why.

**Recovery time** (``recovery: {after: <fault>, within: 30s}``): the value becomes the time
from the fault's end until the metric's time series (buckets of ``sample_interval``, by
completion time, as ``Result.timeseries_at``) stays within the target up to the end of the
measurement window, at bucket precision (the end of the last bucket that breaks it, minus
the fault's end; 0 when none breaks it after the end). It is judged at most ``within``.
``None`` (fails) when the series still breaks in the last bucket. It works with summary
records too, for the series' metrics (``latency_p50``/``p95``/``p99``, ``availability``,
``error_rate``, ``throughput``, ``goodput``; per operation needs full records), and for a
component's ``utilization``, ``queue_len_mean``, ``in_system_mean`` and the counters
(events per bucket) and ratios its kind reports; a component's per-visit metrics have no
series and are refused when the scenario is loaded.

**Judging over replications** (:func:`judge`): the values of R runs give a 95 % Student t
interval (:func:`simulator.stats.mean_interval`); the objective is met when the interval's
bound on the wrong side meets the target: the upper bound for ``max``, the lower for
``min`` (with R = 1 the value itself). A run where nothing was measured (``None``) fails it.

**Text** (:func:`parse_objective`): ``METRIC[.OPERATION](<=|>=)VALUE`` with units
(``latency_p99<=500ms``, ``availability>=0.99``, ``throughput>=100/s``,
``latency_p99.buy<=300ms``) or ``component.NAME.METRIC(<=|>=)VALUE``
(``component.cache.hit_ratio>=0.9``, ``component.db.wait_mean<=20ms``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from ..stats import mean_interval

__all__ = ["Check", "Objective", "Window", "judge", "objective_of", "parse_objective", "unit_of"]

from ..scenario.slo import (DURATION_COMPONENT_METRICS, LATENCY_METRICS, RATE_METRICS, REQUEST_METRICS,  # noqa: F401
                           SERIES_METRICS)

OPERATION_COLUMNS = ("availability", "error_rate", "goodput", "latency_mean", "latency_p50", "latency_p99")
"""Request metrics a sweep record carries per operation (``op.<operation>.<metric>``)."""
COMPONENT_ALIASES = {"wait_mean": ("wait_s", "mean"), "wait_p99": ("wait_s", "p99")}
"""Component metric names that live nested in the summary."""

_SLO_RE = re.compile(r"\s*([A-Za-z_][\w.\-]*)\s*(<=|>=|≤|≥)\s*(\S.*?)\s*\Z")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RECORD_COLUMNS = {"throughput": "throughput_rps", "goodput": "goodput_rps"}


# ----------------------------------------------------------------------------- the objective


@dataclass(frozen=True)
class Window:
    """Where an objective reads: ``[start, end)`` in simulated seconds, or a recovery time.

    ``recovery_from`` set: the objective's value is the time from that moment (a fault's
    end) until the metric stays within its target (see the module docstring); ``start``
    and ``end`` then bound the series read (``end``: the measurement window's end).
    """

    start: float
    end: float
    recovery_from: float | None = None


@dataclass(frozen=True)
class Objective:
    """``metric`` within ``target`` (see the module docstring).

    ``column`` is what a flat sweep record calls the value (``latency_p99``,
    ``op.buy.latency_p99``, ``component.db.p_wait``, ``slo.<name>.value``). ``metric``,
    ``operation`` and ``component`` say what a summary is read for. ``recovery``: a
    recovery-time objective on a metric whose own threshold is ``threshold``.
    """

    name: str
    column: str
    bound: str
    target: float
    unit: str = field(default="", compare=False)
    """How a person reads the values: ``"s"`` (a duration), ``"%"`` (a ratio), ``"req/s"`` or ``""``."""
    metric: str = field(default="", compare=False)
    operation: str | None = field(default=None, compare=False)
    component: str | None = field(default=None, compare=False)
    slo: Any = field(default=None, compare=False, repr=False)
    """The scenario ``Slo`` this objective was made from (its window and recovery), if any."""

    # -- reading ----------------------------------------------------------------------------
    def value(self, data: Mapping[str, Any]) -> float | None:
        """The value in *data*: a ``summary()`` dict (it has ``components``) or a flat sweep record."""
        if isinstance(data.get("components"), Mapping) and "latency_s" in data:
            return self.read_summary(data)
        return self.read_record(data)

    def read_record(self, record: Mapping[str, Any]) -> float | None:
        """The value in a flat sweep record (``None`` when missing or not a number)."""
        if self.column.endswith("error_rate"):
            availability = record.get(self.column.removesuffix("error_rate") + "availability")
            return None if availability is None else 1.0 - availability
        value = record.get(self.column)
        return None if value is None or isinstance(value, (bool, str)) else float(value)

    def measured_in(self, record: Mapping[str, Any]) -> bool:
        """Whether *record* has this objective's column at all (a misspelt component has not)."""
        column = self.column
        if column.endswith("error_rate"):
            column = column.removesuffix("error_rate") + "availability"
        return column in record

    def read_summary(self, summary: Mapping[str, Any]) -> float | None:
        """The value in a ``summary()`` dict (whole measurement window).

        Raises ValueError naming the valid names when the component, or its metric, does not exist.
        """
        if self.component is not None:
            return component_value(summary, self.component, self.metric)
        if self.column.startswith("alerts."):  # alerts.SELECTOR.METRIC (simulator.monitoring.alerts)
            from ..monitoring.alerts import score_value

            return score_value(summary, *self.column[7:].rsplit(".", 1))
        if self.column.startswith("slo."):
            name = self.column[4:].removesuffix(".value")
            entry = next((s for s in summary.get("slos", []) if s["name"] == name), None)
            return None if entry is None else entry["value"]
        return request_value(summary, self.metric, self.operation)

    def met_by(self, value: float | None) -> bool:
        """Whether one value meets the target (``None`` or not finite: no)."""
        if value is None or not math.isfinite(value):
            return False
        return value <= self.target if self.bound == "max" else value >= self.target

    # -- making ------------------------------------------------------------------------------
    @classmethod
    def from_slo(cls, slo: Any) -> "Objective":
        """A scenario SLO (:class:`simulator.scenario.model.Slo`). In a sweep record it is
        read as ``slo.<name>.value`` (measured by the run over the SLO's own window)."""
        return objective_of(slo, column=f"slo.{slo.name}.value")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "column": self.column, "bound": self.bound, "target": self.target,
                "unit": self.unit}


def unit_of(metric: str) -> str:
    """The unit a person reads *metric* in (see :attr:`Objective.unit`)."""
    if metric.startswith("alerts."):  # alerts.SELECTOR.METRIC
        score = metric.rsplit(".", 1)[-1]
        return "s" if score.startswith("time_to_detect") else "%" if score in ("recall", "precision") else ""
    if metric.startswith("latency_") or metric in DURATION_COMPONENT_METRICS:
        return "s"
    if metric in ("availability", "error_rate", "utilization", "p_wait") or metric.endswith("_ratio"):
        return "%"
    return "req/s" if metric in RATE_METRICS else ""


def objective_of(slo: Any, column: str | None = None) -> Objective:
    """The :class:`Objective` of a scenario ``Slo`` (its window and recovery come along)."""
    bound = "max" if slo.max is not None else "min"
    component = getattr(slo, "component", None)
    if column is None:
        column = record_column(slo.metric, slo.operation, component)
    recovery = getattr(slo, "recovery", None)
    if recovery is not None:
        return Objective(slo.name, column, "max", float(recovery.within), "s", slo.metric, slo.operation, component,
                         slo)
    return Objective(slo.name, column, bound, float(slo.target), unit_of(slo.metric), slo.metric, slo.operation,
                     component, slo)


def record_column(metric: str, operation: str | None = None, component: str | None = None) -> str:
    """The flat record column of a metric: ``latency_p99``, ``op.buy.latency_p99``, ``throughput_rps``,
    ``component.db.p_wait``."""
    if component is not None:
        return f"component.{component}.{metric}"
    if operation is None:
        return _RECORD_COLUMNS.get(metric, metric)
    return f"op.{operation}.{'goodput_rps' if metric == 'goodput' else _RECORD_COLUMNS.get(metric, metric)}"


# ----------------------------------------------------------------------------- reading a summary


def request_value(summary: Mapping[str, Any], metric: str, operation: str | None) -> float | None:
    """Read a request-level *metric* (for *operation*, or overall) off a summary."""
    scope = summary if operation is None else summary["operations"].get(operation)
    if scope is None:
        return None
    if metric in LATENCY_METRICS:
        return scope["latency_s"][metric.removeprefix("latency_")]
    if metric == "availability":
        return scope["availability"]
    if metric == "error_rate":
        return None if scope["availability"] is None else 1.0 - scope["availability"]
    return scope[f"{metric}_rps"]


def component_metrics(entry: Mapping[str, Any]) -> list[str]:
    """The metric names a component's summary entry offers (numbers, the nested waits, the counters)."""
    names = [k for k, v in entry.items() if isinstance(v, (int, float)) and not isinstance(v, bool) or
             (v is None and k != "kind")]
    names += [alias for alias, (outer, _) in COMPONENT_ALIASES.items() if outer in entry]
    names += [k for k in entry.get("counts", {}) if k not in entry and re.fullmatch(r"[A-Za-z_]\w*", k)]
    return sorted(names)


def component_value(summary: Mapping[str, Any], component: str, metric: str) -> float | None:
    """``summary["components"][component][metric]``; ValueError listing the valid names if absent."""
    from ..errors import unknown_name

    components = summary["components"]
    if component not in components:
        raise ValueError(unknown_name("component", component, sorted(components)))
    entry = components[component]
    if metric in COMPONENT_ALIASES:
        outer, inner = COMPONENT_ALIASES[metric]
        if outer in entry:
            return entry[outer][inner]
    if metric not in component_metrics(entry) and metric != "capacity_mean":
        raise ValueError(f"component {component!r}: "
                         + unknown_name("metric", metric, component_metrics(entry)))
    if metric == "capacity_mean" and metric not in entry:  # the capacity never changed
        metric = "capacity"
    value = entry[metric] if metric in entry else entry["counts"][metric]
    return None if value is None else float(value)


# ----------------------------------------------------------------------------- text


def _target(metric: str, text: str, slo: str) -> float:
    from ..units import parse_duration, parse_rate

    try:
        if metric.startswith("latency_") or metric in DURATION_COMPONENT_METRICS:
            value = parse_duration(text, require_unit=True)  # latency_p99<=500: 500 s or 500 ms?
        elif metric in RATE_METRICS:
            value = parse_rate(text)
        else:
            if not re.fullmatch(_NUMBER, text):
                raise ValueError(f"{text!r} is not a number")
            value = float(text)
    except ValueError as exc:
        raise ValueError(f"--slo {slo!r}: bad target: {exc}") from None
    if not math.isfinite(value):
        raise ValueError(f"--slo {slo!r}: the target must be a finite number")
    return value


def parse_objective(text: str) -> Objective:
    """``METRIC[.OPERATION](<=|>=)VALUE`` or ``component.NAME.METRIC(<=|>=)VALUE`` → an
    :class:`Objective` (see the module docstring). Raises ValueError on a bad string."""
    if not isinstance(text, str):
        raise ValueError(f"an SLO is text such as 'latency_p99<=500ms', not {type(text).__name__}")
    match = _SLO_RE.match(text)
    if not match:
        raise ValueError(f"--slo {text!r}: expected METRIC[.OPERATION]<=VALUE or >=VALUE, e.g. latency_p99<=500ms, "
                         "availability>=0.99, latency_p99.buy<=300ms, component.db.p_wait<=0.2")
    lhs, op, rhs = match.groups()
    bound = "max" if op in ("<=", "≤") else "min"
    parts = lhs.split(".")
    if parts[0] == "component":
        if len(parts) != 3 or not parts[1] or not re.fullmatch(r"[A-Za-z_]\w*", parts[2]):
            raise ValueError(f"--slo {text!r}: expected component.NAME.METRIC with METRIC a metric the component "
                             "reports (utilization, p_wait, wait_mean, queue_len_mean, hit_ratio, …)")
        return Objective(text.strip(), lhs, bound, _target(parts[2], rhs, text), unit_of(parts[2]), parts[2], None,
                         parts[1])
    if parts[0] == "alerts":  # alerts.SELECTOR.METRIC: the alert scores (simulator.monitoring.alerts)
        if len(parts) != 3 or not parts[1]:
            raise ValueError(f"--slo {text!r}: expected alerts.SELECTOR.METRIC, SELECTOR all, a severity or an "
                             "alert's name, e.g. alerts.page.false_alerts<=0, alerts.all.recall>=1")
        unit = unit_of(lhs)
        if unit == "s":
            from ..units import parse_duration

            target = parse_duration(rhs, require_unit=True)
        else:
            target = _target(parts[2], rhs, text)
        return Objective(text.strip(), lhs, bound, target, unit, parts[2])
    metric, operation = parts[0], ".".join(parts[1:]) or None
    if metric not in REQUEST_METRICS:
        from ..errors import unknown_name

        raise ValueError(f"--slo {text!r}: {unknown_name('metric', metric, REQUEST_METRICS)[:-1]}, "
                         "or component.NAME.METRIC)")
    if operation is not None and metric not in OPERATION_COLUMNS:
        raise ValueError(f"--slo {text!r}: per operation, the metric is one of {', '.join(OPERATION_COLUMNS)}")
    return Objective(text.strip(), record_column(metric, operation), bound, _target(metric, rhs, text),
                     unit_of(metric), metric, operation)


# ----------------------------------------------------------------------------- judging


@dataclass(frozen=True)
class Check:
    """One objective judged over R runs: mean, standard error, the bound judged and the verdict."""

    name: str
    target: float
    bound: str
    mean: float | None
    se: float | None
    confidence_bound: float | None
    n: int
    met: bool
    unit: str = ""
    """As :attr:`Objective.unit`."""

    @property
    def relation(self) -> str:
        """How the judged bound stands to the target: ``≤``/``≥`` when met, ``>``/``<`` when not."""
        if self.bound == "max":
            return "≤" if self.met else ">"
        return "≥" if self.met else "<"

    @property
    def margin(self) -> float | None:
        """How far the judged bound is inside the target (negative: outside)."""
        if self.confidence_bound is None:
            return None
        return (self.target - self.confidence_bound if self.bound == "max"
                else self.confidence_bound - self.target)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "target": self.target, "bound": self.bound, "mean": self.mean, "se": self.se,
                "confidence_bound": self.confidence_bound, "n": self.n, "met": self.met, "unit": self.unit}


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def judge(objective: Objective, values: Sequence[float | None]) -> Check:
    """The :class:`Check` of *objective* over the replications' *values* (module docstring rule).

    *values* may also be summaries or flat records: each is read with :meth:`Objective.value`.
    """
    values = [objective.value(v) if isinstance(v, Mapping) else v for v in values]
    if not values or any(v is None or not math.isfinite(v) for v in values):
        clean = [v for v in values if v is not None and math.isfinite(v)]
        ci = mean_interval(clean)
        return Check(objective.name, objective.target, objective.bound, _finite(ci.mean), _finite(ci.se), None,
                     len(values), False, objective.unit)
    ci = mean_interval(values)
    bound = (ci.high if objective.bound == "max" else ci.low) if ci.n > 1 else ci.mean
    return Check(objective.name, objective.target, objective.bound, ci.mean, _finite(ci.se), bound, ci.n,
                 objective.met_by(bound), objective.unit)


# ----------------------------------------------------------------------------- one run


def measure(objective: Objective, result: Any, summary: Mapping[str, Any] | None = None
            ) -> tuple[float | None, str | None]:
    """The objective's value in one run (a :class:`~simulator.metrics.result.Result`) over its
    window, and why it is unavailable (``None`` when it is). *summary*: the run's summary, if
    already computed (whole-window objectives read it)."""
    from .windows import recovery_time, resolve_window, window_value

    window = resolve_window(objective.slo, result.scenario) if objective.slo is not None else None
    if window is None:
        summary = summary if summary is not None else result.summary()
        if objective.column.startswith("alerts."):  # a design may have no rule the selector names: unmeasured
            try:
                return objective.read_summary(summary), None
            except ValueError as exc:
                return None, str(exc)
        return objective.read_summary(summary), None
    if window.recovery_from is not None:
        return recovery_time(objective, result, window)
    return window_value(objective, result, window)


def verdict(objective: Objective, result: Any, summary: Mapping[str, Any]) -> dict[str, Any]:
    """One ``summary()["slos"]`` entry: name, metric, operation, passed, value, target, bound
    (and ``component``, ``window``, ``recovery``, ``unavailable`` when they apply)."""
    slo = objective.slo
    value, unavailable = measure(objective, result, summary)
    entry = {"name": slo.name, "metric": slo.metric, "operation": slo.operation,
             "passed": objective.met_by(float("nan") if value is None else value), "value": value,
             "target": slo.target if slo.recovery is None else slo.recovery.within, "bound": objective.bound}
    entry.update(slo.extras(result.scenario))
    if unavailable:
        entry["unavailable"] = unavailable
    return entry


def with_target(objective: Objective, target: float) -> Objective:
    """*objective* with another target (a swept target)."""
    return replace(objective, target=float(target))
