"""Build a runnable world from a scenario.

Faults announce what they may touch, components are created by ``kind`` from the registry
of kinds (:data:`simulator.components.KINDS`, which loads their runtimes on first use)
and then wired (steps compiled against their targets), then clients and fault schedules
become processes.
"""

from __future__ import annotations

from ..components import KINDS
from ..metrics.recorder import Recorder
from ..scenario.model import Scenario
from .clients import make_clients
from .world import World


def build(scenario: Scenario, seed: int | None = None, recorder: Recorder | None = None) -> World:
    """Create the world for *scenario* (its own seed unless *seed* is given), reporting to *recorder*
    (default: a full :class:`~simulator.metrics.recorder.Recorder`)."""
    world = World(scenario, scenario.seed if seed is None else seed, recorder)
    for name, spec in scenario.components.items():
        world.wiring = name  # the caller of the hops it compiles (its security identity)
        world.components[name] = KINDS[spec.kind].runtime(name, spec, world)
    for component in world.components.values():
        world.wiring = component.name
        component.wire()
    world.wiring = None  # from here on: the workloads, from outside the mesh
    world.clients = make_clients(world)
    for fault in world.faults:
        world.env.process(fault.schedule(world))
    return world
