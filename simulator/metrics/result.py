"""The outcome of one run: its records (full or summary) plus everything derived from them.

:class:`Result` holds plain numpy data (picklable, so sweeps can ship it between
processes) and derives, on demand:

* :meth:`Result.summary` — the JSON contract (seconds, SI units);
* :attr:`Result.requests`, :attr:`Result.spans`, :attr:`Result.timeseries`,
  :attr:`Result.component_timeseries`, :attr:`Result.faults` — pandas DataFrames
  (:mod:`simulator.metrics.frames`);
* :attr:`Result.plot` — its charts, drawn by :mod:`simulator.viz` (:mod:`simulator.metrics.plots`).

Definitions. The measurement window is ``[warmup, duration)`` by issue time. Latency
statistics are over *successful* requests (failures are counted in availability, not
mixed into latency). ``throughput`` = requests answered (ok, error or rejected) per second,
counted by completion time inside the window (so an overloaded system shows what it
really serves); ``goodput`` = ok ones; ``availability`` = ok / issued. Per component:
``utilization`` = time-average busy workers / workers over the window; ``p_wait`` = share
of visits (arriving in the window) that queued; ``wait_s`` = time queued before a worker
took the visit; ``sojourn_s`` = time per visit at the component itself, arrival to its own
work done (wait + work; not the downstream calls its steps make); ``visits_per_request`` =
visits arriving in the window / requests issued in the window (the visit ratio ``V``; every
retried attempt and hedged copy is a visit, so it is the load amplification from the top at
that layer: 1, 3, 9, 27 down three layers of 3 attempts against a dead bottom, golden G14.1);
``queue_len_mean`` = time-average number queued; ``in_system_mean`` = time-average number
of visits inside (arrival to end, downstream calls included). Then what the kind declares
and reports for this component (:meth:`Result.reported`, :mod:`~.descriptors`): ``counts``
(each counter's events in the window, 0 when none; a share's ``<name>:<i>``), each ratio of
those counts (``None`` with nothing to divide) and each fact (``None`` when not given).
:meth:`Result.component_window` gives the same entry over any other interval.

Records (``summary()["records"]``, chosen by :mod:`simulator.metrics.records`):

* ``full`` — one row per request (:class:`~.exact.RequestColumns`) and per component
  visit (:class:`~.exact.SpanColumns`): everything is exact and every method works;
* ``summary`` — aggregates only (:mod:`simulator.metrics.aggregates`): ``summary()`` has
  the same keys and the same counts, ratios, means, maxima and time averages (up to float
  summation order); its percentiles are within 1 % relative error of the exact ones
  (``aggregates.LATENCY_ACCURACY``; 2 % for the time series' p50/p95/p99).
  ``timeseries_at``, ``component_timeseries_at`` and ``tally_timeseries_at`` answer for
  the ``sample_interval`` and its integer multiples (:meth:`Result.bucket_width` rounds a
  width up to one); other intervals, and ``requests``, ``spans``, ``latencies()`` and
  the raw span columns, need full records and raise
  :class:`~.grid.FullRecordsRequired` saying so. :meth:`Result.latency_quantiles` and
  :meth:`Result.latency_distribution` work in both modes (charts use them).

Time buckets follow one rule in both modes (:mod:`simulator.metrics.grid`): half-open
``[a, b)``, the last bucket closed when it reaches the run's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.request import ERROR, OK, REJECTED
from ..errors import unknown_name
from ..scenario.model import Scenario
from .aggregates import ComponentAggregates, RequestAggregates
from .descriptors import Counter, Fact, Metric, Ratio, Share, reported, undeclared
from .exact import RequestColumns, SpanColumns, grouped_quantiles
from .grid import FullRecordsRequired, is_multiple, snap
from .frames import Frames
from .plots import CHARTS, Charts  # noqa: F401  (CHARTS: where the charts come from, kept importable here)
from .records import RecordsChoice
from .tables import RecordTable, lookup
from .window import (QUANTILES, STATUS_NAMES, ComponentWindow, RequestWindow, latency_stats)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["QUANTILES", "STATUS_NAMES", "ComponentRecords", "FullRecordsRequired", "Result", "grouped_quantiles",
           "latency_stats", "slo_value"]


class UndeclaredMetric(ValueError):
    """A component's runtime emitted a tally or fact its kind's spec does not declare (or not for this setting)."""


def _needs_full(what: str, choice: RecordsChoice | None) -> FullRecordsRequired:
    why = choice.reason if choice is not None else "summary"
    return FullRecordsRequired(
        f"{what} needs full records, but this run kept summary records only (records: {why}). "
        "Rerun with records: full (the scenario's `records` field, `sdsim run --records full`, or "
        "simulate(scenario, records='full')).")


def _span_column(name: str):
    def get(self: "ComponentRecords") -> np.ndarray:
        return getattr(self._spans(f"ComponentRecords.{name}"), name)

    return property(get, doc=f"``{name}`` of every span (full records only).")


@dataclass
class ComponentRecords:
    """One component's records: its spans and tallies (full) or their aggregates (summary), and its metadata."""

    name: str
    kind: str
    capacity: int
    operations: list[str]
    labels: dict[str, str]
    spans: SpanColumns | None = None
    aggregates: ComponentAggregates | None = None
    tally_names: list[str] = field(default_factory=list)
    ratios: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    capacity_steps: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    facts: dict[str, Any] = field(default_factory=dict)
    records: RecordsChoice | None = field(default=None, repr=False)
    tables: dict[str, RecordTable] = field(default_factory=dict)

    arrival = _span_column("arrival")
    start = _span_column("start")
    release = _span_column("release")
    done = _span_column("done")
    end = _span_column("end")
    status = _span_column("status")
    op = _span_column("op")
    tally_time = _span_column("tally_time")
    tally_code = _span_column("tally_code")

    def _spans(self, what: str) -> SpanColumns:
        if self.spans is None:
            raise _needs_full(what, self.records)
        return self.spans

    @property
    def _source(self) -> SpanColumns | ComponentAggregates:
        return self.spans if self.spans is not None else self.aggregates

    def table(self, name: str) -> "pd.DataFrame":
        """This component's record table *name* (:mod:`.tables`), one column per field; a ``"count"``
        table needs full records (its size is ``tables[name].count`` in both modes)."""
        table = lookup(self.tables, name, f"component {self.name!r}")
        if table.rows is None:
            raise _needs_full(f"the rows of table {name!r}", self.records)
        return table.frame()

    def capacity_integral(self, lo: float, hi: float) -> float:
        """∫_lo^hi provisioned workers dt (capacity is piecewise constant between its steps)."""
        steps = self.capacity_steps
        if steps.shape[0] <= 1:
            return self.capacity * (hi - lo)
        times = np.append(steps[:, 0], np.inf)
        caps = steps[:, 1]
        overlap = np.clip(np.minimum(times[1:], hi) - np.maximum(times[:-1], lo), 0.0, None)
        return float((overlap * caps).sum())

    def capacity_averages(self, edges: np.ndarray) -> np.ndarray:
        """Mean provisioned workers in each bucket of *edges*."""
        if self.capacity_steps.shape[0] <= 1:
            width = np.diff(edges)
            return self.capacity * width / width
        return np.array([self.capacity_integral(a, b) / (b - a) for a, b in zip(edges[:-1], edges[1:])])

    def tally_counts(self, lo: float, hi: float) -> dict[str, int]:
        """How many of each tallied event happened in [lo, hi) (summary records: the window, or grid edges)."""
        return self._source.tally_counts(lo, hi, self.tally_names)

    def window(self, lo: float, hi: float) -> ComponentWindow:
        """The numbers :meth:`Result.summary` reports for this component over [lo, hi) (the window)."""
        return self._source.window(lo, hi, len(self.operations), self.tally_names)

    def bucket_averages(self, edges: np.ndarray, end_time: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean busy workers, queued and inside per bucket of *edges*."""
        return self._source.bucket_averages(edges, end_time)

    def arrival_buckets(self, edges: np.ndarray, end_time: float) -> np.ndarray:
        """Visits arriving in each bucket of *edges*, whatever their status (the offered load)."""
        return self._source.arrival_buckets(edges, end_time)

    def tally_buckets(self, edges: np.ndarray, end_time: float) -> list[np.ndarray]:
        """Per tally name (by code) its count in each bucket of *edges*."""
        return self._source.tally_buckets(edges, end_time, self.tally_names)


def _request_column(name: str):
    def get(self: "Result") -> np.ndarray:
        return getattr(self._columns(f"Result.{name}"), name)

    return property(get, doc=f"``{name}`` of every request (full records only).")


@dataclass
class Result(Frames):
    """Everything one run recorded. Build with :func:`simulator.simulate`.

    The summary is computed here; the DataFrames come from :class:`~.frames.Frames`; the charts
    from :attr:`plot` (``result.plot.latency()``, filled by :mod:`simulator.viz`).
    """

    scenario: Scenario
    seed: int
    end_time: float
    operation_keys: list[tuple[str, str]]
    components: dict[str, ComponentRecords]
    columns: RequestColumns | None = None
    aggregates: RequestAggregates | None = None
    fault_events: list[dict[str, Any]] = field(default_factory=list)
    scaling_events: list[dict[str, Any]] = field(default_factory=list)
    wall_time_s: float = 0.0
    events: int = 0
    records: RecordsChoice | None = None
    tables: dict[str, RecordTable] = field(default_factory=dict)
    traces: Any = None  # simulator.tracing.traces.Traces of a scenario with tracing: (None without)
    folded_scrape: Any = None  # summary records with monitoring: simulator.monitoring.folding.Folded

    t_issue = _request_column("t_issue")
    t_end = _request_column("t_end")
    status = _request_column("status")
    workload = _request_column("workload")
    operation = _request_column("operation")

    def __post_init__(self) -> None:
        """Bind each component's records to what its kind declares: the ratios come from the
        declarations, and a tally or fact the runtime emitted without a declaration is an error."""
        for name, rec in self.components.items():
            metrics = self.reported(name)
            wrong = undeclared(metrics, rec.tally_names, rec.facts)
            if wrong:
                names = ", ".join(m.name for m in metrics) or "nothing"
                raise UndeclaredMetric(f"component {name!r} (kind {rec.kind}) emitted {', '.join(map(repr, wrong))}, "
                                       f"which its spec does not report here (it reports: {names}); declare it in "
                                       "the kind's spec.py `metrics` (simulator.metrics.descriptors)")
            rec.ratios = {r.name: (r.numerator, r.denominator) for r in metrics if isinstance(r, Ratio)}

    # -- records -----------------------------------------------------------------------------
    @property
    def records_mode(self) -> str:
        """``"full"`` (one row per request and visit) or ``"summary"`` (aggregates only)."""
        return "full" if self.columns is not None else "summary"

    def _columns(self, what: str) -> RequestColumns:
        if self.columns is None:
            raise _needs_full(what, self.records)
        return self.columns

    @property
    def _source(self) -> RequestColumns | RequestAggregates:
        return self.columns if self.columns is not None else self.aggregates

    def table(self, name: str) -> "pd.DataFrame":
        """The run-wide record table *name* (:mod:`.tables`), one column per field; a ``"count"`` table
        needs full records (its size is ``tables[name].count`` in both modes)."""
        table = lookup(self.tables, name, "this run")
        if table.rows is None:
            raise _needs_full(f"the rows of table {name!r}", self.records)
        return table.frame()

    def bucket_width(self, width: float) -> float:
        """A time-series interval near *width* that this result can answer: *width* itself with full
        records, else the smallest multiple of the ``sample_interval`` at least as wide."""
        step = self.scenario.sample_interval
        if self.columns is not None or is_multiple(width, step):
            return width
        return snap(width, step)

    # -- selections ------------------------------------------------------------------------
    @property
    def window(self) -> tuple[float, float]:
        return self.scenario.warmup, self.scenario.duration

    def in_window(self) -> np.ndarray:
        lo, hi = self.window
        t_issue = self._columns("Result.in_window()").t_issue
        return (t_issue >= lo) & (t_issue < hi)

    def operation_names(self) -> list[str]:
        """Display name per operation id: the operation, or ``entry.operation`` if ambiguous."""
        ops = [op for _, op in self.operation_keys]
        return [op if ops.count(op) == 1 else f"{entry}.{op}" for entry, op in self.operation_keys]

    def _request_window(self) -> RequestWindow:
        if self.columns is not None:
            return self.columns.window(*self.window, len(self.scenario.workload), len(self.operation_keys))
        return self.aggregates.window()

    # -- the JSON contract -------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The run's headline numbers (see the module docstring for definitions)."""
        window = self.scenario.window
        stats = self._request_window()
        counts = stats.status_counts()
        issued = int(stats.counts.sum())
        summary: dict[str, Any] = {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "duration_s": self.scenario.duration,
            "warmup_s": self.scenario.warmup,
            "records": self.records_mode,
            "requests": {"issued": issued, **counts},
            "latency_s": stats.latency,
            "throughput_rps": int(stats.answered.sum()) / window,
            "goodput_rps": int(stats.good.sum()) / window,
            "availability": counts["ok"] / issued if issued else None,
            "operations": self._operations(stats),
            "components": {name: self._component(rec, issued=issued) for name, rec in self.components.items()},
        }
        monitoring = self.scenario.monitoring
        if monitoring is not None and monitoring.rules:  # alerting: scores an objective can read (alerts.*)
            from ..monitoring.alerts import summary_of

            summary["alerts"] = summary_of(self)
        summary["slos"] = self._slos(summary)
        return summary

    def _operations(self, stats: RequestWindow) -> dict[str, Any]:
        out = {}
        window = self.scenario.window
        for op_id, name in enumerate(self.operation_names()):
            op = stats.operation(op_id)
            out[name] = {"issued": op.issued, "ok": op.ok, "availability": op.ok / op.issued if op.issued else None,
                         "throughput_rps": op.answered / window, "goodput_rps": op.good / window,
                         "latency_s": op.latency}
        return out

    def _component(self, rec: ComponentRecords, lo: float | None = None, hi: float | None = None,
                   issued: int | None = None) -> dict[str, Any]:
        """The summary entry of *rec* over ``[lo, hi)`` (default: the measurement window); *issued* is the
        number of requests issued in it when the caller has counted them."""
        if lo is None or hi is None:
            lo, hi = self.window
        if issued is None:
            issued = self._issued(lo, hi)
        stats = rec.window(lo, hi)
        visits = stats.visits
        out = {
            "kind": rec.kind,
            "utilization": stats.busy_mean * (hi - lo) / rec.capacity_integral(lo, hi),
            "p_wait": stats.p_wait,
            "wait_s": {"mean": stats.wait_mean, "p99": stats.wait_p99},
            "sojourn_s": stats.sojourn,
            "queue_len_mean": stats.queue_mean,
            "in_system_mean": stats.inside_mean,
            "visits": int(visits.sum()),
            "visits_per_request": int(visits.sum()) / issued if issued else None,
            "served": int(visits[:, OK].sum()),
            "errors": int(visits[:, ERROR].sum()),
            "rejected": int(visits[:, REJECTED].sum()),
            "capacity": rec.capacity,
        }
        if rec.capacity_steps.shape[0] > 1:
            out["capacity_mean"] = rec.capacity_integral(lo, hi) / (hi - lo)
        if rec.labels:
            for label in sorted(set(rec.labels.values())):
                ids = [i for i, op in enumerate(rec.operations) if rec.labels.get(op) == label]
                out[f"{label}s"] = int(visits[ids, OK].sum())
        out.update(self._declared(rec, stats.tallies))
        for table in rec.tables.values():  # what a digested table adds (a saga's outcomes)
            out.update(table.entries)
        return out

    def _issued(self, lo: float, hi: float) -> int:
        """Client requests issued in ``[lo, hi)``: any interval with full records, the window with summary ones."""
        if self.columns is not None:
            t_issue = self.columns.t_issue
            return int(np.count_nonzero((t_issue >= lo) & (t_issue < hi)))
        if (lo, hi) != tuple(self.window):
            raise _needs_full("requests issued outside the measurement window", self.records)
        return int(self.aggregates.counts.sum())

    def component_window(self, component: str, start: float, end: float) -> dict[str, Any]:
        """The summary entry of *component* over ``[start, end)`` instead of the measurement window.

        The same definitions: visits *arriving* in the interval (waits and sojourns, ``p_wait``,
        counts by status, and per request issued in it ``visits_per_request``), tallied events that happened in it (``counts`` and the declared ratios of
        those counts) and time averages over it (``utilization``, ``queue_len_mean``,
        ``in_system_mean``). Summary records keep visits and waits for the measurement window
        only: over another interval their entry has the time averages, counts, ratios and
        facts, summed from the ``sample_interval`` buckets (an edge off that grid raises
        :class:`~.grid.FullRecordsRequired`), and no visit statistics.
        """
        if component not in self.components:
            raise KeyError(unknown_name("component", component, list(self.components)))
        rec = self.components[component]
        if rec.spans is not None or (start, end) == tuple(self.window):
            return self._component(rec, start, end)
        busy, queue, inside = (float(a[0]) for a in rec.bucket_averages(np.array([start, end]), self.end_time))
        width, provisioned = end - start, rec.capacity_integral(start, end)
        out = {"kind": rec.kind, "utilization": busy * width / provisioned, "queue_len_mean": queue,
               "in_system_mean": inside, "capacity": rec.capacity}
        if rec.capacity_steps.shape[0] > 1:
            out["capacity_mean"] = provisioned / width
        out.update(self._declared(rec, rec.tally_counts(start, end)))
        return out

    def _declared(self, rec: ComponentRecords, emitted: dict[str, int]) -> dict[str, Any]:
        """The declared part of a component's entry, from the tallies *emitted* in its interval:
        ``counts`` (every reported counter, 0 when it never fired, and each share's ``<name>:<i>``),
        then each reported ratio of those counts, then each reported fact."""
        metrics = self.reported(rec.name)
        out: dict[str, Any] = {}
        tallies = [m for m in metrics if isinstance(m, (Counter, Share))]
        if tallies:
            counts = out["counts"] = {}
            for metric in tallies:
                if isinstance(metric, Counter):
                    counts[metric.name] = emitted.get(metric.name, 0)
                else:
                    counts.update((f"{metric.prefix}{i}", n) for i, n in metric.items(emitted))
            out.update((r.name, r.of(counts)) for r in metrics if isinstance(r, Ratio))
        out.update((fact.name, rec.facts.get(fact.name)) for fact in metrics if isinstance(fact, Fact))
        return out

    def reported(self, component: str) -> tuple[Metric, ...]:
        """What *component* reports: the metrics its kind declares that apply to it
        (:func:`~.descriptors.reported`), in declaration order."""
        spec = self.scenario.components.get(component)
        return reported(spec, self.scenario) if spec is not None else ()

    def _slos(self, summary: dict[str, Any]) -> list[dict[str, Any]]:
        from ..objectives import objective_of, verdict  # the one reading of an objective

        return [verdict(objective_of(slo), self, summary) for slo in self.scenario.slos]

    def slos_passed(self) -> bool:
        return all(v["passed"] for v in self.summary()["slos"])

    # -- charts (matplotlib figures, drawn by the presentation layer: see .plots) ------------------
    @property
    def plot(self) -> Charts:
        """This run's charts, by name: ``result.plot.latency()``, ``result.plot.shares("lb")``; the names
        are those :mod:`simulator.viz` lists in ``RESULT_CHARTS`` (``dir(result.plot)``). The
        ``plot_*`` methods below are the documented, frozen shortcuts; new charts appear only here."""
        return Charts(self)

    def plot_latency(self, **kwargs):
        """Latency percentiles (p50/p95/p99) over time, fault intervals shaded."""
        return self.plot.latency(**kwargs)

    def plot_throughput(self, **kwargs):
        """Throughput and goodput over time, with availability below."""
        return self.plot.throughput(**kwargs)

    def plot_components(self, **kwargs):
        """Per component utilization and queue length over time (small multiples)."""
        return self.plot.components(**kwargs)

    def plot_distribution(self, **kwargs):
        """Latency histogram and CDF on a log axis."""
        return self.plot.distribution(**kwargs)

    def plot_replicas(self, components=None, **kwargs):
        """Offered load and ready replicas over time, autoscaler decisions marked."""
        return self.plot.replicas(components, **kwargs)

    def plot_hit_ratio(self, components=None, **kwargs):
        """Each cache's hit ratio (and stale share) over time."""
        return self.plot.hit_ratio(components, **kwargs)

    def plot_shares(self, component: str, **kwargs):
        """How a balancer spread requests over replicas, or a sharded database over shards."""
        return self.plot.shares(component, **kwargs)

    # -- monitoring: the run as a Prometheus server would have scraped it (simulator.monitoring) --
    def scrape(self, monitoring=None):
        """The run's series at each scrape time (:class:`simulator.monitoring.scrape.Scrape`: ``.frame``,
        ``.select(metric, **labels)``), with *monitoring* or the scenario's ``monitoring:`` section."""
        from ..monitoring.scrape import scrape

        return scrape(self, monitoring)

    def export_openmetrics(self, path, monitoring=None):
        """Write :meth:`scrape` as OpenMetrics text to *path* (``promtool tsdb create-blocks-from openmetrics``)."""
        return self.scrape(monitoring).write_openmetrics(path)

    # -- alerting: the monitoring section's rules over the scrape, scored against the faults --
    def alerts(self, monitoring=None):
        """Every alert episode of the ``monitoring.rules``: alert, severity, labels, pending, firing and
        resolved times (:func:`simulator.monitoring.alerts.evaluate_rules`)."""
        from ..monitoring.alerts import run_alerts

        return run_alerts(self, monitoring)

    def alert_scores(self, severity=None, monitoring=None):
        """Per alert and ``all``: incidents (the faults) detected, recall, firings, false alerts, precision,
        time to detect (:func:`simulator.monitoring.alerts.score`); *severity* keeps that label's rules."""
        from ..monitoring.alerts import run_scores

        return run_scores(self, monitoring, severity)[0]

    def alert_detections(self, severity=None, monitoring=None):
        """Per fault and alert (and ``all``): the first firing that detected it and the time to detect."""
        from ..monitoring.alerts import run_scores

        return run_scores(self, monitoring, severity)[1]


def slo_value(summary: dict[str, Any], metric: str, operation: str | None) -> float | None:
    """Read a request-level *metric* (for *operation*, or overall) off a summary
    (:func:`simulator.objectives.request_value`)."""
    from ..objectives import request_value

    return request_value(summary, metric, operation)
