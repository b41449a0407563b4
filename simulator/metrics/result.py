"""The outcome of one run: its records (full or summary) plus everything derived from them.

:class:`Result` holds plain numpy data (picklable, so sweeps can ship it between
processes) and derives, on demand:

* :meth:`Result.summary` — the JSON contract (seconds, SI units);
* :attr:`Result.requests`, :attr:`Result.spans`, :attr:`Result.timeseries`,
  :attr:`Result.component_timeseries`, :attr:`Result.faults` — pandas DataFrames.

Definitions. The measurement window is ``[warmup, duration)`` by issue time. Latency
statistics are over *successful* requests (failures are counted in availability, not
mixed into latency). ``throughput`` = requests answered (ok, error or rejected) per second,
counted by completion time inside the window (so an overloaded system shows what it
really serves); ``goodput`` = ok ones; ``availability`` = ok / issued. Per component:
``utilization`` = time-average busy workers / workers over the window; ``p_wait`` = share
of visits (arriving in the window) that queued; ``wait_s`` = time queued before a worker
took the visit; ``queue_len_mean`` = time-average number queued.

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
from importlib import import_module
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.request import ERROR, OK, REJECTED
from ..scenario.model import Scenario
from .aggregates import LATENCY_ACCURACY, ComponentAggregates, RequestAggregates
from .exact import RequestColumns, SpanColumns, grouped_quantiles
from .grid import FullRecordsRequired, is_multiple, snap
from .records import RecordsChoice
from .window import (QUANTILES, STATUS_NAMES, ComponentWindow, RequestWindow, latency_stats)

CHARTS = "simulator.viz"
"""The module that draws a result's charts, looked up by name when a ``plot_*`` method is
called: records never import presentation (the layers stay one-way), and a notebook or
a plug-in may point this at its own module with the same functions."""


def _chart(name: str):
    return getattr(import_module(CHARTS), name)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["QUANTILES", "STATUS_NAMES", "ComponentRecords", "FullRecordsRequired", "Result", "grouped_quantiles",
           "latency_stats", "slo_value"]


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

    arrival = _span_column("arrival")
    start = _span_column("start")
    release = _span_column("release")
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

    def tally_buckets(self, edges: np.ndarray, end_time: float) -> list[np.ndarray]:
        """Per tally name (by code) its count in each bucket of *edges*."""
        return self._source.tally_buckets(edges, end_time, self.tally_names)


def _request_column(name: str):
    def get(self: "Result") -> np.ndarray:
        return getattr(self._columns(f"Result.{name}"), name)

    return property(get, doc=f"``{name}`` of every request (full records only).")


@dataclass
class Result:
    """Everything one run recorded. Build with :func:`simulator.simulate`."""

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

    t_issue = _request_column("t_issue")
    t_end = _request_column("t_end")
    status = _request_column("status")
    workload = _request_column("workload")
    operation = _request_column("operation")

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
            "components": {name: self._component(rec) for name, rec in self.components.items()},
        }
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

    def _component(self, rec: ComponentRecords) -> dict[str, Any]:
        lo, hi = self.window
        stats = rec.window(lo, hi)
        visits = stats.visits
        out = {
            "kind": rec.kind,
            "utilization": stats.busy_mean * (hi - lo) / rec.capacity_integral(lo, hi),
            "p_wait": stats.p_wait,
            "wait_s": {"mean": stats.wait_mean, "p99": stats.wait_p99},
            "queue_len_mean": stats.queue_mean,
            "in_system_mean": stats.inside_mean,
            "visits": int(visits.sum()),
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
        if rec.tally_names:
            counts = stats.tallies
            out["counts"] = counts
            for ratio, (numerator, denominator) in rec.ratios.items():
                total = sum(counts.get(n, 0) for n in denominator)
                out[ratio] = counts.get(numerator, 0) / total if total else None
        out.update(rec.facts)
        return out

    def _slos(self, summary: dict[str, Any]) -> list[dict[str, Any]]:
        from ..objectives import objective_of, verdict  # the one reading of an objective

        return [verdict(objective_of(slo), self, summary) for slo in self.scenario.slos]

    def slos_passed(self) -> bool:
        return all(v["passed"] for v in self.summary()["slos"])

    # -- charts (matplotlib figures, drawn by the presentation layer: see CHARTS) ----------------
    def plot_latency(self, **kwargs):
        """Latency percentiles (p50/p95/p99) over time, fault intervals shaded."""
        return _chart("plot_latency")(self, **kwargs)

    def plot_throughput(self, **kwargs):
        """Throughput and goodput over time, with availability below."""
        return _chart("plot_throughput")(self, **kwargs)

    def plot_components(self, **kwargs):
        """Per component utilization and queue length over time (small multiples)."""
        return _chart("plot_components")(self, **kwargs)

    def plot_distribution(self, **kwargs):
        """Latency histogram and CDF on a log axis."""
        return _chart("plot_distribution")(self, **kwargs)

    def plot_replicas(self, components=None, **kwargs):
        """Offered load and ready replicas over time, autoscaler decisions marked."""
        return _chart("plot_replicas")(self, components, **kwargs)

    def plot_hit_ratio(self, components=None, **kwargs):
        """Each cache's hit ratio (and stale share) over time."""
        return _chart("plot_hit_ratio")(self, components, **kwargs)

    def plot_shares(self, component: str, **kwargs):
        """How a balancer spread requests over replicas, or a sharded database over shards."""
        return _chart("plot_shares")(self, component, **kwargs)

    # -- tables ----------------------------------------------------------------------------------
    @property
    def requests(self) -> "pd.DataFrame":
        """One row per request: issue/end time, latency, status, workload, operation, in_window (full records)."""
        import pandas as pd

        columns = self._columns("Result.requests")
        names = self.operation_names()
        return pd.DataFrame({
            "t_issue": columns.t_issue, "t_end": columns.t_end, "latency": columns.t_end - columns.t_issue,
            "status": pd.Categorical.from_codes(columns.status, [STATUS_NAMES[i] for i in range(5)]),
            "workload": pd.Categorical.from_codes(columns.workload.astype(np.int64),
                                                  [w.name for w in self.scenario.workload]),
            "operation": pd.Categorical.from_codes(columns.operation.astype(np.int64), names),
            "in_window": self.in_window(),
        })

    @property
    def spans(self) -> "pd.DataFrame":
        """One row per component visit: arrival, start, release, end, wait, status, operation (full records)."""
        import pandas as pd

        frames = []
        for rec in self.components.values():
            spans = rec._spans("Result.spans")
            frames.append(pd.DataFrame({
                "component": rec.name, "arrival": spans.arrival, "start": spans.start, "release": spans.release,
                "end": spans.end, "wait": spans.start - spans.arrival,
                "status": pd.Categorical.from_codes(spans.status.astype(np.int64), [STATUS_NAMES[i] for i in range(5)]),
                "operation": pd.Categorical.from_codes(spans.op.astype(np.int64), rec.operations),
            }))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def request_counts(self) -> "pd.DataFrame":
        """Requests issued in the window per workload, operation and status (both record modes)."""
        import pandas as pd

        counts = self._request_window().counts
        names, workloads = self.operation_names(), [w.name for w in self.scenario.workload]
        rows = [(workloads[w], names[o], STATUS_NAMES[st], int(counts[w, o, st]))
                for w, o, st in zip(*np.nonzero(counts)) if w < len(workloads) and o < len(names)]
        return pd.DataFrame(rows, columns=["workload", "operation", "status", "count"])

    def latencies(self, *, ok_only: bool = True, window: bool = True) -> np.ndarray:
        """Client-observed latencies (s): by default of successful requests issued in the window (full records)."""
        return self._columns("Result.latencies()").latencies(*self.window, ok_only, window)

    def latency_quantiles(self, qs) -> np.ndarray:
        """Quantiles *qs* of the window's successful latencies: exact (full records) or from the sketch
        (summary records, within ``LATENCY_ACCURACY`` relative error); NaN when there are none."""
        qs = list(qs)
        if self.columns is not None:
            latency = self.latencies()
            return np.quantile(latency, qs) if latency.size else np.full(len(qs), np.nan)
        return self.aggregates.latency_sketch().quantiles(qs)

    def latency_distribution(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The window's successful latencies as ``(values, weights)``: every latency and ``None`` with full
        records; with summary records the sketch's bucket values (each within ``LATENCY_ACCURACY`` of the
        latencies it stands for) and their counts."""
        if self.columns is not None:
            return self.latencies(), None
        return self.aggregates.latency_sketch().buckets()

    @property
    def latency_accuracy(self) -> float | None:
        """Relative error bound of the reported percentiles: 0 with full records (exact)."""
        return 0.0 if self.columns is not None else LATENCY_ACCURACY

    def _edges(self, interval: float | None, until: float | None) -> np.ndarray:
        step = self.scenario.sample_interval if interval is None else float(interval)
        stop = self.end_time if until is None else float(until)
        n = max(1, int(np.ceil(stop / step - 1e-9)))
        return np.minimum(np.arange(n + 1) * step, max(stop, step * 1e-9)) if n else np.array([0.0, step])

    @property
    def timeseries(self) -> "pd.DataFrame":
        """:meth:`timeseries_at` with the scenario's ``sample_interval``, over the whole run."""
        return self.timeseries_at()

    def timeseries_at(self, interval: float | None = None, until: float | None = None,
                      operation: str | None = None) -> "pd.DataFrame":
        """Per bucket of *interval* seconds (default ``sample_interval``) from 0 to *until* (default: the end),
        of every request or of one *operation* (a name of :meth:`operation_names`; full records only).

        ``issued`` counts by issue time; ``ok``, ``failed`` (error, timeout or rejected),
        ``throughput_rps`` (answered: ok, error or rejected), ``goodput_rps``, ``availability``
        (ok / (ok + failed)) and the latency percentiles of ok requests count by completion time,
        the same definitions as :meth:`summary` applied bucket by bucket. Buckets are
        half-open, the last one closed when it reaches the run's end. Summary records: only
        multiples of the ``sample_interval`` (see :meth:`bucket_width`); percentiles from
        per-bucket sketches (``aggregates.SERIES_ACCURACY``).
        """
        import pandas as pd

        edges = self._edges(interval, until)
        width = np.diff(edges)
        if operation is None:
            data = self._source.buckets(edges, self.end_time)
        else:
            names = self.operation_names()
            if operation not in names:
                raise ValueError(f"no operation {operation!r} (operations: {', '.join(names)})")
            data = self._columns("a time series of one operation").buckets(edges, self.end_time,
                                                                           names.index(operation))
        ok, failed = data.ok, data.failed
        frame = pd.DataFrame({"time": edges[:-1], "issued": data.issued, "ok": ok, "failed": failed})
        frame["throughput_rps"] = (ok + failed - data.timeouts) / width
        frame["goodput_rps"] = ok / width
        frame["availability"] = np.where(ok + failed > 0, ok / np.maximum(ok + failed, 1), np.nan)
        for j, name in enumerate(("p50", "p95", "p99")):
            frame[f"latency_{name}"] = data.quantiles[:, j]
        return frame

    @property
    def component_timeseries(self) -> "pd.DataFrame":
        """:meth:`component_timeseries_at` with the scenario's ``sample_interval``, over the whole run."""
        return self.component_timeseries_at()

    def component_timeseries_at(self, interval: float | None = None, until: float | None = None) -> "pd.DataFrame":
        """Per component and bucket: utilization, mean queue length, mean number inside (exact time averages;
        summary records: multiples of the ``sample_interval`` only)."""
        import pandas as pd

        edges = self._edges(interval, until)
        frames = []
        for rec in self.components.values():
            busy, queue, inside = rec.bucket_averages(edges, self.end_time)
            frames.append(pd.DataFrame({
                "time": edges[:-1], "component": rec.name,
                "utilization": busy / rec.capacity_averages(edges), "queue_len": queue, "in_system": inside,
            }))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def tally_timeseries_at(self, interval: float | None = None, until: float | None = None) -> "pd.DataFrame":
        """Per component, tallied event and bucket: ``count`` and ``rate`` (per second), plus each ratio.

        Ratio rows (e.g. a cache's ``hit_ratio``) hold the share in ``value`` (NaN where the
        bucket has no event of the denominator). Components without tallies have no rows.
        Summary records: multiples of the ``sample_interval`` only.
        """
        import pandas as pd

        edges = self._edges(interval, until)
        width = np.diff(edges)
        frames = []
        for rec in self.components.values():
            counts = {}
            for name, count in zip(rec.tally_names, rec.tally_buckets(edges, self.end_time)):
                counts[name] = count
                frames.append(pd.DataFrame({"time": edges[:-1], "component": rec.name, "name": name,
                                            "count": count, "value": count / width}))
            for ratio, (numerator, denominator) in rec.ratios.items():
                zeros = np.zeros(len(width), dtype=int)
                total = sum((counts.get(n, zeros) for n in denominator), zeros)
                share = np.where(total > 0, counts.get(numerator, zeros) / np.maximum(total, 1), np.nan)
                frames.append(pd.DataFrame({"time": edges[:-1], "component": rec.name, "name": ratio,
                                            "count": total, "value": share}))
        if not frames:
            return pd.DataFrame(columns=["time", "component", "name", "count", "value"])
        return pd.concat(frames, ignore_index=True)

    @property
    def scaling(self) -> "pd.DataFrame":
        """One row per autoscaler decision: time, component, current, desired, metric."""
        import pandas as pd

        return pd.DataFrame(self.scaling_events, columns=["time", "component", "current", "desired", "metric"])

    def replicas_over_time(self, component: str) -> "pd.DataFrame":
        """Ready replicas of *component* over time (a step function: from each ``time`` on)."""
        import pandas as pd

        rec = self.components[component]
        spec = self.scenario.components[component]
        per_replica = getattr(spec, "workers", None) or getattr(spec, "connections", 1)
        return pd.DataFrame({"time": rec.capacity_steps[:, 0], "replicas": rec.capacity_steps[:, 1] / per_replica})

    @property
    def faults(self) -> "pd.DataFrame":
        """One row per fault: kind, target, start, end, detail."""
        import pandas as pd

        return pd.DataFrame(self.fault_events, columns=["kind", "target", "start", "end", "detail"])


def slo_value(summary: dict[str, Any], metric: str, operation: str | None) -> float | None:
    """Read a request-level *metric* (for *operation*, or overall) off a summary
    (:func:`simulator.objectives.request_value`)."""
    from ..objectives import request_value

    return request_value(summary, metric, operation)
