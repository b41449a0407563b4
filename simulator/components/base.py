"""The component contract: what the engine asks of a kind's runtime.

A component is built from its spec (pure data) and a :class:`~simulator.core.context.Context` (what it may ask of the world).
The engine calls :meth:`Component.handle` as a SimPy process body: it yields events and
returns a :class:`~simulator.core.request.Status`. Components emit records into the
:class:`~simulator.metrics.recorder.SpanLog` the world gives them; they never print,
plot or compute statistics.

A kind that queues work (service, cache, database, load balancer) *holds* a
:class:`~simulator.components.station.Station`, the one worker pool and visit loop, and
exposes its ``replicas`` and span ``log``; no kind's runtime inherits from another's.

Adding a kind: a folder ``components/<kind>/`` with ``spec.py`` (a
:class:`~simulator.scenario.kinds.ComponentBase` exposed as ``SPEC``) and ``runtime.py`` (a
subclass of :class:`Component` exposed as ``RUNTIME``), and one line in
:data:`simulator.components.BUILTIN` (or :func:`simulator.register_kind` from outside).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generator

if TYPE_CHECKING:
    from ..core.context import Context
    from ..scenario.kinds import ComponentBase


class Component:
    """Base class of every runtime component."""

    kind: ClassVar[str]

    def __init__(self, name: str, spec: "ComponentBase", world: "Context"):
        self.name = name
        self.spec = spec
        self.world = world
        self.zone = spec.zone

    def wire(self) -> None:
        """Resolve references to other components; called once all exist."""

    def operation(self, name: str) -> Any:
        """The compiled operation *name*, passed back to :meth:`handle`."""
        raise NotImplementedError

    def operation_from(self, name: str, zone: str | None) -> Any:
        """The compiled operation *name* as called from *zone* (the caller's; ``None``: no zone).

        A kind whose behaviour depends on where the caller is (a store spread over zones
        that serves each caller from its nearest replica) overrides this; the default is
        :meth:`operation`."""
        return self.operation(name)

    def handle(self, operation: Any, request: Any) -> Generator[Any, Any, int]:
        """Serve *request* for *operation*; a SimPy process body returning a status."""
        raise NotImplementedError

    def finish(self, now: float) -> None:
        """The run is over: emit records for work still in progress."""

    def crash_targets(self, count: int | None) -> list:
        """The replicas a crash or slow-down of *count* replicas (``None``: all) hits."""
        replicas = self.replicas.replicas
        return list(replicas[:count] if count else replicas)

    def on_crash(self, replicas: list) -> None:
        """*replicas* just went down (after their in-flight work was failed)."""

    def on_restart(self, replicas: list) -> None:
        """*replicas* are back up."""
