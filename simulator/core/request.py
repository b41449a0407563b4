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
    copy = None  # the hedged copy it belongs to (a Cancellable request carries one): None, not cancellable

    def within(self, deadline: float) -> "Request":
        """This request as a callee sees it when its caller gives up at *deadline*: the earlier of
        that and the request's own deadline (a new view: the caller's request is unchanged)."""
        if self.deadline is not None and self.deadline <= deadline:
            return self
        return Deadlined(self.id, self.t_issue, self.workload, self.operation, self.key, deadline)

    def cancellable(self, copy: "Copy") -> "Cancellable":
        """This request as one *copy* of a hedged call: a view its caller may cancel (deadline kept)."""
        return Cancellable(self.id, self.t_issue, self.workload, self.operation, self.key, self.deadline, copy)

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


class Cancellable(Request):
    """A request that is one :class:`Copy` of a hedged call (made only by a hedge with ``cancel``).

    It carries its caller's ``deadline`` too (``None``: none), and keeps its ``copy`` when a
    timeout narrows the deadline, so every call made for the copy sees the cancellation.
    """

    __slots__ = ("deadline", "copy")

    def __init__(self, id: int, t_issue: float, workload: int, operation: int, key: int, deadline: float | None,
                 copy: Copy):
        Request.__init__(self, id, t_issue, workload, operation, key)
        self.deadline = deadline
        self.copy = copy

    def within(self, deadline: float) -> "Request":
        if self.deadline is not None and self.deadline <= deadline:
            return self
        return Cancellable(self.id, self.t_issue, self.workload, self.operation, self.key, deadline, self.copy)
