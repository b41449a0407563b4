"""``saga:`` — steps that each commit on their own, undone by compensations when a later one fails.

Semantics (Garcia-Molina & Salem, "Sagas", SIGMOD 1987; the names of microservices.io):

* The steps run in order; each ``do`` calls ``component.operation`` through the hop
  pipeline. A step fails when its call ends in an error status (error, timeout, rejected).
* Steps up to and including the **pivot** (``pivot: true``; without one, every step) are
  *compensable*: when one fails, the ``undo`` of every step completed before it runs, in
  reverse order (the compensations, each retried per ``retry``). The failed step itself is
  not undone: its local transaction did not commit. Outcome **compensated** (a failure at
  the first step, with nothing to undo, is compensated too).
* The pivot is the point of no return. Steps after it are *retryable*: tried up to
  ``retry.max_attempts`` times, waiting ``backoff × multiplier^k`` between attempts. If one
  still fails, the outcome is **failed** and every completed step's effect stays.
* A completed step without an ``undo`` when a later compensable step fails, or a
  compensation that still fails after its attempts, leaves that step's effect: outcome
  **failed**. The other compensations still run. The row's ``partial_effect`` is that step
  (the first met in reverse order), or the retryable step that gave up. A crash of the
  coordinator mid-saga ends it **failed** at the step in flight.
* The request is ``OK`` only when the saga completed. A compensated saga is a failed request
  (``ERROR``): the order did not happen, so availability counts it as failed.
* A saga still under way when the run ends (a detached one, or one the drain did not wait
  for) is **running**: its row is written at the end with the time it has run so far, the
  messages and compensations so far and no step named. So every saga started in the
  window is counted once: started = completed + compensated + failed + running.
* **Per-step call options.** A step's ``timeout`` bounds each attempt of its ``do`` and of its
  ``undo``, as the ``timeout`` of a ``call:`` step does (the call policy
  :class:`~simulator.steps.policies.Timeout`): the saga stops waiting and the attempt fails
  (the participant's work goes on, and may still commit: a timed-out ``do`` is not undone,
  the classic saga hazard). In a choreography it bounds the wait for the participant's event.

**Styles** (message counts: golden G12.2; latency: golden G12.3):

* ``orchestration`` — the component running the step is the coordinator. Each attempt of a
  step or a compensation is a command and its reply: a call through the hop pipeline (the
  link's delay both ways), 2 messages. Happy path: 2n messages; failure at step j:
  2j + 2(j − 1).
* ``choreography`` — no coordinator. Each participant's local transaction (a step or a
  compensation) ends by emitting one event: to the next participant, or after a failure to
  the previous one (to compensate), the last one back to the initiator, which then answers
  the request. An event is a one-way hop (``ctx.send``: the link's delay once, then the
  visit). The initiator handing the request to the first participant is the saga's trigger:
  timed, not counted (in the pattern the initiator is the first participant). A retry is the
  participant running its local transaction again after the backoff, with no new event.
  Happy path: n events; failure at step j: j + (j − 1). (A broker-backed choreography can
  later route these events through a topic.)

**Outcomes are records.** Each saga adds one row to the coordinating component's record
table ``sagas`` (:data:`FIELDS`; ``ComponentRecords.table("sagas")`` with full records). Its
summary rule is a digest (:mod:`simulator.metrics.digest`) of the sagas *started* in the
measurement window, kept in both records modes, which :class:`SagaSummary` presents in the
component's summary entry: ``sagas`` (per saga name: counts by outcome, completion ratio,
messages, compensations, where sagas failed and left partial effects, latency per outcome)
and, over the sagas the component coordinates, ``sagas_completed``, ``sagas_compensated``,
``sagas_failed``, ``saga_completed_ratio``, ``saga_messages`` and ``saga_compensations``,
``sagas_started``, ``sagas_running`` and the shares ``saga_compensated_ratio`` and
``saga_failed_ratio``, which objectives read as component metrics; the three ratios are
what ``sdsim compare`` compares (:meth:`SagaKind.ratios`) and every number is in sweep
records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ..core.request import ERROR, OK
from ..metrics.digest import Digest, Group
from ..scenario.types import Duration, Name, PositiveDuration, Strict
from .base import StepKind, StepSpec, Target

OUTCOMES = ("completed", "compensated", "failed", "running")
"""Outcome codes of the ``sagas`` table, in order (0, 1, 2, 3); ``running``: still under way when the run ended."""
COMPLETED, COMPENSATED, FAILED, RUNNING = range(4)

STEP_POLICIES = ("timeout",)
"""The call policies a saga step takes, with the fields of a ``call:`` step that configure them."""

FIELDS = ("start", "end", "latency", "saga", "outcome", "failed_at", "messages", "compensations", "partial_effect")
"""One row per saga: start and end times, latency (s), the saga's code (its index in
:class:`SagaSummary`), the outcome code (:data:`OUTCOMES`), the step that failed (1-based;
0: none), the messages sent, the compensations run and the step whose effect was left
(1-based; 0: none)."""

LATENCY_KEYS = ("mean", "p50", "p95", "p99", "max")


class SagaAction(Strict):
    """One step of a saga: the call that does it, the call that undoes it, whether it is the pivot."""

    do: Target
    undo: Target | None = None
    pivot: bool = False
    timeout: PositiveDuration | None = Field(None, description="bounds each attempt of the do and of the undo, "
                                                              "as a call's timeout")


class SagaRetry(Strict):
    """How a retryable step (after the pivot) and a compensation are retried."""

    max_attempts: Annotated[int, Field(ge=1, description="attempts in all, the first included")] = 3
    backoff: Duration = 0.1
    multiplier: Annotated[float, Field(ge=1.0, description="each wait is the previous one times this")] = 2.0

    def waits(self) -> list[float]:
        """The waits before attempts 2, 3, …"""
        return [self.backoff * self.multiplier ** k for k in range(self.max_attempts - 1)]


class Saga(Strict):
    """A saga: ``steps`` in order, compensated in reverse up to the pivot, retried after it."""

    name: Name | None = Field(None, description="names its outcomes in the summary (default: the operation's name)")
    style: Literal["orchestration", "choreography"] = "orchestration"
    steps: list[SagaAction]
    retry: SagaRetry = SagaRetry()

    @model_validator(mode="after")
    def _one_pivot_and_undos_before_it(self) -> "Saga":
        if not self.steps:
            raise ValueError("a saga needs at least one step")
        pivots = [j for j, action in enumerate(self.steps, start=1) if action.pivot]
        if len(pivots) > 1:
            listed = ", ".join(map(str, pivots[:-1])) + f" and {pivots[-1]}"
            raise ValueError(f"steps {listed} are {'both' if len(pivots) == 2 else 'all'} marked pivot: a saga "
                             "has one point of no return at most")
        if pivots:
            pivot = pivots[0]
            for j, action in enumerate(self.steps[pivot - 1:], start=pivot):
                if action.undo is None:
                    continue
                if j == pivot:
                    raise ValueError(f"step {j} ({action.do}) is the pivot, the point of no return: it is never "
                                     f"compensated, so its undo ({action.undo}) would never run")
                raise ValueError(f"step {j} ({action.do}) comes after the pivot (step {pivot}): it is retried "
                                 f"until it succeeds, never compensated, so its undo ({action.undo}) would never run")
        return self

    @property
    def pivot_index(self) -> int | None:
        """The pivot's index (0-based), or ``None``."""
        return next((j for j, action in enumerate(self.steps) if action.pivot), None)

    def labels(self) -> tuple[str, ...]:
        """A name per step for the summary: its ``do``, numbered when a saga calls it twice."""
        targets = [action.do for action in self.steps]
        return tuple(t if targets.count(t) == 1 else f"{t} (step {j})" for j, t in enumerate(targets, start=1))


class SagaStep(StepSpec):
    """A saga (see the module docstring)."""

    saga: Saga


SUMMARY_METRICS = ("sagas_completed", "sagas_compensated", "sagas_failed", "saga_completed_ratio", "saga_messages",
                   "saga_compensations", "sagas_started", "sagas_running", "saga_compensated_ratio",
                   "saga_failed_ratio")
"""The numbers a component's sagas add to its summary entry (beside the per-saga ``sagas`` block)."""
RATIOS = ("saga_completed_ratio", "saga_compensated_ratio", "saga_failed_ratio")
"""The shares of the sagas started (in the window) by outcome: what ``compare`` compares."""


@dataclass(frozen=True)
class SagaSummary:
    """Presents the digest of a component's ``sagas`` table: *sagas* lists ``(name, step labels)`` by code."""

    sagas: tuple[tuple[str, tuple[str, ...]], ...]

    def __call__(self, groups: list[Group]) -> dict[str, Any]:
        blocks = {name: self._block(labels, [g for g in groups if g.key[0] == code])
                  for code, (name, labels) in enumerate(self.sagas)}
        count = {outcome: sum(b[outcome] for b in blocks.values()) for outcome in OUTCOMES}
        total = sum(count.values())

        def share(outcome: str) -> float | None:
            return count[outcome] / total if total else None

        numbers = (count["completed"], count["compensated"], count["failed"], share("completed"),
                   sum(b["messages"] for b in blocks.values()), sum(b["compensations"] for b in blocks.values()),
                   total, count["running"], share("compensated"), share("failed"))
        return {"sagas": blocks, **dict(zip(SUMMARY_METRICS, numbers, strict=True))}

    @staticmethod
    def _block(labels: tuple[str, ...], groups: list[Group]) -> dict[str, Any]:
        of = {OUTCOMES[g.key[1]]: g for g in groups}
        total = sum(g.count for g in groups)
        messages = int(round(sum(g.sums["messages"] for g in groups)))
        compensations = int(round(sum(g.sums["compensations"] for g in groups)))

        def by_step(field: str) -> dict[str, int]:
            out: dict[str, int] = {}
            for g in groups:
                for step, n in g.counts[field].items():
                    if step:
                        out[labels[step - 1]] = out.get(labels[step - 1], 0) + n
            return {label: out[label] for label in labels if label in out}

        counts = {o: of[o].count if o in of else 0 for o in OUTCOMES}
        return {"count": total, **counts, "completed_ratio": counts["completed"] / total if total else None,
                "messages": messages, "messages_per_saga": messages / total if total else None,
                "compensations": compensations, "compensations_per_saga": compensations / total if total else None,
                "failed_at": by_step("failed_at"), "partial_effects": by_step("partial_effect"),
                "latency_s": {o: {k: of[o].spread.get(k) if o in of else None for k in LATENCY_KEYS}
                              for o in OUTCOMES}}


def component_sagas(scenario: Any, component: str) -> list[tuple[Any, str]]:
    """Every saga step of *component*'s operations, nested ones included, with the name it reports under."""
    from ..scenario.topology import iter_steps  # the scenario's walk of nested steps (imported late: no loop)

    found = []
    for operation, steps in scenario.components[component].operation_steps().items():
        for step, _, _ in iter_steps(steps, ()):
            if isinstance(step, SagaStep):
                found.append((step, step.saga.name or operation))
    return found


def summary_of(scenario: Any, component: str) -> SagaSummary:
    """The :class:`SagaSummary` of *component*'s sagas; two different sagas may not share a name."""
    sagas: dict[str, tuple[str, ...]] = {}
    for step, name in component_sagas(scenario, component):
        labels = step.saga.labels()
        if sagas.setdefault(name, labels) != labels:
            raise ValueError(f"component {component!r} runs two different sagas named {name!r}: give each its "
                             "own name")
    return SagaSummary(tuple(sagas.items()))


class SagaKind(StepKind):
    name = "saga"
    spec = SagaStep

    def targets(self, spec: SagaStep):
        """Every ``do`` and ``undo``: the request waits for each (a compensation calling back into the
        saga's own operation is a loop like any other)."""
        for j, action in enumerate(spec.saga.steps):
            yield action.do, True, ("saga", "steps", j, "do")
            if action.undo is not None:
                yield action.undo, True, ("saga", "steps", j, "undo")

    def check(self, spec: SagaStep, path: tuple, scenario: Any) -> list[tuple[tuple, str]]:
        """Two different sagas of one component may not share a name: outcomes are counted by name."""
        component = path[1]
        sagas = component_sagas(scenario, component)
        name = next(n for s, n in sagas if s is spec)
        for other, other_name in sagas:
            if other is spec:
                break
            if other_name == name and other.saga.labels() != spec.saga.labels():
                where = path + (("saga", "name") if spec.saga.name else ("saga",))
                return [(where, f"{component!r} already runs another saga named {name!r} (with other steps): "
                                "give each saga its own name, since outcomes are counted by name")]
        return []

    def metrics(self, spec: SagaStep) -> tuple[str, ...]:
        return SUMMARY_METRICS

    def ratios(self, spec: SagaStep) -> tuple[str, ...]:
        return RATIOS

    def compile(self, spec: SagaStep, ctx):
        saga = spec.saga
        summary = summary_of(ctx.scenario, ctx.component)
        name = next(n for s, n in component_sagas(ctx.scenario, ctx.component) if s is spec)
        code = [n for n, _ in summary.sagas].index(name)
        add = ctx.table("sagas", FIELDS, Digest(
            by=("saga", "outcome"), sums=("messages", "compensations"), counts=("failed_at", "partial_effect"),
            spread="latency", when="start", window=(ctx.scenario.warmup, ctx.scenario.duration), present=summary))
        run = _driver(saga, *(_choreography if saga.style == "choreography" else _orchestration)(saga, ctx))
        env = ctx.env
        running: dict[Progress, float] = {}  # sagas under way, with their start

        def saga_step(request):
            start = env.now
            done = Progress()
            running[done] = start
            try:
                yield from run(request, done)
            except Exception:  # the coordinator crashed (an interrupt): the saga stops where it was
                done.crashed()
                del running[done]
                add(start, env.now, env.now - start, code, done.outcome, done.failed_at, done.messages,
                    done.compensations, done.partial_effect)
                raise
            del running[done]
            add(start, env.now, env.now - start, code, done.outcome, done.failed_at, done.messages,
                done.compensations, done.partial_effect)
            return OK if done.outcome == COMPLETED else ERROR

        def unfinished(now: float) -> None:
            """The run is over: a row for every saga still under way (outcome running, no step named)."""
            for done, start in running.items():
                add(start, now, now - start, code, RUNNING, 0, done.messages, done.compensations, 0)
            running.clear()

        ctx.at_end(unfinished)
        return saga_step


class Progress:
    """How far one saga got: what its row records (steps are 1-based; 0 is none)."""

    __slots__ = ("messages", "compensations", "failed_at", "partial_effect", "in_flight", "outcome", "holder")

    def __init__(self) -> None:
        self.messages = self.compensations = self.failed_at = self.partial_effect = self.in_flight = 0
        self.outcome: int | None = None
        self.holder: str | None = None  # choreography: the participant that emits the next event (None: the initiator)

    def left(self, step: int) -> None:
        """*step*'s effect stays: the first one met (in reverse order) is the one the row names."""
        self.partial_effect = self.partial_effect or step

    def crashed(self) -> None:
        """The coordinator went down with the saga unfinished: failed at the step in flight, its effect left."""
        if self.outcome is None:
            self.outcome = FAILED
            self.failed_at = self.failed_at or self.in_flight
            self.left(self.in_flight)


def _driver(saga: Saga, transact, finish):
    """The saga's course, whatever the style: ``transact(j, undo, tries, request, progress)`` runs step
    *j*'s ``do`` (or its ``undo``) up to *tries* times and says whether it succeeded; ``finish``
    (or ``None``) ends the saga once its outcome is known."""
    steps = saga.steps
    last_compensable = len(steps) - 1 if saga.pivot_index is None else saga.pivot_index
    retries = saga.retry.max_attempts

    def run(request, progress: Progress):
        for j in range(len(steps)):
            progress.in_flight = j + 1
            if (yield from transact(j, False, 1 if j <= last_compensable else retries, request, progress)):
                continue
            progress.failed_at = j + 1
            if j > last_compensable:  # a retryable step gave up: the saga cannot go back
                progress.left(j + 1)
            else:
                for k in range(j - 1, -1, -1):  # compensate, in reverse
                    if steps[k].undo is None:
                        progress.left(k + 1)
                        continue
                    progress.in_flight = k + 1
                    progress.compensations += 1
                    if not (yield from transact(k, True, retries, request, progress)):
                        progress.left(k + 1)
            progress.outcome = FAILED if progress.partial_effect else COMPENSATED
            break
        else:
            progress.outcome = COMPLETED
        progress.in_flight = 0
        if finish is not None:
            yield from finish(request, progress)

    return run


def _with_options(step, action: SagaAction, ctx):
    """*step* (one attempt of a ``do`` or an ``undo``) wrapped by the call policies the action asks
    for (:data:`STEP_POLICIES`), in the call step's order."""
    from .policies import in_order  # the registry of policies (imported late: steps/__init__ reads this module)

    for policy in in_order():
        if policy.name in STEP_POLICIES and policy.applies(action):
            step = policy.wrap(step, action, ctx)
    return step


def _orchestration(saga: Saga, ctx):
    """The coordinator commands each step and waits for the reply: a call, 2 messages per attempt."""
    calls = {(j, undo): _with_options(ctx.call(target), action, ctx) for j, action in enumerate(saga.steps)
             for undo, target in ((False, action.do), (True, action.undo)) if target}
    waits, env = saga.retry.waits(), ctx.env

    def transact(j: int, undo: bool, tries: int, request, progress: Progress):
        call = calls[j, undo]
        for k in range(tries):
            if k:
                yield env.timeout(waits[k - 1])
            progress.messages += 2
            if not (yield from call(request)):
                return True
        return False

    return transact, None


def _choreography(saga: Saga, ctx):
    """Each local transaction ends with one event, a one-way hop to whoever acts next; the last
    one reaches the initiator. A retry runs the local transaction again where it is."""
    targets = {(j, undo): target for j, action in enumerate(saga.steps)
               for undo, target in ((False, action.do), (True, action.undo)) if target}
    owner = {target: target.partition(".")[0] for target in targets.values()}
    senders = [None, *sorted(set(owner.values()))]  # None: the initiator (this component)
    send = {(sender, j, undo): _with_options(ctx.send(target, sender), saga.steps[j], ctx)
            for sender in senders for (j, undo), target in targets.items()}
    arrive = {sender: ctx.receive(sender) for sender in senders if sender is not None}
    waits, env = saga.retry.waits(), ctx.env

    def transact(j: int, undo: bool, tries: int, request, progress: Progress):
        here = owner[targets[j, undo]]
        succeeded = not (yield from send[progress.holder, j, undo](request))
        for k in range(1, tries):
            if succeeded:
                break
            yield env.timeout(waits[k - 1])
            succeeded = not (yield from send[here, j, undo](request))
        progress.holder = here
        progress.messages += 1  # its outcome, as an event
        return succeeded

    def finish(request, progress: Progress):
        yield from arrive[progress.holder](request)

    return transact, finish


KIND = SagaKind()
