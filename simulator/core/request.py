"""What travels through the simulated system, and how it can end."""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """Outcome of a request or of one component's part of it."""

    OK = 0
    ERROR = 1  # failed: a crash, a failed dependency, an exhausted pool, nothing up to serve it
    TIMEOUT = 2  # the client stopped waiting (the work may still go on downstream)
    REJECTED = 3  # refused at the door: queue full (rate limits and open breakers later)


OK, ERROR, TIMEOUT, REJECTED = Status.OK, Status.ERROR, Status.TIMEOUT, Status.REJECTED
UNFINISHED = 4
"""Span status for work still in progress when the run stopped (never a request status)."""


class Request:
    """One client request. Components read ``key`` and ``operation``; they never change a request."""

    __slots__ = ("id", "t_issue", "workload", "operation", "key")
    replayed = False  # True for writes a component re-sends on its own (write-behind flushes)
    deadline = None  # when its caller gives up (a Deadlined request carries one): None, never
    span = None  # the trace span this view of the request is in (a Traced request carries one): None, untraced

    def within(self, deadline: float) -> "Request":
        """This request as a callee sees it when its caller gives up at *deadline*: the earlier of
        that and the request's own deadline (a new view: the caller's request is unchanged)."""
        if self.deadline is not None and self.deadline <= deadline:
            return self
        return Deadlined(self.id, self.t_issue, self.workload, self.operation, self.key, deadline)

    def __init__(self, id: int, t_issue: float, workload: int, operation: int, key: int):
        self.id = id
        self.t_issue = t_issue
        self.workload = workload
        self.operation = operation
        self.key = key


class Deadlined(Request):
    """A request that carries its caller's ``deadline`` (deadline propagation, golden §15).

    Made only where a deadline exists and some component reads it (``drop_expired``), so a
    request without one stays a plain :class:`Request` and costs nothing more.
    """

    __slots__ = ("deadline",)

    def __init__(self, id: int, t_issue: float, workload: int, operation: int, key: int, deadline: float):
        Request.__init__(self, id, t_issue, workload, operation, key)
        self.deadline = deadline


class Traced(Request):
    """A request of a sampled trace, as seen inside one span (``tracing:``, :mod:`simulator.tracing`).

    ``span`` is the id of the span the holder of this view is in, ``parent`` that span's
    parent (0: the request's root span has none). A hop or a visit that opens a span passes
    its callee :meth:`inside` a new view; the caller's view is unchanged. Made only for
    sampled requests of a scenario with ``tracing:``, so every other request stays a plain
    :class:`Request` and costs nothing more. It carries a deadline too (``None``: none).
    """

    __slots__ = ("deadline", "span", "parent")

    def __init__(self, id: int, t_issue: float, workload: int, operation: int, key: int, deadline: float | None,
                 span: int, parent: int):
        Request.__init__(self, id, t_issue, workload, operation, key)
        self.deadline = deadline
        self.span = span
        self.parent = parent

    def inside(self, span: int) -> "Traced":
        """This request as seen inside the new span *span*, a child of this view's span."""
        return Traced(self.id, self.t_issue, self.workload, self.operation, self.key, self.deadline, span, self.span)

    def within(self, deadline: float) -> "Request":
        if self.deadline is not None and self.deadline <= deadline:
            return self
        return Traced(self.id, self.t_issue, self.workload, self.operation, self.key, deadline, self.span,
                      self.parent)
