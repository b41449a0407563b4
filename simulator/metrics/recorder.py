"""The observer every component and client reports to: compact columnar records.

* one row per client request: issue time, end time, status, workload, operation;
* one span per component visit: arrival, start (worker granted), release (worker freed),
  end, status, operation;
* one row per fault event (start/end), for shading charts.

Rows go into ``array`` columns (8 bytes per float, no boxing), so recording costs well
under a microsecond and memory grows with what is kept. Everything else — percentiles,
utilization, time series — is computed afterwards from these records
(:mod:`simulator.metrics.result`).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from ..engine.request import UNFINISHED


class SpanLog:
    """Spans of one component: ``times`` holds (arrival, start, release, end) per span."""

    __slots__ = ("name", "kind", "capacity", "operations", "labels", "times", "status", "ops")

    def __init__(self, name: str, kind: str, capacity: int, operations: list[str]):
        self.name = name
        self.kind = kind
        self.capacity = capacity
        self.operations = operations
        self.labels: dict[str, str] = {}
        self.times = array("d")
        self.status = array("b")
        self.ops = array("H")

    def add(self, arrival: float, start: float, release: float, end: float, status: int, op: int) -> None:
        self.times.extend((arrival, start, release, end))
        self.status.append(status)
        self.ops.append(op)

    def add_unfinished(self, arrival: float, start: float, now: float) -> None:
        self.add(arrival, start, now, now, UNFINISHED, 0)


@dataclass
class FaultEvent:
    time: float
    phase: str  # "start" or "end"
    kind: str
    target: str
    detail: str = ""


@dataclass
class Recorder:
    """Collects every record of one run."""

    request_times: array = field(default_factory=lambda: array("d"))  # (issue, end) pairs
    request_status: array = field(default_factory=lambda: array("b"))
    request_workload: array = field(default_factory=lambda: array("H"))
    request_operation: array = field(default_factory=lambda: array("H"))
    spans: dict[str, SpanLog] = field(default_factory=dict)
    faults: list[FaultEvent] = field(default_factory=list)

    def span_log(self, name: str, kind: str, capacity: int, operations: list[str]) -> SpanLog:
        log = self.spans[name] = SpanLog(name, kind, capacity, operations)
        return log

    def request_done(self, t_issue: float, t_end: float, status: int, workload: int, operation: int) -> None:
        self.request_times.extend((t_issue, t_end))
        self.request_status.append(status)
        self.request_workload.append(workload)
        self.request_operation.append(operation)

    def fault(self, time: float, phase: str, kind: str, target: str, detail: str = "") -> None:
        self.faults.append(FaultEvent(time, phase, kind, target, detail))
