"""The scrape: a run's records read as a Prometheus server would have read the running system.

An observer after the run, never a cost on its hot path. **Scrape times** are
``k · scrape_interval`` for ``k = 1, 2, …`` before the run's end, and the end itself (the
last scrape sees the drained run). At a scrape time ``t``:

* a **counter** is the number of events before ``t`` (a request or visit counts when it
  ends; a tallied event when it happens); the last scrape counts every event (the bucket
  rule of :mod:`simulator.metrics.grid`: half-open ``[a, b)``, the last one closed);
* a **histogram** holds the same events' durations: per ``le`` bound the cumulative count of
  those ``≤ le``, ``+Inf``, ``_count`` and ``_sum`` (successful requests and visits only,
  like every latency of :meth:`Result.summary`);
* a **USE gauge** is the exact time average over the scrape interval ending at ``t``
  (utilization = busy workers / provisioned workers; queue length; visits in flight;
  workers), what ``avg_over_time`` of a finely sampled gauge gives. Averages rather than
  instants, because both record modes keep these integrals on the ``sample_interval`` grid:
  the gauges and the tallied-event counters are identical with full and summary records.

The request and visit families are read off the records with full records. With summary
records the run folded them as it went, per scrape interval (:mod:`.folding`), for the
scenario's own ``monitoring:`` section: the same series. Scraped with other settings (another
interval or buckets) than the run folded, they are left out and named in :attr:`Scrape.missing`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from ..core.request import OK, UNFINISHED
from ..metrics.grid import bucket_of
from ..metrics.window import STATUS_NAMES
from .series import FAMILIES, Histogram, Labels, Series, family

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from ..metrics.result import ComponentRecords, Result
    from .spec import Monitoring

__all__ = ["LABELS", "Scrape", "scrape", "scrape_times"]

LABELS = ("component", "operation", "workload", "zone", "status", "event", "le")
"""Label columns of :attr:`Scrape.frame` (empty where a series has no such label)."""
RESOLUTION = 1e-3
"""Seconds: the resolution of exported timestamps (Prometheus keeps milliseconds)."""
ANSWERED = tuple(code for code in STATUS_NAMES if code != UNFINISHED)
_BY_NAME = {f.name: f for f in FAMILIES}


def scrape_times(interval: float, end_time: float) -> np.ndarray:
    """``k · interval`` for every ``k ≥ 1`` earlier than ``end_time``, then ``end_time`` (a multiple within
    :data:`RESOLUTION` of the end merges with it: exported timestamps are in milliseconds)."""
    k = np.arange(1, max(1, int(np.ceil(end_time / interval))) + 1)
    times = k * interval
    return np.append(times[times < end_time - RESOLUTION], end_time)


def _labels(**labels: str | None) -> Labels:
    return tuple(sorted((k, v) for k, v in labels.items() if v is not None))


ROUNDING = 1e-9
"""How far above a bucket's bound (seconds) a duration may lie and still count in it: the float
rounding of a difference of simulated times, far below any latency a bucket tells apart."""


def _cumulative(times: np.ndarray, edges: np.ndarray, end_time: float) -> np.ndarray:
    """Events before each scrape time (the last one: all) from their *times*."""
    n = len(edges) - 1
    index = bucket_of(times, edges, end_time)
    return np.cumsum(np.bincount(index[(index >= 0) & (index < n)], minlength=n)[:n])


def _histogram(fam, labels: Labels, ends: np.ndarray, durations: np.ndarray, bounds: np.ndarray,
               edges: np.ndarray, end_time: float) -> Histogram:
    n, b = len(edges) - 1, bounds.size + 1
    index = bucket_of(ends, edges, end_time)
    keep = (index >= 0) & (index < n)
    index, durations = index[keep], durations[keep]
    # first bound ≥ duration (b - 1: +Inf), to the nanosecond: an end minus an issue time carries float
    # rounding (10.1 - 10.0 = 0.0999999…, 20.3 - 20.2 = 0.1000000…02), and a 100 ms request is in le=0.1
    slot = np.searchsorted(bounds, durations - ROUNDING, side="left")
    per = np.bincount(index * b + slot, minlength=n * b).reshape(n, b)
    buckets = np.cumsum(np.cumsum(per, axis=0), axis=1)
    total = np.cumsum(np.bincount(index, weights=durations, minlength=n))
    return Histogram(fam, labels, bounds, buckets, buckets[:, -1].copy(), total)


@dataclass
class Scrape:
    """The series of one run as scraped (see the module docstring).

    ``times`` are the scrape times in simulated seconds; ``epoch_s`` the Unix time that
    simulated 0 stands for in exports; ``series`` the counters and gauges, ``histograms`` the
    histograms; ``missing`` the families this run's records could not give.
    """

    times: np.ndarray
    interval: float
    epoch_s: float
    series: list[Series] = field(default_factory=list)
    histograms: list[Histogram] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def families(self) -> Iterator[tuple[Any, list[Series | Histogram]]]:
        """Each family that has series, in :data:`~.series.FAMILIES` order, with its series."""
        for fam in FAMILIES:
            members = [s for s in (*self.series, *self.histograms) if s.family is fam]
            if members:
                yield fam, members

    @property
    def frame(self) -> "pd.DataFrame":
        """One row per sample: ``time`` (simulated s), ``metric`` (the sample name: ``sdsim_requests_total``,
        ``…_bucket``, ``…_count``, ``…_sum``), the :data:`LABELS` columns (``""`` when absent) and ``value``;
        ordered by metric, labels, time. Select with :meth:`select`."""
        import pandas as pd

        blocks = []
        for fam, members in self.families():
            for s in members:
                labels = dict(s.labels)
                if isinstance(s, Series):
                    blocks.append((fam.sample_names()[0], labels, s.values))
                    continue
                bucket, count, total = fam.sample_names()
                for j, le in enumerate([*map(_le, s.bounds), "+Inf"]):
                    blocks.append((bucket, {**labels, "le": le}, s.buckets[:, j]))
                blocks += [(count, labels, s.count), (total, labels, s.sum)]
        n = self.times.size
        columns: dict[str, Any] = {"time": np.tile(self.times, len(blocks)),
                                   "metric": np.repeat([b[0] for b in blocks], n)}
        for name in LABELS:
            columns[name] = np.repeat([b[1].get(name, "") for b in blocks], n)
        columns["value"] = np.concatenate([np.asarray(b[2], dtype=float) for b in blocks]) if blocks else []
        return pd.DataFrame(columns, columns=["time", "metric", *LABELS, "value"])

    def select(self, metric: str, **labels: str) -> "pd.DataFrame":
        """The rows of sample *metric* whose labels equal *labels* (``select("sdsim_client_requests_total",
        workload="users", status="error")``); an unknown metric name lists the valid ones."""
        family(metric)
        frame = self.frame
        mask = frame["metric"] == metric
        for name, value in labels.items():
            if name not in LABELS:
                raise KeyError(f"no label {name!r} (labels: {', '.join(LABELS)})")
            mask &= frame[name] == value
        return frame[mask].reset_index(drop=True)

    def write_openmetrics(self, path) -> "Path":
        """Write the whole scrape as OpenMetrics text (:mod:`.openmetrics`); returns the path."""
        from .openmetrics import write

        return write(self, path)


def _le(bound: float) -> str:
    return repr(float(bound))


def scrape(result: "Result", monitoring: "Monitoring | None" = None) -> Scrape:
    """Scrape *result* with *monitoring* (default: the scenario's ``monitoring:`` section, or its defaults)."""
    if monitoring is None:
        from .spec import Monitoring

        monitoring = result.scenario.monitoring or Monitoring()
    times = scrape_times(monitoring.scrape_interval, result.end_time)
    edges = np.concatenate(([0.0], times))
    out = Scrape(times=times, interval=monitoring.scrape_interval, epoch_s=monitoring.epoch_s)
    bounds = np.asarray(monitoring.buckets, dtype=float)
    folded = result.folded_scrape
    if folded is not None and (folded.interval != monitoring.scrape_interval
                               or not np.array_equal(folded.bounds, bounds)):
        folded = None  # folded for the scenario's own settings, not these
    if result.columns is not None:
        _clients(result, out, edges, bounds)
    elif folded is not None:
        _folded_clients(result, folded, out)
    for rec in result.components.values():
        zone = result.scenario.components[rec.name].zone if rec.name in result.scenario.components else None
        if rec.spans is not None:
            _visits(rec, zone, out, edges, bounds, result.end_time)
        elif folded is not None:
            _folded_visits(rec, zone, folded, out)
        _use(rec, zone, out, edges, result.end_time)
    if result.columns is None and folded is None:
        out.missing = [f.name for f in FAMILIES if f.needs_full]
    return out


def _folded_clients(result: "Result", folded, out: Scrape) -> None:
    names = result.operation_names()
    requests, durations = _BY_NAME["sdsim_client_requests"], _BY_NAME["sdsim_client_request_duration_seconds"]
    for w, o in sorted(folded.requests):
        workload = result.scenario.workload[w]
        _emit(requests, durations, dict(workload=workload.name, operation=names[o], zone=workload.zone),
              folded.requests[(w, o)], folded.bounds, out)


def _folded_visits(rec: "ComponentRecords", zone: str | None, folded, out: Scrape) -> None:
    requests, durations = _BY_NAME["sdsim_requests"], _BY_NAME["sdsim_request_duration_seconds"]
    for (name, o) in sorted(k for k in folded.visits if k[0] == rec.name):
        operation = rec.operations[o] if o < len(rec.operations) else str(o)
        _emit(requests, durations, dict(component=rec.name, operation=operation, zone=zone),
              folded.visits[(name, o)], folded.bounds, out)


def _emit(fam_counts, fam_durations, labels: dict, counts, bounds: np.ndarray, out: Scrape) -> None:
    """The counters per status and the histogram of one label set, from its folded per-interval counts."""
    status, slots, sums = counts
    for code in ANSWERED:
        out.series.append(Series(fam_counts, _labels(**labels, status=STATUS_NAMES[code]),
                                 np.cumsum(status[:, code])))
    buckets = np.cumsum(np.cumsum(slots, axis=0), axis=1)
    out.histograms.append(Histogram(fam_durations, _labels(**labels), bounds, buckets, buckets[:, -1].copy(),
                                    np.cumsum(sums)))


def _clients(result: "Result", out: Scrape, edges: np.ndarray, bounds: np.ndarray) -> None:
    cols, end_time = result.columns, result.end_time
    names = result.operation_names()
    requests, durations = _BY_NAME["sdsim_client_requests"], _BY_NAME["sdsim_client_request_duration_seconds"]
    latency = cols.t_end - cols.t_issue
    pairs = sorted(set(zip(cols.workload.astype(int).tolist(), cols.operation.astype(int).tolist())))
    for w, o in pairs:
        workload = result.scenario.workload[w]
        mine = (cols.workload == w) & (cols.operation == o)
        for code in ANSWERED:
            hit = mine & (cols.status == code)
            out.series.append(Series(requests, _labels(workload=workload.name, operation=names[o], zone=workload.zone,
                                                       status=STATUS_NAMES[code]),
                                     _cumulative(cols.t_end[hit], edges, end_time)))
        ok = mine & (cols.status == OK)
        out.histograms.append(_histogram(durations, _labels(workload=workload.name, operation=names[o],
                                                            zone=workload.zone),
                                         cols.t_end[ok], latency[ok], bounds, edges, end_time))


def _visits(rec: "ComponentRecords", zone: str | None, out: Scrape, edges: np.ndarray, bounds: np.ndarray,
            end_time: float) -> None:
    spans = rec.spans
    requests, durations = _BY_NAME["sdsim_requests"], _BY_NAME["sdsim_request_duration_seconds"]
    for o in np.unique(spans.op).astype(int).tolist():
        mine = spans.op == o
        operation = rec.operations[o] if o < len(rec.operations) else str(o)
        for code in ANSWERED:
            hit = mine & (spans.status == code)
            out.series.append(Series(requests, _labels(component=rec.name, operation=operation, zone=zone,
                                                       status=STATUS_NAMES[code]),
                                     _cumulative(spans.end[hit], edges, end_time)))
        ok = mine & (spans.status == OK)
        out.histograms.append(_histogram(durations, _labels(component=rec.name, operation=operation, zone=zone),
                                         spans.end[ok], (spans.end - spans.arrival)[ok], bounds, edges, end_time))


def _use(rec: "ComponentRecords", zone: str | None, out: Scrape, edges: np.ndarray, end_time: float) -> None:
    busy, queue, inside = rec.bucket_averages(edges, end_time)
    workers = rec.capacity_averages(edges)
    labels = _labels(component=rec.name, zone=zone)
    with np.errstate(invalid="ignore", divide="ignore"):  # no worker provisioned: utilization is NaN
        utilization = busy / workers
    for name, values in (("sdsim_utilization_ratio", utilization), ("sdsim_queue_length", queue),
                         ("sdsim_in_flight", inside), ("sdsim_workers", workers)):
        out.series.append(Series(_BY_NAME[name], labels, np.asarray(values, dtype=float)))
    events = _BY_NAME["sdsim_component_events"]
    for name, counts in zip(rec.tally_names, rec.tally_buckets(edges, end_time)):
        out.series.append(Series(events, _labels(component=rec.name, zone=zone, event=name), np.cumsum(counts)))
