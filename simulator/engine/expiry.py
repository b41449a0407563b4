"""Client time-outs without an event per request.

An open-loop client gives up on a request ``timeout`` after issuing it. The plain way is a
timeout event per request; but a client's time-out is one constant and its requests are
issued in time order, so their deadlines come in the order they were issued, and most
requests are answered long before theirs. :class:`Expiry` keeps the deadlines in a FIFO
and has one event in the queue at a time: the deadline of the oldest request not yet
answered. When it fires, that request times out; the requests answered meanwhile are
skipped, and the event of the next one still waiting is queued.

**The same run, event for event.** Each watched request takes the event id its own timeout
event would have had, at the moment it would have been made, and its deadline event
enters the queue with that id and ``now + timeout`` computed as SimPy computes it. An event
is always queued before its time comes (the next deadline is never earlier than the one
firing), so every deadline is processed in exactly the place among the other events
that the per-request timeout held; the events left out are those that would have found
their request answered and done nothing.
"""

from __future__ import annotations

from collections import deque
from heapq import heappush
from typing import Any, Callable, Mapping

import simpy
from simpy.events import NORMAL

__all__ = ["Expiry"]


class Expiry:
    """Calls ``expire(request)`` at ``issue + timeout`` for every watched request still in
    *pending* (by ``request.id``) then; see the module docstring."""

    __slots__ = ("env", "timeout", "expire", "pending", "waiting", "armed")

    def __init__(self, env: simpy.Environment, timeout: float, expire: Callable[[Any], None],
                 pending: Mapping[int, Any]):
        self.env = env
        self.timeout = timeout
        self.expire = expire
        self.pending = pending
        self.waiting: deque[tuple[float, int, Any]] = deque()  # (deadline, event id, request), oldest first
        self.armed = False  # whether the oldest waiting request's deadline event is in the queue

    def watch(self, request: Any) -> None:
        """Time *request* out ``timeout`` from now unless it is answered (leaves *pending*) first."""
        env = self.env
        entry = (env._now + self.timeout, next(env._eid), request)  # the id its own timeout event would take
        self.waiting.append(entry)
        if not self.armed:
            self._arm(entry)

    def _arm(self, entry: tuple[float, int, Any]) -> None:
        deadline, eid, _ = entry
        event = simpy.Event(self.env)
        event._ok, event._value = True, None
        event.callbacks.append(self._fire)
        heappush(self.env._queue, (deadline, NORMAL, eid, event))
        self.armed = True

    def _fire(self, _event: simpy.Event) -> None:
        waiting, pending = self.waiting, self.pending
        request = waiting.popleft()[2]
        if request.id in pending:
            self.expire(request)
        while waiting and waiting[0][2].id not in pending:  # answered meanwhile: no deadline to keep
            waiting.popleft()
        self.armed = False
        if waiting:
            self._arm(waiting[0])
