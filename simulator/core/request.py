"""What travels through the simulated system, and how it can end."""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """Outcome of a request or of one component's part of it."""

    OK = 0
    ERROR = 1  # failed: a crash, a failed dependency, an exhausted pool, nothing up to serve it
    TIMEOUT = 2  # the client stopped waiting (the work may still go on downstream)
    REJECTED = 3  # refused, not served: a full queue, a rate limit (429), an open breaker, shed or cancelled work


OK, ERROR, TIMEOUT, REJECTED = Status.OK, Status.ERROR, Status.TIMEOUT, Status.REJECTED
UNFINISHED = 4
"""Span status for work still in progress when the run stopped (never a request status)."""


class Request:
    """One client request. Components read ``key`` and ``operation``; they never change a request.

    A caller may hand its callee a **view** of the request that carries more (:class:`Carried`):
    the caller's ``deadline`` (deadline propagation), the trace ``span`` it is in (tracing), the
    hedged ``copy`` it belongs to (cancellation). Each is made only where something reads it, so a
    scenario without them passes plain requests and pays nothing; a view keeps what it carries
    when another is made from it, and the caller's own view never changes.
    """

    __slots__ = ("id", "t_issue", "workload", "operation", "key")
    replayed = False  # True for writes a component re-sends on its own (write-behind flushes)
    deadline = None  # when its caller gives up (a view may carry one): None, never
    span = None  # the trace span this view of the request is in (a view may carry one): None, untraced
    parent = None  # that span's parent (0: the root span)
    copy = None  # the hedged copy it belongs to (a view may carry one): None, not cancellable

    def __init__(self, id: int, t_issue: float, workload: int, operation: int, key: int):
        self.id = id
        self.t_issue = t_issue
        self.workload = workload
        self.operation = operation
        self.key = key

    def _view(self, deadline: float | None, span: int | None, parent: int | None, copy: "Copy | None") -> "Carried":
        return Carried(self.id, self.t_issue, self.workload, self.operation, self.key, deadline, span, parent, copy)

    def within(self, deadline: float) -> "Request":
        """This request as a callee sees it when its caller gives up at *deadline*: the earlier of
        that and the request's own deadline (a new view: the caller's request is unchanged)."""
        if self.deadline is not None and self.deadline <= deadline:
            return self
        return self._view(deadline, self.span, self.parent, self.copy)

    def inside(self, span: int) -> "Carried":
        """This request as seen inside the new trace span *span*, a child of this view's span."""
        return self._view(self.deadline, span, self.span, self.copy)

    def cancellable(self, copy: "Copy") -> "Carried":
        """This request as one *copy* of a hedged call: a view its caller may cancel."""
        return self._view(self.deadline, self.span, self.parent, copy)


class Carried(Request):
    """A view of a request that carries a ``deadline``, a trace ``span`` (and its ``parent``) or a
    hedged ``copy`` (``None`` for what it does not carry): see :class:`Request`."""

    __slots__ = ("deadline", "span", "parent", "copy")

    def __init__(self, id: int, t_issue: float, workload: int, operation: int, key: int, deadline: float | None = None,
                 span: int | None = None, parent: int | None = None, copy: "Copy | None" = None):
        Request.__init__(self, id, t_issue, workload, operation, key)
        self.deadline = deadline
        self.span = span
        self.parent = parent
        self.copy = copy


def Deadlined(id: int, t_issue: float, workload: int, operation: int, key: int, deadline: float) -> Carried:
    """A request that carries its caller's ``deadline`` (deadline propagation, golden §15): made only
    where a deadline exists and some component reads it (``drop_expired``)."""
    return Carried(id, t_issue, workload, operation, key, deadline)


def Traced(id: int, t_issue: float, workload: int, operation: int, key: int, deadline: float | None, span: int,
           parent: int) -> Carried:
    """A request of a sampled trace, inside span *span* (``tracing:``, :mod:`simulator.tracing`): made
    only for sampled requests of a scenario with ``tracing:``."""
    return Carried(id, t_issue, workload, operation, key, deadline, span, parent)


class Copy:
    """One copy of a hedged call that its caller may cancel (gRPC's cancellation of the losing RPCs).

    ``cancelled`` — the caller has its answer and cancelled this copy; ``started`` — a worker
    took the copy (from then on it runs to its end: a handler that does not check for
    cancellation); ``waiting`` — the SimPy process of the copy while it waits in a station's
    queue (the caller interrupts it with :data:`CANCEL` to take it out of the line), else ``None``.
    """

    __slots__ = ("cancelled", "started", "waiting")

    def __init__(self):
        self.cancelled = False
        self.started = False
        self.waiting = None

    def cancel(self) -> bool:
        """Cancel this copy: out of the queue now if it waits in one, dropped on arrival if it is on
        its way. Returns whether that saved its work (no worker had taken it yet)."""
        self.cancelled = True
        if self.waiting is not None:
            waiting, self.waiting = self.waiting, None
            waiting.interrupt(CANCEL)
        return not self.started


CANCEL = "cancelled by the caller"
"""The cause of the interrupt that takes a cancelled :class:`Copy` out of a station's queue."""
