"""The traces of one run, after it: spans as a table, one trace as a tree, where the time went.

:class:`Traces` is ``result.traces`` for a scenario with ``tracing:`` (``None`` without).

**Where the time went** (:meth:`Traces.breakdown`) follows each trace's critical path, the
chain of spans whose end the request's end waited for, walking back from the root's end
(as Jaeger's critical path does). Every second of the root span lands in one category, so
they add up to the request's latency:

* ``queueing`` — waiting for a worker at a component (a server span's arrival to its start);
* ``work`` — a component's own work (start to done);
* ``network`` — a hop's time not spent at its callee (the link delays both ways, and a
  hop whose callee left no span: refused at the door, no replica up, a message lost, a
  kind that records no server spans);
* ``retries`` — attempts and copies a later one replaced: a failed or timed-out attempt
  that was tried again, the back-off after it, a hedge's copy that lost (a call on the path
  that failed or was abandoned and is not the last one, and the wait after it);
* ``gave_up`` — time waiting for a call that was abandoned: a caller's ``timeout`` or a
  client's, ending the span before its call answered;
* ``waiting`` — the rest of a component's time after its own work not covered by a call
  on the path (between calls, a non-blocking body).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.request import OK
from .tracer import CLIENT, FIELDS, KINDS, ROOT, SERVER

if TYPE_CHECKING:
    import pandas as pd

CATEGORIES = ("queueing", "work", "network", "retries", "gave_up", "waiting")
"""Where a traced request's time went (see the module docstring), in the order they are shown."""
_EPS = 1e-12
T, SPAN, PARENT, KIND, WHERE, WORKLOAD, START, BEGIN, DONE, END, STATUS = range(len(FIELDS))


@dataclass
class Traces:
    """The spans of one run's traced requests: *rows* (an ``(n, 11)`` float matrix of
    :data:`~simulator.tracing.tracer.FIELDS`), *names* (``component.operation`` by code),
    the run's *seed* and workload names (for the exported ids and services)."""

    rows: np.ndarray
    names: list[str]
    seed: int
    workloads: list[str]

    def __post_init__(self) -> None:
        self._by_trace: dict[int, np.ndarray] | None = None

    def __len__(self) -> int:
        """How many requests were traced (root spans)."""
        return int(np.count_nonzero(self.rows[:, KIND] == ROOT))

    def __repr__(self) -> str:
        return f"<Traces: {len(self)} traced requests, {self.rows.shape[0]} spans>"

    # -- tables ------------------------------------------------------------------------------
    def frame(self) -> "pd.DataFrame":
        """One row per span: trace, span, parent, kind, component, operation, workload (roots),
        start, end, duration, queueing and work (server spans), status."""
        import pandas as pd

        from ..metrics.window import STATUS_NAMES

        r = self.rows
        where = [self.names[int(c)].partition(".") for c in r[:, WHERE]]
        server = r[:, KIND] == SERVER
        return pd.DataFrame({
            "trace": r[:, T].astype(np.int64), "span": r[:, SPAN].astype(np.int64),
            "parent": r[:, PARENT].astype(np.int64), "kind": [KINDS[int(k)] for k in r[:, KIND]],
            "component": [w[0] for w in where], "operation": [w[2] for w in where],
            "workload": [self.workloads[int(w)] if w >= 0 else "" for w in r[:, WORKLOAD]],
            "start": r[:, START], "end": r[:, END], "duration": r[:, END] - r[:, START],
            "queueing": np.where(server, r[:, BEGIN] - r[:, START], np.nan),
            "work": np.where(server, r[:, DONE] - r[:, BEGIN], np.nan),
            "status": [STATUS_NAMES[int(s)] for s in r[:, STATUS]],
        })

    def ids(self) -> np.ndarray:
        """The traced requests' numbers (trace ids), in the order they ended."""
        return self.rows[self.rows[:, KIND] == ROOT, T].astype(np.int64)

    def slowest(self, n: int = 10) -> list[int]:
        """The trace ids of the *n* slowest traced requests (root duration, longest first; ties by id)."""
        roots = self.rows[self.rows[:, KIND] == ROOT]
        order = np.lexsort((roots[:, T], -(roots[:, END] - roots[:, START])))
        return [int(t) for t in roots[order[:n], T]]

    def spans(self, trace: int) -> np.ndarray:
        """The span rows of *trace* (a request's number), in the order they were written."""
        if self._by_trace is None:
            order = np.argsort(self.rows[:, T], kind="stable")
            ordered = self.rows[order]
            cuts = np.flatnonzero(np.diff(ordered[:, T])) + 1
            self._by_trace = {int(g[0, T]): g for g in np.split(ordered, cuts) if len(g)}
        if trace not in self._by_trace:
            raise KeyError(f"request {trace} was not traced (traced: {len(self)} requests; "
                           f"result.traces.ids() lists them)")
        return self._by_trace[trace]

    def tree(self, trace: int) -> "pd.DataFrame":
        """The spans of *trace* in tree order (depth first, children by start) with their ``depth``."""
        rows = self.spans(trace)
        children: dict[int, list[int]] = {}
        for i, row in enumerate(rows):
            children.setdefault(int(row[PARENT]), []).append(i)
        order: list[tuple[int, int]] = []
        stack = [(i, 0) for i in sorted(children.get(0, []), key=lambda i: -rows[i, START])]
        while stack:
            i, depth = stack.pop()
            order.append((i, depth))
            kids = sorted(children.get(int(rows[i, SPAN]), []), key=lambda k: (rows[k, START], rows[k, SPAN]))
            stack.extend((k, depth + 1) for k in reversed(kids))
        frame = Traces(rows[[i for i, _ in order]], self.names, self.seed, self.workloads).frame()
        frame.insert(0, "depth", [d for _, d in order])
        return frame

    # -- where the time went ----------------------------------------------------------------
    def breakdown(self, traces: list[int] | None = None) -> "pd.DataFrame":
        """Per trace (default: the 10 slowest) its latency and the seconds of each of
        :data:`CATEGORIES` along its critical path (they add up to the latency)."""
        import pandas as pd

        ids = self.slowest(10) if traces is None else list(traces)
        out = []
        for trace in ids:
            rows = self.spans(trace)
            root = rows[rows[:, KIND] == ROOT][0]
            parts = critical_path(rows)
            out.append({"trace": trace, "workload": self.workloads[int(root[WORKLOAD])],
                        "operation": self.names[int(root[WHERE])], "status": int(root[STATUS]),
                        "latency": root[END] - root[START], **parts})
        frame = pd.DataFrame(out, columns=["trace", "workload", "operation", "status", "latency", *CATEGORIES])
        from ..metrics.window import STATUS_NAMES

        frame["status"] = [STATUS_NAMES[s] for s in frame["status"]]
        return frame

    def to_otlp(self) -> dict[str, Any]:
        """The spans as OTLP/JSON (``TracesData``): see :mod:`simulator.tracing.otlp`."""
        from .otlp import traces_data

        return traces_data(self)


def critical_path(rows: np.ndarray) -> dict[str, float]:
    """Seconds per category of :data:`CATEGORIES` along the critical path of one trace's *rows*."""
    parts = dict.fromkeys(CATEGORIES, 0.0)
    children: dict[int, list[np.ndarray]] = {}
    for row in rows:
        children.setdefault(int(row[PARENT]), []).append(row)
    root = next(row for row in rows if row[KIND] == ROOT)
    _window(root, root[START], root[END], children, parts)
    return parts


def _window(span: np.ndarray, lo: float, hi: float, children: dict, parts: dict) -> None:
    """Attribute [lo, hi] of *span*'s time after its own work: walk back from *hi* through the
    calls (children) it was waiting on, the one ending last first."""
    kids = children.get(int(span[SPAN]), [])
    t, last = hi, True  # the first call met walking back is the last one on the path
    while t > lo + _EPS:
        started = [k for k in kids if lo - _EPS <= k[START] < t - _EPS]
        if not started:
            break
        kid = max(started, key=lambda k: (min(k[END], t), k[START], k[SPAN]))
        end = min(kid[END], t)
        abandoned = kid[END] > t + _EPS  # the caller went on before this call answered
        if not last and (abandoned or kid[STATUS] != OK):
            parts["retries"] += t - kid[START]  # an attempt or copy another one replaced, and the wait after it
        elif abandoned:
            parts["gave_up"] += t - kid[START]
        else:
            parts["waiting"] += t - end
            _span(kid, children, parts)
        last = False
        t = kid[START]
    parts["waiting"] += max(0.0, t - lo)


def _span(span: np.ndarray, children: dict, parts: dict) -> None:
    """Attribute all of *span* (a client or server span ending on the critical path)."""
    if span[KIND] == SERVER:
        parts["queueing"] += span[BEGIN] - span[START]
        parts["work"] += span[DONE] - span[BEGIN]
        _window(span, span[DONE], span[END], children, parts)
        return
    kids = children.get(int(span[SPAN]), [])
    server = kids[0] if kids else None
    if span[KIND] == CLIENT and server is not None and server[END] <= span[END] + _EPS:
        parts["network"] += (span[END] - span[START]) - (server[END] - server[START])
        _span(server, children, parts)
    elif span[KIND] == CLIENT:
        parts["network"] += span[END] - span[START]
    else:
        _window(span, span[START], span[END], children, parts)
