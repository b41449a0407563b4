"""``circuit_breaker:`` — the call policy at rank 30: fail fast while the callee keeps failing.

resilience4j's ``CircuitBreaker`` state machine, with its knob names and defaults (golden
§13.1)::

    steps:
      - call: db.read
        timeout: 200ms
        circuit_breaker:
          sliding_window_type: count_based     # or time_based (the last N seconds)
          sliding_window_size: 100             # calls (count_based) or seconds (time_based)
          minimum_number_of_calls: 100         # no verdict before this many calls are recorded
          failure_rate_threshold: 50           # percent; opens when the rate is >= it
          slow_call_rate_threshold: 100        # percent of calls slower than ...
          slow_call_duration_threshold: 60s    # ... this (a call taking longer is slow)
          wait_duration_in_open_state: 60s
          permitted_number_of_calls_in_half_open_state: 10
          automatic_transition_from_open_to_half_open: false

States (:data:`STATES`):

* **closed** — every call goes through; its outcome enters the sliding window. After each
  outcome, once the window holds ``minimum_number_of_calls`` (for a count-based window at most
  its size, as resilience4j clamps it), the breaker **opens** when the failure rate or the
  slow-call rate is at or above its threshold.
* **open** — every call fails at once as ``REJECTED`` without reaching the callee (resilience4j's
  ``CallNotPermittedException``), counted ``breaker_rejected``. After
  ``wait_duration_in_open_state`` the first call moves the breaker to **half_open** (or a timer
  does, at that moment, with ``automatic_transition_from_open_to_half_open``).
* **half_open** — ``permitted_number_of_calls_in_half_open_state`` trial calls go through, the
  others are rejected. When every trial's outcome is in, their failure (or slow-call) rate at or
  above the threshold opens the breaker again, else it **closes** with an empty window.

**What counts as a failure**: every status of the attempt but ``OK`` — ``ERROR``, ``TIMEOUT``
(the attempt's: ``timeout`` is inside the breaker, rank 20) and ``REJECTED`` by the callee or an
inner bulkhead (resilience4j records every exception by default). A call is **slow** when it
takes longer than ``slow_call_duration_threshold``, whatever its status. An outcome counts in the
state that let its call through: one arriving after the breaker changed state (a call let
through while closed that ends after the breaker opened) is dropped, so half-open judges its
own trials only.

**One breaker per call site**: the calling component and the target (``web->db.read``), shared
by every request and every operation of that component calling it with the same settings (a
step with other settings gets a breaker of its own, ``web->db.read#2``).

**Records.** Every state change is a row of the calling component's ``breaker_states`` table
(:data:`STATE_FIELDS`: time, breaker code, from and to state codes), kept in both records modes
and drawn by ``result.plot.breakers()``; at the end of the run each breaker writes one row of
its ``breakers`` table (:data:`FIELDS`), presented in the component's summary entry
(:class:`BreakerSummary`): ``breakers`` (per breaker: opens, rejected and calls let through, the
seconds spent in each state) and the totals ``breaker_opens``, ``breaker_rejected``,
``breaker_open_seconds``, all over the measurement window.
"""

from __future__ import annotations

import math
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Literal

from pydantic import Field, model_validator

from ..core.request import OK, REJECTED
from ..metrics.digest import Digest, Group
from ..scenario.types import PositiveDuration, Strict
from .base import CallPolicy

STATES = ("closed", "open", "half_open")
"""State codes of the ``breaker_states`` table (0, 1, 2)."""
CLOSED, OPEN, HALF_OPEN = range(3)

STATE_FIELDS = ("time", "breaker", "from_state", "to_state")
"""One row per state change: when, which breaker (its code in the component), from and to (:data:`STATES`)."""
FIELDS = ("breaker", "opens", "rejected", "permitted", "closed_s", "open_s", "half_open_s")
"""One row per breaker, written when the run ends: the counts and state seconds of the measurement window."""
SUMMARY_METRICS = ("breaker_opens", "breaker_rejected", "breaker_open_seconds")
"""The totals a component's breakers add to its summary entry (beside the per-breaker ``breakers`` block)."""

Percent = Annotated[float, Field(gt=0, le=100, description="percent (0, 100]")]


class CircuitBreaker(Strict):
    """A circuit breaker's settings: resilience4j's names and defaults (see the module docstring)."""

    sliding_window_type: Literal["count_based", "time_based"] = "count_based"
    sliding_window_size: Annotated[int, Field(ge=1, le=1_000_000, description="calls (count_based) or "
                                                                              "seconds (time_based)")] = 100
    minimum_number_of_calls: Annotated[int, Field(ge=1, le=1_000_000)] = 100
    failure_rate_threshold: Percent = 50.0
    slow_call_rate_threshold: Percent = 100.0
    slow_call_duration_threshold: PositiveDuration = 60.0
    wait_duration_in_open_state: PositiveDuration = 60.0
    permitted_number_of_calls_in_half_open_state: Annotated[int, Field(ge=1, le=1_000_000)] = 10
    automatic_transition_from_open_to_half_open: bool = False

    @model_validator(mode="after")
    def _a_time_window_is_whole_seconds(self) -> "CircuitBreaker":
        if self.sliding_window_type == "time_based" and self.sliding_window_size > 86_400:
            raise ValueError(f"a time_based sliding_window_size is in seconds: {self.sliding_window_size} is "
                             "more than a day (expected at most 86400)")
        return self

    @property
    def minimum_calls(self) -> int:
        """The calls the window must hold before a verdict (a count window can hold no more than its size)."""
        if self.sliding_window_type == "count_based":
            return min(self.minimum_number_of_calls, self.sliding_window_size)
        return self.minimum_number_of_calls


class _Window:
    """The outcomes a verdict is made on: the last *size* calls, or the calls of the last *size* seconds."""

    __slots__ = ("by_time", "size", "calls", "failed", "slow")

    def __init__(self, by_time: bool, size: float):
        self.by_time, self.size = by_time, size
        self.calls: deque = deque()
        self.failed = self.slow = 0

    def add(self, now: float, failed: bool, slow: bool) -> None:
        self.calls.append((now, failed, slow))
        self.failed += failed
        self.slow += slow
        if not self.by_time and len(self.calls) > self.size:
            self._drop()
        while self.by_time and self.calls[0][0] <= now - self.size:
            self._drop()

    def _drop(self) -> None:
        _, failed, slow = self.calls.popleft()
        self.failed -= failed
        self.slow -= slow

    def __len__(self) -> int:
        return len(self.calls)


class BreakerMachine:
    """The state machine of one breaker, on an injected clock (pure: no SimPy).

    ``acquire(now)`` says whether a call may go through: a ticket (the state's generation) or
    ``None`` (rejected). ``record(ticket, failed, slow, now)`` takes the outcome of a call let
    through. *on_change(now, from, to)* hears every state change; *schedule(delay, fn)*, when
    given, runs ``fn(now)`` after *delay* (the automatic move to half-open).
    """

    def __init__(self, config: CircuitBreaker, on_change: Callable[[float, int, int], None] = lambda *a: None,
                 schedule: Callable[[float, Callable[[float], None]], None] | None = None):
        self.config = config
        self.on_change = on_change
        self.schedule = schedule
        self.state = CLOSED
        self.generation = 0
        self.opened_at = -math.inf
        self.window = self._new_window()
        self.trials_left = 0  # half-open: trial calls still to let through

    def _new_window(self) -> _Window:
        c = self.config
        if self.state == HALF_OPEN:
            return _Window(False, c.permitted_number_of_calls_in_half_open_state)
        return _Window(c.sliding_window_type == "time_based", c.sliding_window_size)

    def _move(self, now: float, to: int) -> None:
        before, self.state = self.state, to
        self.generation += 1
        self.window = self._new_window()
        if to == OPEN:
            self.opened_at = now
            if self.config.automatic_transition_from_open_to_half_open and self.schedule is not None:
                generation = self.generation
                self.schedule(self.config.wait_duration_in_open_state,
                              lambda at: self._half_open_if(generation, at))
        elif to == HALF_OPEN:
            self.trials_left = self.config.permitted_number_of_calls_in_half_open_state
        self.on_change(now, before, to)

    def _half_open_if(self, generation: int, now: float) -> None:
        if self.generation == generation:  # still the same open period
            self._move(now, HALF_OPEN)

    def acquire(self, now: float) -> int | None:
        """A ticket if a call may go through now, else ``None`` (the call is rejected)."""
        if self.state == OPEN:
            if now < self.opened_at + self.config.wait_duration_in_open_state:
                return None
            self._move(now, HALF_OPEN)
        if self.state == HALF_OPEN:
            if self.trials_left <= 0:
                return None
            self.trials_left -= 1
        return self.generation

    def record(self, ticket: int, failed: bool, slow: bool, now: float) -> None:
        """The outcome of a call let through with *ticket*; dropped if the state changed since."""
        if ticket != self.generation or self.state == OPEN:
            return
        window, c = self.window, self.config
        window.add(now, failed, slow)
        if self.state == HALF_OPEN:
            if len(window) >= c.permitted_number_of_calls_in_half_open_state:
                self._move(now, OPEN if self._tripped(window) else CLOSED)
        elif len(window) >= c.minimum_calls and self._tripped(window):
            self._move(now, OPEN)

    def _tripped(self, window: _Window) -> bool:
        c, n = self.config, len(window)
        return (100.0 * window.failed >= c.failure_rate_threshold * n
                or 100.0 * window.slow >= c.slow_call_rate_threshold * n)


@dataclass
class BreakerSummary:
    """Presents a component's ``breakers`` digest: *names* lists the breakers by code (filled as they compile)."""

    names: list[str] = field(default_factory=list)

    def __call__(self, groups: list[Group]) -> dict[str, Any]:
        blocks = {}
        for g in groups:
            s = g.sums
            blocks[self.names[g.key[0]]] = {
                "opens": int(s["opens"]), "rejected": int(s["rejected"]), "permitted": int(s["permitted"]),
                "state_seconds": {name: s[f"{name}_s"] for name in STATES}}
        return {"breakers": blocks,
                "breaker_opens": sum(b["opens"] for b in blocks.values()),
                "breaker_rejected": sum(b["rejected"] for b in blocks.values()),
                "breaker_open_seconds": sum(b["state_seconds"]["open"] for b in blocks.values())}


class _Book:
    """The breakers of one component in one world: shared by call site and settings."""

    def __init__(self, ctx):
        self.summary = BreakerSummary()
        self.by_site: dict[tuple[str, str], Any] = {}
        scenario = ctx.scenario
        self.window = (scenario.warmup, scenario.duration)
        self.states = ctx.table("breaker_states", STATE_FIELDS, "keep")
        self.rows = ctx.table("breakers", FIELDS, Digest(by=("breaker",), sums=FIELDS[1:], present=self.summary))


_BOOKS: "weakref.WeakKeyDictionary[Any, dict[str, _Book]]" = weakref.WeakKeyDictionary()
"""World (its SimPy environment) → component → its breakers: one breaker per call site per run."""


def _breaker(spec, ctx) -> tuple[BreakerMachine, Callable[[str], None]]:
    """The breaker of *spec*'s call site in this world (made on first use) and ``counted(what)``."""
    books = _BOOKS.setdefault(ctx.env, {})
    book = books.get(ctx.component) or books.setdefault(ctx.component, _Book(ctx))
    key = (spec.call, spec.circuit_breaker.model_dump_json())
    if key in book.by_site:
        return book.by_site[key]
    same_target = sum(1 for target, _ in book.by_site if target == spec.call)
    code = len(book.summary.names)
    book.summary.names.append(f"{ctx.component}->{spec.call}" + (f"#{same_target + 1}" if same_target else ""))
    lo, hi = book.window
    env = ctx.env
    tally = {"opens": 0, "rejected": 0, "permitted": 0}
    seconds = [0.0, 0.0, 0.0]
    since = [0.0]  # when the current state began

    def clipped(a: float, b: float) -> float:
        return max(0.0, min(b, hi) - max(a, lo))

    def changed(now: float, before: int, to: int) -> None:
        seconds[before] += clipped(since[0], now)
        since[0] = now
        book.states(now, code, before, to)
        if to == OPEN and lo <= now < hi:
            tally["opens"] += 1

    def schedule(delay: float, fn: Callable[[float], None]) -> None:
        env.timeout(delay).callbacks.append(lambda _: fn(env.now))

    machine = BreakerMachine(spec.circuit_breaker, changed, schedule)

    def counted(what: str) -> None:
        if lo <= env.now < hi:
            tally[what] += 1

    def finish(end: float) -> None:
        seconds[machine.state] += clipped(since[0], end)
        book.rows(code, tally["opens"], tally["rejected"], tally["permitted"], *seconds)

    ctx.at_end(finish)
    book.by_site[key] = machine, counted
    return book.by_site[key]


class Breaker(CallPolicy):
    """Fail fast while the call site's breaker is open (see the module docstring)."""

    name = "circuit_breaker"
    rank = 30
    metrics = SUMMARY_METRICS

    def applies(self, spec) -> bool:
        return getattr(spec, "circuit_breaker", None) is not None

    def wrap(self, call, spec, ctx):
        machine, counted = _breaker(spec, ctx)
        env, slow_after = ctx.env, spec.circuit_breaker.slow_call_duration_threshold

        def breaker_guarded(request):
            ticket = machine.acquire(env.now)
            if ticket is None:
                counted("rejected")
                return REJECTED
            counted("permitted")
            start = env.now
            status = yield from call(request)
            machine.record(ticket, status != OK, env.now - start > slow_after, env.now)
            return status

        return breaker_guarded


POLICY = Breaker()
