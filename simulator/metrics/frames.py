"""The DataFrames and arrays of one run: requests, spans, time series, tallies, scaling and faults.

:class:`Frames` is the table half of :class:`~simulator.metrics.result.Result` (a mixin:
``Result`` is the facade, this module only keeps the frames apart from the summary). It
reads the result's records through the names ``Result`` defines: ``scenario``,
``columns`` / ``aggregates`` (``_columns``, ``_source``), ``components``, ``end_time``,
``window``, ``operation_names()`` and ``_request_window()``. pandas is imported when a
frame is asked for, never at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .aggregates import LATENCY_ACCURACY
from .window import STATUS_NAMES

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Frames"]


class Frames:
    """Tables and arrays derived from a run's records (mixed into :class:`~.result.Result`)."""

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
        """One row per component visit: arrival, start, done, release, end, wait, sojourn (done − arrival: the
        time at this component, downstream calls left out), status, operation (full records)."""
        import pandas as pd

        frames = []
        for rec in self.components.values():
            spans = rec._spans("Result.spans")
            frames.append(pd.DataFrame({
                "component": rec.name, "arrival": spans.arrival, "start": spans.start, "done": spans.done,
                "release": spans.release, "end": spans.end, "wait": spans.start - spans.arrival,
                "sojourn": spans.done - spans.arrival,
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
        """Per component and bucket: utilization, mean queue length, mean number inside (exact time averages),
        and the offered load: ``arrivals``, the visits arriving in the bucket whatever became of them
        (every attempt, retry and hedge copy; shed, throttled and expired ones included), and
        ``arrivals_rps`` (per second). Summary records: multiples of the ``sample_interval`` only."""
        import pandas as pd

        edges = self._edges(interval, until)
        width = np.diff(edges)
        frames = []
        for rec in self.components.values():
            busy, queue, inside = rec.bucket_averages(edges, self.end_time)
            arrivals = rec.arrival_buckets(edges, self.end_time)
            frames.append(pd.DataFrame({
                "time": edges[:-1], "component": rec.name,
                "utilization": busy / rec.capacity_averages(edges), "queue_len": queue, "in_system": inside,
                "arrivals": arrivals, "arrivals_rps": arrivals / width,
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
