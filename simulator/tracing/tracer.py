"""The tracer of one run: trace context on sampled requests, and one row per span.

A scenario with ``tracing:`` gets one :class:`Tracer` (``world.tracer``; ``None`` without
it, and nothing below runs). Spans are rows of the run's ``trace_spans`` record table
(:data:`FIELDS`, kept in both records modes; :func:`simulator.scenario.budget.check`
bounds how many a run may make):

* **root** — the request as its workload saw it: from issue to the outcome the client
  recorded (its ``timeout`` included); ``where`` is the entry operation, ``workload`` the
  workload's index. Its span id is the parent of the first hop.
* **client** — one network hop of a synchronous call (``world.caller``: a workload's
  request or a step's ``call``; every attempt of a retried call and every copy of a hedged
  one is a hop of its own): from sending to the reply, both link delays included;
  ``where`` is the target ``component.operation``. A caller that stopped waiting (its
  ``timeout``) does not end the hop: the reply still comes, and the span says when.
* **server** — one visit of a worker-pool component (a :class:`~simulator.components.station.Station`):
  ``start`` the arrival, ``begin`` the worker granted, ``done`` its own work over, ``end``
  the answer (downstream calls included); a visit refused at the door or with no replica
  up makes none (its client span carries the status).

A span still open when the run ends is written then, ``UNFINISHED``; a hop or a visit cut
short by a crash further up its call stack ends there, ``ERROR``.

Span ids count from 1 in the order spans open; a trace's id is its request's number, so
the same scenario and seed give the same traces. Which requests are traced is a function
of that number (:meth:`Tracer.sampled`), so tracing draws nothing from the random streams:
the traced run is the same run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..core.request import ERROR, UNFINISHED, Carried, Request, Traced

if TYPE_CHECKING:
    from .spec import Tracing

FIELDS = ("trace", "span", "parent", "kind", "where", "workload", "start", "begin", "done", "end", "status")
"""One row per span: its trace (the request's number), id, parent (0: none), kind (:data:`KINDS`),
where (a code of :attr:`Tracer.names`), the root's workload (−1 otherwise), the times and the status."""
KINDS = ("root", "client", "server")
ROOT, CLIENT, SERVER = range(3)

_GOLDEN = 0x9E3779B97F4A7C15  # 2^64 / φ: request numbers times it spread evenly over [0, 2^64)
_MASK = (1 << 64) - 1


class Tracer:
    """Opens spans for the sampled requests of one run and writes them to its ``trace_spans`` table."""

    def __init__(self, spec: "Tracing", env, table: Callable[..., Callable[..., None]]):
        self.env = env
        self.threshold = int(spec.ratio * (1 << 64))
        self.every = spec.ratio >= 1.0
        self.add = table("trace_spans", FIELDS, summary="keep")
        self.names: list[str] = []  # code -> "component.operation"
        self._codes: dict[str, int] = {}
        self.last = 0  # the last span id handed out
        self.entry_codes: list[int] = []  # a request's operation number -> the code of its entry operation
        self.open: dict[int, list] = {}  # span id -> its row so far, while the span is open

    # -- naming and ids -----------------------------------------------------------------
    def code(self, name: str) -> int:
        """The code of *name* (``component.operation``) in :attr:`names`."""
        code = self._codes.get(name)
        if code is None:
            code = self._codes[name] = len(self.names)
            self.names.append(name)
        return code

    def new_span(self) -> int:
        self.last += 1
        return self.last

    def sampled(self, number: int) -> bool:
        """Whether request *number* is traced: the share ``ratio`` of the numbers, spread evenly."""
        return self.every or (number * _GOLDEN) & _MASK < self.threshold

    # -- the spans ------------------------------------------------------------------------
    def begin(self, request: Request) -> Request:
        """*request* as it starts: a :class:`Traced` view in its root span when sampled, else itself."""
        if not self.sampled(request.id):
            return request
        return Traced(request.id, request.t_issue, request.workload, request.operation, request.key,
                      request.deadline, self.new_span(), 0)

    def root(self, request: Carried, end: float, status: int) -> None:
        """The root span of *request*, ended at *end* with the outcome its client recorded."""
        t0 = request.t_issue
        self.add(request.id, request.span, 0, ROOT, self.entry_codes[request.operation], request.workload,
                 t0, t0, t0, end, int(status))

    def client(self, call: Callable[[Any], Any], target: str) -> Callable[[Any], Any]:
        """*call* (a hop to *target*) recording a client span for each traced request it carries;
        an untraced request goes straight to *call* (no extra generator)."""
        where, env, new_span, add, opened = self.code(target), self.env, self.new_span, self.add, self.open

        def hop(request):
            span = new_span()
            t0 = env.now
            row = opened[span] = [request.id, span, request.span, CLIENT, where, -1, t0, t0, t0]
            try:
                status = yield from call(request.inside(span))
            except Exception:  # its caller crashed (a SimPy interrupt): the hop ends there, failed
                del opened[span]
                add(*row, env.now, ERROR)
                raise
            del opened[span]
            add(*row, env.now, int(status))
            return status

        return lambda request: call(request) if request.span is None else hop(request)

    def server(self, component: str, operations: list[str]) -> "ServerSpans":
        """What a station records for its traced visits: the codes of its operations by index."""
        return ServerSpans(self, [self.code(f"{component}.{op}") for op in operations])

    def finish(self, end: float) -> None:
        """Write the spans still open when the run ended at *end*, ``UNFINISHED`` (a visit never
        granted a worker queued until then; one granted worked until then)."""
        for row in self.open.values():
            begin = end if row[7] is None else row[7]
            self.add(*row[:7], begin, end, end, UNFINISHED)
        self.open.clear()


class ServerSpans:
    """One station's side of the tracer: the span of each traced visit, from arrival to answer."""

    __slots__ = ("tracer", "codes", "open")

    def __init__(self, tracer: Tracer, codes: list[int]):
        self.tracer, self.codes, self.open = tracer, codes, tracer.open

    def enter(self, request: Carried, op: int, arrival: float) -> Carried:
        """*request* as seen inside the visit's new span (its calls are children of it)."""
        inside = request.inside(self.tracer.new_span())
        self.open[inside.span] = [request.id, inside.span, request.span, SERVER, self.codes[op], -1, arrival, None, None]
        return inside

    def started(self, request: Carried, now: float) -> None:
        """A worker took the visit at *now*."""
        self.open[request.span][7] = now

    def leave(self, request: Carried, arrival: float, start: float, done: float, end: float, status: int) -> None:
        row = self.open.pop(request.span)
        self.tracer.add(*row[:6], arrival, start, done, end, int(status))

    def cut(self, request: Carried, now: float) -> None:
        """The visit ended at *now* by a crash further up its call stack: failed."""
        row = self.open.pop(request.span)
        begin = now if row[7] is None else row[7]
        self.tracer.add(*row[:7], begin, now, now, ERROR)
