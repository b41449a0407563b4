"""Compile an operation's ``steps`` into step functions, once, when the world is wired.

Each step spec is compiled by its kind (:data:`simulator.steps.STEPS`): the kind's
``compile(spec, ctx)`` gets a :class:`StepCompiler`, the runtime side of
:class:`simulator.steps.base.StepBuilder`, bound to the step's place: the calling
component's zone (for the network hop) and the step's random stream name
(``<component>/<operation>/steps/<i>``, nested steps below it), so the same seed draws
the same numbers whatever else the scenario holds.

A compiled step is ``step(request) -> generator returning a status``; a sequence stops at
the first failed step and reports ``ERROR`` (:func:`~simulator.core.process.run_sequence`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..core.process import Detached, StepFn, guarded, run_sequence, unnested
from ..core.request import OK
from ..steps import kind_of

if TYPE_CHECKING:
    from ..core.context import Context


class StepCompiler:
    """Compiles the step at random stream *stream* of a component in *zone* (see the module docstring)."""

    guarded = staticmethod(guarded)
    run_sequence = staticmethod(run_sequence)

    def __init__(self, world: "Context", zone: str | None, stream: str):
        self.world = world
        self.env = world.env
        self.zone = zone
        self.stream = stream
        self.scenario = world.scenario
        self.component = stream.split("/")[0]  # streams start <component>/<operation>/steps

    def compile(self, spec) -> StepFn:
        return kind_of(spec).compile(spec, self)

    def detach(self, generator) -> Detached:
        """Start *generator* as a process nobody waits for (no end event; :class:`Detached`)."""
        return Detached(self.env, generator)

    def call(self, target: str) -> StepFn:
        call = self.world.caller(self.zone, target, self.component)
        caller = ".".join(self.stream.split("/")[:2])  # streams start <component>/<operation>/steps
        if self.world.on_cycle(caller, target):  # a feedback loop: any number of visits, bounded stack
            call = unnested(self.env, call)
        elif self.world.hands_over(caller, target):  # a deep chain: a fresh process every few levels
            call = unnested(self.env, call, limit=0)
        return call

    def send(self, target: str, sender: str | None = None) -> StepFn:
        """A one-way message from component *sender* (default: this one) to ``component.operation``:
        the hop's way there, then the target's visit; the status is the visit's (no reply crosses back)."""
        name, _, op_name = target.partition(".")
        component = self.world.components[name]
        send = self.world.hops.between(self._zone_of(sender), component.zone).send(component.handle,
                                                                                   component.operation(op_name))
        caller = ".".join(self.stream.split("/")[:2])
        if self.world.on_cycle(caller, target):  # as for a call: any number of visits, bounded stack
            send = unnested(self.env, send)
        return send

    def receive(self, sender: str) -> StepFn:
        """A one-way message from component *sender* arriving at this component (its handling costs nothing)."""
        return self.world.hops.between(self._zone_of(sender), self.zone).send(_arrived, None)

    def table(self, name: str, fields, summary="count"):
        """This component's record table *name* (:mod:`simulator.metrics.tables`): the first step
        that asks declares it, later ones declaring it alike share it; returns ``add(*row)``."""
        return self.world.recorder.spans[self.component].tables.shared(name, fields, summary)

    def _zone_of(self, component: str | None) -> str | None:
        return self.zone if component is None else self.world.components[component].zone

    def step(self, spec, path: str) -> StepFn:
        return StepCompiler(self.world, self.zone, f"{self.stream}/{path}").compile(spec)

    def steps(self, specs: list, path: str) -> list[StepFn]:
        return compile_steps(specs, self.world, self.zone, f"{self.stream}/{path}")

    def uniform(self) -> Callable[[], float]:
        return self.world.uniform(self.stream)

    def at_end(self, callback: Callable[[float], None]) -> None:
        self.world.at_end.append(callback)


def _arrived(op, request):
    """The visit of a message that needs no work: it has arrived."""
    return OK
    yield  # a generator that never waits


def compile_steps(steps: list, world: "Context", caller_zone: str | None, stream: str) -> list[StepFn]:
    """Turn step specs into step functions; step *i*'s random streams are named under ``<stream>/<i>``."""
    return [StepCompiler(world, caller_zone, f"{stream}/{i}").compile(step) for i, step in enumerate(steps)]
