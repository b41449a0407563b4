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

from ..core.process import StepFn, guarded, run_sequence, unnested
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

    def compile(self, spec) -> StepFn:
        return kind_of(spec).compile(spec, self)

    def call(self, target: str) -> StepFn:
        call = self.world.caller(self.zone, target)
        caller = ".".join(self.stream.split("/")[:2])  # streams start <component>/<operation>/steps
        if self.world.on_cycle(caller, target):  # a feedback loop: any number of visits, bounded stack
            call = unnested(self.env, call)
        return call

    def step(self, spec, path: str) -> StepFn:
        return StepCompiler(self.world, self.zone, f"{self.stream}/{path}").compile(spec)

    def steps(self, specs: list, path: str) -> list[StepFn]:
        return compile_steps(specs, self.world, self.zone, f"{self.stream}/{path}")

    def uniform(self) -> Callable[[], float]:
        return self.world.uniform(self.stream)


def compile_steps(steps: list, world: "Context", caller_zone: str | None, stream: str) -> list[StepFn]:
    """Turn step specs into step functions; step *i*'s random streams are named under ``<stream>/<i>``."""
    return [StepCompiler(world, caller_zone, f"{stream}/{i}").compile(step) for i, step in enumerate(steps)]
