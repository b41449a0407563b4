"""The observer every component and client reports to: compact columnar records.

* one row per client request: issue time, end time, status, workload, operation;
* one span per component visit: arrival, start (worker granted), release (worker freed),
  end, status, operation, done (own work over: the sojourn at the component ends);
* one row per fault event (start/end), for shading charts.

Rows go into ``array`` columns (8 bytes per float, no boxing), each row packed by a
precompiled ``struct`` and appended as bytes (:func:`packer`): about 0.1 µs a row, a third
of what ``array.extend`` with a tuple costs, as that converts each value through a format
string. Memory grows with what is kept. Everything else — percentiles,
utilization, time series — is computed afterwards from these records
(:mod:`simulator.metrics.exact`, :mod:`simulator.metrics.result`).

This is the recorder of ``records: full``. With ``records: summary`` the
:class:`~simulator.metrics.streaming.StreamingRecorder` takes its place — the same
interface, but it folds its rows into aggregates every few thousand records, so memory
stays bounded (:mod:`simulator.metrics.records` says which one a run gets).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from struct import Struct
from typing import Callable

from ..core.request import UNFINISHED
from .tables import Tables


def packer(fields: int) -> Callable[..., bytes]:
    """``pack(*values)``: *fields* floats as the bytes of a row of an ``array("d")`` (machine
    order), for its ``frombytes``; a row of another length is an error."""
    return Struct(f"{fields}d").pack


class SpanLog:
    """Spans of one component: ``rows`` holds (arrival, start, release, end, status, operation, done) per span.

    ``done`` is when the visit's own work at the component was over (wait and work, not the
    downstream calls it then makes); ``add`` without it takes the release.

    Besides spans a component may emit:

    * **tallies** — timestamped counts of named events (cache hits, stale reads, ejections):
      ``count = log.counter("hits")`` then ``count(now)``; the timestamps let a ratio or a
      count be read over any window (full records; summary records keep counts per
      ``sample_interval`` bucket);
    * **capacity changes** — ``capacity_changed(now, workers)`` when replicas come and go, so
      utilization divides by the capacity actually provisioned at each moment;
    * **facts** — static numbers about the component (``facts["shards"] = 4``) for the summary;
    * **record tables** — ``add = log.table(name, fields, summary=...)``: rows of its own
      (:mod:`simulator.metrics.tables`).

    The runtime only emits values: what the summary reports — every counter, ratio, share and
    fact that applies, 0 or ``None`` when nothing was emitted — is what the kind's spec declares
    (:mod:`simulator.metrics.descriptors`), and emitting an undeclared name is an error.
    ``ratios`` is not read (the declarations give the ratios); it stays for older plug-ins that set it.
    """

    __slots__ = ("name", "kind", "capacity", "operations", "labels", "rows", "add", "tallies", "tally_names",
                 "ratios", "capacity_steps", "facts", "tables")
    FIELDS = 7
    FULL = True  # record tables keep every row (the streaming log follows each table's summary rule)

    def __init__(self, name: str, kind: str, capacity: int, operations: list[str]):
        self.name = name
        self.kind = kind
        self.capacity = capacity
        self.operations = operations
        self.labels: dict[str, str] = {}
        self.rows = array("d")
        self.tallies = array("d")
        self.tally_names: list[str] = []
        self.ratios: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.capacity_steps = array("d", (0.0, capacity))
        self.facts: dict[str, object] = {}
        self.tables = Tables(self.FULL)
        put, pack = self.rows.frombytes, packer(self.FIELDS)

        def add(arrival: float, start: float, release: float, end: float, status: int, op: int,
                done: float | None = None) -> None:
            put(pack(arrival, start, release, end, status, op, release if done is None else done))

        self.add = add  # one packed row per span: the cheapest record Python offers

    def add_unfinished(self, arrival: float, start: float, now: float) -> None:
        self.add(arrival, start, now, now, UNFINISHED, 0)

    def counter(self, name: str):
        """A function ``count(now)`` recording one *name* event at simulated time *now*."""
        if name not in self.tally_names:
            self.tally_names.append(name)
        code = float(self.tally_names.index(name))
        put, pack = self.tallies.frombytes, packer(2)

        def count(now: float) -> None:
            put(pack(now, code))

        return count

    def capacity_changed(self, now: float, capacity: int) -> None:
        self.capacity_steps.extend((now, capacity))

    def table(self, name: str, fields, summary: str = "count"):
        """Declare this component's record table *name*; return its ``add(*row)`` (see :mod:`.tables`)."""
        return self.tables.table(name, fields, summary)


@dataclass
class ScalingEvent:
    """An autoscaler decision: at ``time`` ``component`` goes from ``current`` to ``desired`` replicas."""

    time: float
    component: str
    current: int
    desired: int
    metric: float


@dataclass
class FaultEvent:
    time: float
    phase: str  # "start" or "end"
    kind: str
    target: str
    detail: str = ""
    outcome: str = ""  # at the end: what the fault did ("312 messages lost")


class Recorder:
    """Collects every record of one run.

    ``requests`` holds (issue, end, status, workload, operation) per request, flat; named
    record tables sit in ``tables`` (:meth:`table`).
    """

    REQUEST_FIELDS = 5
    FULL = True  # see SpanLog.FULL

    def __init__(self) -> None:
        self.requests = array("d")
        self.tables = Tables(self.FULL)
        self.spans: dict[str, SpanLog] = {}
        self.faults: list[FaultEvent] = []
        self.scaling: list[ScalingEvent] = []
        put, pack = self.requests.frombytes, packer(self.REQUEST_FIELDS)

        def request_done(t_issue: float, t_end: float, status: int, workload: int, operation: int) -> None:
            put(pack(t_issue, t_end, status, workload, operation))

        self.request_done = request_done

    def span_log(self, name: str, kind: str, capacity: int, operations: list[str]) -> SpanLog:
        log = self.spans[name] = SpanLog(name, kind, capacity, operations)
        return log

    def table(self, name: str, fields, summary: str = "count"):
        """Declare the run-wide record table *name* (messages, traces, alerts, …); return its ``add(*row)``
        (see :mod:`.tables`: *summary* is ``"keep"`` or ``"count"``)."""
        return self.tables.table(name, fields, summary)

    def scaled(self, time: float, component: str, current: int, desired: int, metric: float) -> None:
        self.scaling.append(ScalingEvent(time, component, current, desired, metric))

    def fault(self, time: float, phase: str, kind: str, target: str, detail: str = "", outcome: str = "") -> None:
        self.faults.append(FaultEvent(time, phase, kind, target, detail, outcome))
