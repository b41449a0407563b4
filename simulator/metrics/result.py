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
        out = {
            "kind": rec.kind,
            "utilization": time_average(rec.start, rec.release, lo, hi) / rec.capacity,
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
        if rec.labels:
            for label in sorted(set(rec.labels.values())):
                ids = [i for i, op in enumerate(rec.operations) if rec.labels.get(op) == label]
                out[f"{label}s"] = int((visits & (rec.status == OK) & np.isin(rec.op, ids)).sum())
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

    # -- tables ----------------------------------------------------------------------------------
    @property
    def requests(self) -> "pd.DataFrame":
        """One row per request: issue/end time, latency, status, workload, operation, in_window."""
        import pandas as pd

        names = self.operation_names()
        return pd.DataFrame({
            "t_issue": self.t_issue, "t_end": self.t_end, "latency": self.t_end - self.t_issue,
            "status": pd.Categorical.from_codes(self.status, [STATUS_NAMES[i] for i in range(5)]),
            "workload": [self.scenario.workload[i].name for i in self.workload] if self.workload.size else [],
            "operation": [names[i] for i in self.operation] if self.operation.size else [],
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
                "status": [STATUS_NAMES[int(s)] for s in rec.status],
                "operation": [rec.operations[int(o)] for o in rec.op],
            }))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def _edges(self) -> np.ndarray:
        step = self.scenario.sample_interval
        return np.arange(0.0, self.end_time + step, step)

    @property
    def timeseries(self) -> "pd.DataFrame":
        """Per sample interval: issued, ok, failed, availability and latency p50/p95/p99 (ok only).

        Issued counts by issue time; outcomes and latencies by completion time.
        """
        import pandas as pd

        edges = self._edges()
        step = self.scenario.sample_interval
        issued = np.histogram(self.t_issue, edges)[0]
        done_bucket = np.clip(np.searchsorted(edges, self.t_end, side="right") - 1, 0, len(edges) - 2)
        ok_mask = self.status == OK
        ok = np.bincount(done_bucket[ok_mask], minlength=len(edges) - 1)
        failed = np.bincount(done_bucket[~ok_mask], minlength=len(edges) - 1)
        latency = self.t_end - self.t_issue
        frame = pd.DataFrame({"time": edges[:-1], "issued": issued, "ok": ok, "failed": failed})
        frame["throughput_rps"] = (ok + failed) / step
        frame["goodput_rps"] = ok / step
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["availability"] = np.where(ok + failed > 0, ok / np.maximum(ok + failed, 1), np.nan)
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            frame[f"latency_{name}"] = np.nan
        if ok_mask.any():
            lat_ok, bucket_ok = latency[ok_mask], done_bucket[ok_mask]
            order = np.argsort(bucket_ok, kind="stable")
            bucket_sorted, lat_sorted = bucket_ok[order], lat_ok[order]
            bounds = np.searchsorted(bucket_sorted, np.arange(len(edges)))
            for k in np.nonzero(ok)[0]:
                chunk = lat_sorted[bounds[k]:bounds[k + 1]]
                frame.loc[k, ["latency_p50", "latency_p95", "latency_p99"]] = np.quantile(chunk, [0.5, 0.95, 0.99])
        return frame

    @property
    def component_timeseries(self) -> "pd.DataFrame":
        """Per component and sample interval: utilization, mean queue length, mean number inside."""
        import pandas as pd

        edges = self._edges()
        frames = []
        for rec in self.components.values():
            frames.append(pd.DataFrame({
                "time": edges[:-1], "component": rec.name,
                "utilization": bucket_averages(rec.start, rec.release, edges) / rec.capacity,
                "queue_len": bucket_averages(rec.arrival, rec.start, edges),
                "in_system": bucket_averages(rec.arrival, rec.end, edges),
            }))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    @property
    def faults(self) -> "pd.DataFrame":
        """One row per fault: kind, target, start, end, detail."""
        import pandas as pd

        return pd.DataFrame(self.fault_events, columns=["kind", "target", "start", "end", "detail"])


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
