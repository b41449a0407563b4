"""What a step kind and a call policy are, and what they may ask of the builder that compiles them.

A step runs inside a SimPy process as ``step(request) -> generator`` returning a status
(:data:`StepFn`). Compiling happens once per operation when the world is wired; the
closures a kind returns are the whole per-request cost, so a kind does its look-ups in
``compile`` and keeps its step function small.
"""

from __future__ import annotations

from typing import Annotated, Any, Callable, ClassVar, Generator, Iterable, Mapping, Protocol

from pydantic import ConfigDict, Field

from ..scenario.types import Strict

StepFn = Callable[[Any], Generator[Any, Any, int]]
"""``step(request)``: a generator run inside a SimPy process that returns a status."""

Target = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_-]*$",
                              description="component.operation")]

Children = Iterable[tuple[list, tuple, bool]]
"""``(steps, path below the step, whether they run whenever the step does)`` for each nested step list."""


class StepSpec(Strict):
    """The spec of a step. Built when a scenario is (a step may nest steps of any registered kind)."""

    model_config = ConfigDict(defer_build=True)


class StepBuilder(Protocol):
    """What :meth:`StepKind.compile` may ask for: the compiler of one step of one operation.

    * ``env`` — the SimPy environment (``process``, ``timeout``, ``all_of``);
    * ``guarded(generator)`` — the root of a detached process (a crash ends it with ``ERROR``);
    * ``detach(generator)`` — start *generator* as a process nobody will wait for (its end
      schedules no event; :class:`simulator.core.process.Detached`);
    * ``run_sequence(steps, request)`` — run compiled steps in order, ``ERROR`` at the first failure;
    * ``scenario`` — the validated scenario; ``component`` — the name of the component whose
      operation the step belongs to;
    * ``world`` — the world being wired (``world.components``: the built components by name), for
      a step that hands its work to a component's own machinery (``publish ... via: outbox``).
    """

    env: Any
    guarded: Callable[[Any], Any]
    detach: Callable[[Any], Any]
    run_sequence: Callable[[list, Any], Any]
    scenario: Any
    component: str
    world: Any

    def call(self, target: str) -> StepFn:
        """A step visiting ``component.operation`` from this component, through the network hop."""

    def send(self, target: str, sender: str | None = None) -> StepFn:
        """A one-way message from component *sender* (default: this one) to ``component.operation``:
        the hop's way there, then the visit; no reply crosses back."""

    def receive(self, sender: str) -> StepFn:
        """A one-way message from component *sender* arriving at this component (no work)."""

    def table(self, name: str, fields: Any, summary: Any = "count") -> Callable[..., None]:
        """This component's record table *name* (shared by the steps that declare it alike): its ``add(*row)``."""

    def step(self, spec: Any, path: str) -> StepFn:
        """Compile one nested step; its random streams are named under ``<this step>/<path>``."""

    def steps(self, specs: list, path: str) -> list[StepFn]:
        """Compile a nested step list; step *i*'s streams are named under ``<this step>/<path>/<i>``."""

    def uniform(self) -> Callable[[], float]:
        """A U(0,1) sampler on this step's own random stream."""

    def at_end(self, callback: Callable[[float], None]) -> None:
        """Call ``callback(end)`` when the run is over, before its records are read (work still under way)."""


class StepKind:
    """One kind of step: ``name`` (its YAML key), ``spec`` (its model) and its three faces."""

    name: ClassVar[str]
    spec: ClassVar[type]

    def children(self, spec: Any) -> Children:
        """The step lists nested in *spec*, with their path and whether they always run with it."""
        return ()

    def targets(self, spec: Any) -> Iterable[tuple[str, bool, str | tuple]]:
        """The operations *spec* itself calls: ``(component.operation, sync, field)``; *field* is the
        key the target is written under, or a tuple of keys below the step (``("saga", "steps", 1, "do")``)."""
        return ()

    def check(self, spec: Any, path: tuple, scenario: Any) -> list[tuple[tuple, str]]:
        """Problems ``(path, message)`` of *spec*, written at *path* in *scenario*, that only the
        scenario around it shows (for :func:`simulator.scenario.topology.check`); none by default."""
        return []

    def expected_runs(self, spec: Any) -> list[float]:
        """How many times each of :meth:`children`'s lists runs, on average, per run of *spec*
        (for the mean visits per request around a loop): 1 if it always runs, else 0 (a
        fallback runs only on failure). A kind whose children run with a probability says so."""
        return [1.0 if always else 0.0 for _, _, always in self.children(spec)]

    def metrics(self, spec: Any) -> tuple[str, ...]:
        """The metric names a step of this kind adds to its component's summary entry (what its
        record table's digest presents, e.g. a saga's ``sagas_completed``); an objective may read
        them. None by default."""
        return ()

    def ratios(self, spec: Any) -> tuple[str, ...]:
        """Which of :meth:`metrics` are shares of a whole (in [0, 1]): what ``sdsim compare`` compares
        beside the kinds' declared ratios. None by default."""
        return ()

    def compile(self, spec: Any, ctx: StepBuilder) -> StepFn:
        """The step function of *spec*; called once, when the world is wired."""
        raise NotImplementedError


class CallPolicy:
    """A strategy that wraps the call of a ``call`` step: ``name``, its rank in the order, its faces."""

    name: ClassVar[str]
    rank: ClassVar[int]
    """Where it sits from the call outwards (:mod:`simulator.steps.policies` lists the ranks)."""
    fields: ClassVar[Mapping[str, Any]] = {}
    """The fields it adds to a ``call:`` step, as pydantic's ``create_model`` takes them
    (``{"tries": (int, 1)}``): how a policy from outside the package is configured in YAML.
    The built-in policies' fields are written on :class:`~simulator.steps.call.CallStep`."""

    def applies(self, spec: Any) -> bool:
        """Whether the call step *spec* asks for this policy."""
        raise NotImplementedError

    def children(self, spec: Any) -> Children:
        """Steps this policy may run instead of the call (a fallback), as :meth:`StepKind.children`."""
        return ()

    def wrap(self, call: StepFn, spec: Any, ctx: StepBuilder) -> StepFn:
        """*call* with this policy around it; called once, when the world is wired."""
        raise NotImplementedError
