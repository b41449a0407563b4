"""What a component or a fault may ask of the world it runs in.

:class:`Context` is the whole interface between the runtime kinds (components, faults)
and the host that builds and runs them (:class:`simulator.engine.world.World` implements
it). A kind is typed against this protocol, never against ``World``, so the kernel and
the kinds sit below the engine and the engine is free to change how it provides them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

import numpy as np
import simpy

from .process import StepFn

if TYPE_CHECKING:
    from ..scenario.model import Scenario


class Context(Protocol):
    """The services of one run.

    * ``env`` — the SimPy environment; ``scenario`` — the validated scenario;
    * ``components`` — every runtime component by name (complete once :meth:`wire` runs);
    * ``recorder`` — the observer components and faults emit records into;
    * ``links`` — the network between zones (faults degrade it);
    * ``hops`` — the compiled hop pipeline per (from-zone, to-zone): ``hops.between(a, b).call(handle, op)``;
    * ``crashable``, ``erratic``, ``degradable_links``, ``cuttable_links`` — what faults announce
      at build time that they may touch (a component keeps crash bookkeeping only when it may crash);
    * ``fault_state`` — what the faults of one kind share while they run, by kind (the error
      probabilities active on each component, so that overlapping faults compose).
    """

    env: simpy.Environment
    scenario: "Scenario"
    components: Mapping[str, Any]
    recorder: Any
    links: Any
    hops: Any
    crashable: set[str]
    erratic: set[str]
    degradable_links: set[frozenset]
    cuttable_links: set[tuple[str, str]]
    fault_state: dict[str, Any]
    at_end: list[Callable[[float], None]]
    """Called with the end time when the run is over, before the records are read (a step's work under way)."""

    def rng(self, name: str) -> np.random.Generator:
        """The random generator of stream *name* under this run's seed (common random numbers)."""

    def uniform(self, name: str) -> Callable[[], float]:
        """A fast U(0,1) sampler on stream *name*."""

    def versions(self, component: str) -> dict[int, int]:
        """Per key, how many writes of *component*'s data were acknowledged (staleness)."""

    def may_crash(self, component: str) -> bool:
        """Whether a fault may crash *component* (so it must track its in-flight work)."""

    def on_cycle(self, caller: str, target: str) -> bool:
        """Whether the call *caller* → *target* (``component.operation`` each) lies on a feedback loop."""

    def caller(self, zone: str | None, target: str) -> StepFn:
        """A step calling ``component.operation`` from *zone*, network included."""
