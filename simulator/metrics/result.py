"""The outcome of one run: raw records plus everything derived from them.

:class:`Result` holds plain numpy columns (picklable, so sweeps can ship it between
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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..engine.request import ERROR, OK, REJECTED, TIMEOUT, UNFINISHED
from ..scenario.model import LATENCY_METRICS, Scenario
from .integrals import bucket_averages, time_average

if TYPE_CHECKING:
    import pandas as pd

QUANTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99, "p999": 0.999}
STATUS_NAMES = {OK: "ok", ERROR: "error", TIMEOUT: "timeout", REJECTED: "rejected", UNFINISHED: "unfinished"}


def latency_stats(values: np.ndarray) -> dict[str, float | None]:
    """mean, p50…p999, max of *values*; ``None`` when there are none."""
    if values.size == 0:
        return {"mean": None, **{k: None for k in QUANTILES}, "max": None}
    qs = np.quantile(values, list(QUANTILES.values()))
    return {"mean": float(values.mean()), **{k: float(q) for k, q in zip(QUANTILES, qs)}, "max": float(values.max())}


@dataclass
class ComponentRecords:
    name: str
    kind: str
    capacity: int
    operations: list[str]
    labels: dict[str, str]
    arrival: np.ndarray
    start: np.ndarray
    release: np.ndarray
    end: np.ndarray
    status: np.ndarray
    op: np.ndarray
    tally_time: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tally_code: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint16))
    tally_names: list[str] = field(default_factory=list)
    ratios: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    capacity_steps: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    facts: dict[str, Any] = field(default_factory=dict)

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
        return np.array([self.capacity_integral(a, b) / (b - a) for a, b in zip(edges[:-1], edges[1:])])

    def tally_counts(self, lo: float, hi: float) -> dict[str, int]:
        """How many of each tallied event happened in [lo, hi)."""
        inside = (self.tally_time >= lo) & (self.tally_time < hi)
        counts = np.bincount(self.tally_code[inside], minlength=len(self.tally_names))
        return {name: int(counts[i]) for i, name in enumerate(self.tally_names)}


@dataclass
class Result:
    """Everything one run recorded. Build with :func:`simulator.simulate`."""

    scenario: Scenario
    seed: int
    end_time: float
    operation_keys: list[tuple[str, str]]
    t_issue: np.ndarray
    t_end: np.ndarray
    status: np.ndarray
    workload: np.ndarray
    operation: np.ndarray
    components: dict[str, ComponentRecords]
    fault_events: list[dict[str, Any]] = field(default_factory=list)
    scaling_events: list[dict[str, Any]] = field(default_factory=list)
    wall_time_s: float = 0.0
    events: int = 0

    # -- selections ------------------------------------------------------------------------
    @property
    def window(self) -> tuple[float, float]:
        return self.scenario.warmup, self.scenario.duration

    def in_window(self) -> np.ndarray:
        lo, hi = self.window
        return (self.t_issue >= lo) & (self.t_issue < hi)

    def operation_names(self) -> list[str]:
        """Display name per operation id: the operation, or ``entry.operation`` if ambiguous."""
        ops = [op for _, op in self.operation_keys]
        return [op if ops.count(op) == 1 else f"{entry}.{op}" for entry, op in self.operation_keys]

    # -- the JSON contract -------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The run's headline numbers (see the module docstring for definitions)."""
        mask = self.in_window()
        window = self.scenario.window
        status = self.status[mask]
        latency = (self.t_end - self.t_issue)[mask]
        ok = status == OK
        issued = int(mask.sum())
        counts = {name: int((status == code).sum()) for code, name in STATUS_NAMES.items() if code != UNFINISHED}
        answered, good = self._completed_in_window()
        summary: dict[str, Any] = {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "duration_s": self.scenario.duration,
            "warmup_s": self.scenario.warmup,
            "requests": {"issued": issued, **counts},
            "latency_s": latency_stats(latency[ok]),
            "throughput_rps": int(answered.sum()) / window,
            "goodput_rps": int(good.sum()) / window,
            "availability": counts["ok"] / issued if issued else None,
            "operations": self._operations(mask, latency, status),
            "components": {name: self._component(rec) for name, rec in self.components.items()},
        }
        summary["slos"] = self._slos(summary)
        return summary

    def _completed_in_window(self) -> tuple[np.ndarray, np.ndarray]:
        """Masks of requests answered (ok, error or rejected) and answered ok inside the window, by end time."""
        lo, hi = self.window
        done = (self.t_end >= lo) & (self.t_end < hi)
        answered = done & (self.status != TIMEOUT)
        return answered, done & (self.status == OK)

    def _operations(self, mask, latency, status) -> dict[str, Any]:
        out = {}
        ops = self.operation[mask]
        answered, completed_ok = self._completed_in_window()
        window = self.scenario.window
        for op_id, name in enumerate(self.operation_names()):
            sel = ops == op_id
            n = int(sel.sum())
            good = sel & (status == OK)
            this_op = self.operation == op_id
            out[name] = {"issued": n, "ok": int(good.sum()), "availability": int(good.sum()) / n if n else None,
                         "throughput_rps": int((answered & this_op).sum()) / window,
                         "goodput_rps": int((completed_ok & this_op).sum()) / window,
                         "latency_s": latency_stats(latency[good])}
        return out

    def _component(self, rec: ComponentRecords) -> dict[str, Any]:
        lo, hi = self.window
        visits = (rec.arrival >= lo) & (rec.arrival < hi)
        served = visits & (rec.status != REJECTED) & (rec.status != UNFINISHED)
        wait = (rec.start - rec.arrival)[served]
        busy = time_average(rec.start, rec.release, lo, hi) * (hi - lo)
        out = {
            "kind": rec.kind,
            "utilization": busy / rec.capacity_integral(lo, hi),
            "p_wait": float((wait > 0).mean()) if wait.size else None,
            "wait_s": {"mean": float(wait.mean()) if wait.size else None,
                       "p99": float(np.quantile(wait, 0.99)) if wait.size else None},
            "queue_len_mean": time_average(rec.arrival, rec.start, lo, hi),
            "in_system_mean": time_average(rec.arrival, rec.end, lo, hi),
            "visits": int(visits.sum()),
            "served": int((visits & (rec.status == OK)).sum()),
            "errors": int((visits & (rec.status == ERROR)).sum()),
            "rejected": int((visits & (rec.status == REJECTED)).sum()),
            "capacity": rec.capacity,
        }
        if rec.capacity_steps.shape[0] > 1:
            out["capacity_mean"] = rec.capacity_integral(lo, hi) / (hi - lo)
        if rec.labels:
            for label in sorted(set(rec.labels.values())):
                ids = [i for i, op in enumerate(rec.operations) if rec.labels.get(op) == label]
                out[f"{label}s"] = int((visits & (rec.status == OK) & np.isin(rec.op, ids)).sum())
        if rec.tally_names:
            counts = rec.tally_counts(lo, hi)
            out["counts"] = counts
            for ratio, (numerator, denominator) in rec.ratios.items():
                total = sum(counts.get(n, 0) for n in denominator)
                out[ratio] = counts.get(numerator, 0) / total if total else None
        out.update(rec.facts)
        return out

    def _slos(self, summary: dict[str, Any]) -> list[dict[str, Any]]:
        verdicts = []
        for slo in self.scenario.slos:
            value = slo_value(summary, slo.metric, slo.operation)
            verdicts.append({"name": slo.name, "metric": slo.metric, "operation": slo.operation,
                             "passed": slo.met_by(float("nan") if value is None else value),
                             "value": value, "target": slo.target, "bound": "max" if slo.max is not None else "min"})
        return verdicts

    def slos_passed(self) -> bool:
        return all(v["passed"] for v in self.summary()["slos"])

    # -- charts (matplotlib figures; see simulator.viz) -----------------------------------------
    def plot_latency(self, **kwargs):
        """Latency percentiles (p50/p95/p99) over time, fault intervals shaded."""
        from ..viz import plot_latency

        return plot_latency(self, **kwargs)

    def plot_throughput(self, **kwargs):
        """Throughput and goodput over time, with availability below."""
        from ..viz import plot_throughput

        return plot_throughput(self, **kwargs)

    def plot_components(self, **kwargs):
        """Per component utilization and queue length over time (small multiples)."""
        from ..viz import plot_components

        return plot_components(self, **kwargs)

    def plot_distribution(self, **kwargs):
        """Latency histogram and CDF on a log axis."""
        from ..viz import plot_distribution

        return plot_distribution(self, **kwargs)

    def plot_replicas(self, components=None, **kwargs):
        """Offered load and ready replicas over time, autoscaler decisions marked."""
        from ..viz import plot_replicas

        return plot_replicas(self, components, **kwargs)

    def plot_hit_ratio(self, components=None, **kwargs):
        """Each cache's hit ratio (and stale share) over time."""
        from ..viz import plot_hit_ratio

        return plot_hit_ratio(self, components, **kwargs)

    def plot_shares(self, component: str, **kwargs):
        """How a balancer spread requests over replicas, or a sharded database over shards."""
        from ..viz import plot_shares

        return plot_shares(self, component, **kwargs)

    # -- tables ----------------------------------------------------------------------------------
    @property
    def requests(self) -> "pd.DataFrame":
        """One row per request: issue/end time, latency, status, workload, operation, in_window."""
        import pandas as pd

        names = self.operation_names()
        return pd.DataFrame({
            "t_issue": self.t_issue, "t_end": self.t_end, "latency": self.t_end - self.t_issue,
            "status": pd.Categorical.from_codes(self.status, [STATUS_NAMES[i] for i in range(5)]),
            "workload": pd.Categorical.from_codes(self.workload.astype(np.int64), [w.name for w in self.scenario.workload]),
            "operation": pd.Categorical.from_codes(self.operation.astype(np.int64), names),
            "in_window": self.in_window(),
        })

    @property
    def spans(self) -> "pd.DataFrame":
        """One row per component visit: arrival, start, release, end, wait, status, operation."""
        import pandas as pd

        frames = []
        for rec in self.components.values():
            frames.append(pd.DataFrame({
                "component": rec.name, "arrival": rec.arrival, "start": rec.start, "release": rec.release,
                "end": rec.end, "wait": rec.start - rec.arrival,
                "status": pd.Categorical.from_codes(rec.status.astype(np.int64), [STATUS_NAMES[i] for i in range(5)]),
                "operation": pd.Categorical.from_codes(rec.op.astype(np.int64), rec.operations),
            }))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def latencies(self, *, ok_only: bool = True, window: bool = True) -> np.ndarray:
        """Client-observed latencies (s): by default of successful requests issued in the window."""
        mask = self.in_window() if window else np.ones(self.t_issue.size, dtype=bool)
        if ok_only:
            mask &= self.status == OK
        return (self.t_end - self.t_issue)[mask]

    def _edges(self, interval: float | None, until: float | None) -> np.ndarray:
        step = self.scenario.sample_interval if interval is None else float(interval)
        stop = self.end_time if until is None else float(until)
        n = max(1, int(np.ceil(stop / step - 1e-9)))
        return np.minimum(np.arange(n + 1) * step, max(stop, step * 1e-9)) if n else np.array([0.0, step])

    @property
    def timeseries(self) -> "pd.DataFrame":
        """:meth:`timeseries_at` with the scenario's ``sample_interval``, over the whole run."""
        return self.timeseries_at()

    def timeseries_at(self, interval: float | None = None, until: float | None = None) -> "pd.DataFrame":
        """Per bucket of *interval* seconds (default ``sample_interval``) from 0 to *until* (default: the end).

        ``issued`` counts by issue time; ``ok``, ``failed`` (error, timeout or rejected),
        ``throughput_rps`` (answered: ok, error or rejected), ``goodput_rps``, ``availability``
        (ok / (ok + failed)) and the latency percentiles of ok requests count by completion time,
        the same definitions as :meth:`summary` applied bucket by bucket.
        """
        import pandas as pd

        edges = self._edges(interval, until)
        n = len(edges) - 1
        width = np.diff(edges)
        issued = np.histogram(self.t_issue, edges)[0]
        done = np.searchsorted(edges, self.t_end, side="right") - 1
        inside = (done >= 0) & (done < n)
        ok_mask = (self.status == OK) & inside
        ok = np.bincount(done[ok_mask], minlength=n)[:n]
        failed = np.bincount(done[~(self.status == OK) & inside], minlength=n)[:n]
        timeouts = np.bincount(done[(self.status == TIMEOUT) & inside], minlength=n)[:n]
        frame = pd.DataFrame({"time": edges[:-1], "issued": issued, "ok": ok, "failed": failed})
        frame["throughput_rps"] = (ok + failed - timeouts) / width
        frame["goodput_rps"] = ok / width
        frame["availability"] = np.where(ok + failed > 0, ok / np.maximum(ok + failed, 1), np.nan)
        qs = grouped_quantiles(done[ok_mask], (self.t_end - self.t_issue)[ok_mask], n, (0.5, 0.95, 0.99))
        for j, name in enumerate(("p50", "p95", "p99")):
            frame[f"latency_{name}"] = qs[:, j]
        return frame

    @property
    def component_timeseries(self) -> "pd.DataFrame":
        """:meth:`component_timeseries_at` with the scenario's ``sample_interval``, over the whole run."""
        return self.component_timeseries_at()

    def component_timeseries_at(self, interval: float | None = None, until: float | None = None) -> "pd.DataFrame":
        """Per component and bucket: utilization, mean queue length, mean number inside (exact time averages)."""
        import pandas as pd

        edges = self._edges(interval, until)
        frames = []
        for rec in self.components.values():
            frames.append(pd.DataFrame({
                "time": edges[:-1], "component": rec.name,
                "utilization": bucket_averages(rec.start, rec.release, edges) / rec.capacity_averages(edges),
                "queue_len": bucket_averages(rec.arrival, rec.start, edges),
                "in_system": bucket_averages(rec.arrival, rec.end, edges),
            }))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def tally_timeseries_at(self, interval: float | None = None, until: float | None = None) -> "pd.DataFrame":
        """Per component, tallied event and bucket: ``count`` and ``rate`` (per second), plus each ratio.

        Ratio rows (e.g. a cache's ``hit_ratio``) hold the share in ``value`` (NaN where the
        bucket has no event of the denominator). Components without tallies have no rows.
        """
        import pandas as pd

        edges = self._edges(interval, until)
        width = np.diff(edges)
        frames = []
        for rec in self.components.values():
            counts = {}
            for code, name in enumerate(rec.tally_names):
                counts[name] = np.histogram(rec.tally_time[rec.tally_code == code], edges)[0]
                frames.append(pd.DataFrame({"time": edges[:-1], "component": rec.name, "name": name,
                                            "count": counts[name], "value": counts[name] / width}))
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


def grouped_quantiles(groups: np.ndarray, values: np.ndarray, n: int, qs: tuple[float, ...]) -> np.ndarray:
    """Quantiles *qs* of *values* per group ``0..n-1`` (NaN where empty), numpy's linear method, vectorised."""
    out = np.full((n, len(qs)), np.nan)
    if values.size == 0:
        return out
    order = np.lexsort((values, groups))
    groups, values = groups[order], values[order]
    bounds = np.searchsorted(groups, np.arange(n + 1))
    counts = np.diff(bounds)
    present = np.nonzero(counts)[0]
    start, count = bounds[present], counts[present]
    for j, q in enumerate(qs):
        pos = q * (count - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, count - 1)
        frac = pos - lo
        a, b = values[start + lo], values[start + hi]
        out[present, j] = a + frac * (b - a)
    return out


def slo_value(summary: dict[str, Any], metric: str, operation: str | None) -> float | None:
    """Read *metric* (for *operation*, or overall) off a summary."""
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
