"""Traces as OTLP/JSON: the ``TracesData`` message of OpenTelemetry's protocol, as JSON.

The file a collector's ``otlpjsonfile`` receiver, Jaeger's or Grafana Tempo's importers
read: one ``resourceSpans`` entry per service (a component, or a workload for the root
spans), its spans under one ``scopeSpans`` (scope ``sdsim``). Per the OTLP/JSON encoding,
``traceId`` and ``spanId`` are lowercase hex (16 and 8 bytes), times are nanoseconds since
the Unix epoch as decimal strings, and enums are integers.

* A trace's id is the run's seed (8 bytes) then the request's number (8 bytes); a span's id
  is its number in the run: same scenario and seed, same ids.
* Simulated time 0 is :data:`EPOCH` (2026-01-01T00:00:00Z): fixed, so an export is the same
  on every machine, and recent enough for a trace store's retention.
* Kinds: a root span is the workload's ``CLIENT`` span (its service is the workload), a hop
  a component's ``CLIENT`` span, a visit a ``SERVER`` span; a visit carries two events,
  ``dequeued`` (a worker took it) and ``work done``, and the attributes
  ``sdsim.queueing_s`` and ``sdsim.work_s``. Status: ``OK`` (1), or ``ERROR`` (2) with the
  status's name as its message (``error``, ``timeout``, ``rejected``, ``unfinished``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .tracer import CLIENT, ROOT

if TYPE_CHECKING:
    from .traces import Traces

EPOCH = 1_767_225_600
"""Unix seconds of simulated time 0: 2026-01-01T00:00:00Z."""
SPAN_KIND_CLIENT, SPAN_KIND_SERVER = 3, 2
STATUS_CODE_OK, STATUS_CODE_ERROR = 1, 2


def nanos(t: float) -> str:
    """Simulated seconds *t* as OTLP's Unix nanoseconds (a decimal string)."""
    return str(EPOCH * 1_000_000_000 + round(t * 1e9))


def traces_data(traces: "Traces") -> dict[str, Any]:
    """*traces* as an OTLP/JSON ``TracesData`` document (a dict ready for :func:`json.dumps`)."""
    from .. import __version__
    from ..metrics.window import STATUS_NAMES
    from .traces import BEGIN, DONE, END, KIND, PARENT, SPAN, START, STATUS, T, WHERE, WORKLOAD

    seed = traces.seed & 0xFFFF_FFFF_FFFF_FFFF
    by_service: dict[str, list[dict[str, Any]]] = {}
    for row in traces.rows:
        kind, status = int(row[KIND]), int(row[STATUS])
        component, _, operation = traces.names[int(row[WHERE])].partition(".")
        span: dict[str, Any] = {
            "traceId": f"{seed:016x}{int(row[T]):016x}", "spanId": f"{int(row[SPAN]):016x}",
            "name": f"{component}.{operation}" if kind == CLIENT else operation,
            "kind": SPAN_KIND_CLIENT if kind in (ROOT, CLIENT) else SPAN_KIND_SERVER,
            "startTimeUnixNano": nanos(row[START]), "endTimeUnixNano": nanos(row[END]),
            "status": ({"code": STATUS_CODE_OK} if status == 0
                       else {"code": STATUS_CODE_ERROR, "message": STATUS_NAMES[status]}),
        }
        if row[PARENT]:
            span["parentSpanId"] = f"{int(row[PARENT]):016x}"
        if kind == ROOT:
            service = traces.workloads[int(row[WORKLOAD])]
            span["name"] = f"{component}.{operation}"
        elif kind == CLIENT:
            service = None  # the caller: the parent's service, filled below
        else:
            service = component
            span["events"] = [{"timeUnixNano": nanos(row[BEGIN]), "name": "dequeued"},
                              {"timeUnixNano": nanos(row[DONE]), "name": "work done"}]
            span["attributes"] = [_attribute("sdsim.queueing_s", row[BEGIN] - row[START]),
                                  _attribute("sdsim.work_s", row[DONE] - row[BEGIN])]
        by_service.setdefault(service or "", []).append((int(row[PARENT]), span))
    return {"resourceSpans": _resources(by_service, traces, __version__)}


def _resources(by_service: dict, traces: "Traces", version: str) -> list[dict[str, Any]]:
    """One ``resourceSpans`` entry per service; a hop belongs to the service of the span it was made in."""
    owner: dict[str, str] = {}
    for service, spans in by_service.items():
        if service:
            for _, span in spans:
                owner[span["spanId"]] = service
    for _, span in by_service.pop("", []):
        service = owner.get(span.get("parentSpanId", ""), "unknown")
        by_service.setdefault(service, []).append((0, span))
    return [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
             "scopeSpans": [{"scope": {"name": "sdsim", "version": version},
                             "spans": [span for _, span in spans]}]}
            for service, spans in sorted(by_service.items())]


def _attribute(key: str, seconds: float) -> dict[str, Any]:
    return {"key": key, "value": {"doubleValue": float(seconds)}}


def write(traces: "Traces", path: str | Path) -> Path:
    """Write *traces* as OTLP/JSON to *path* (one document); returns the path."""
    path = Path(path)
    path.write_text(json.dumps(traces_data(traces), separators=(",", ":")) + "\n", encoding="utf-8")
    return path
