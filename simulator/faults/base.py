"""The fault contract: prepare, apply, revert.

A fault kind is one module holding its spec (a :class:`~simulator.scenario.kinds.FaultBase`,
pure data) and its runtime (a :class:`Fault`) side by side, exposed as ``SPEC`` and
``RUNTIME`` and listed once in :data:`simulator.faults.BUILTIN`. Neither side imports SimPy
at module level: the runtime reaches the run through the :class:`~simulator.core.context.Context`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from ..core.context import Context


class Fault:
    """One scheduled fault. Subclasses implement :meth:`apply` and :meth:`revert`."""

    kind: ClassVar[str]

    def __init__(self, spec):
        self.spec = spec

    def prepare(self, world: "Context") -> None:
        """Tell the world, before components are built, what this fault may touch."""

    def apply(self, world: "Context") -> None:
        raise NotImplementedError

    def revert(self, world: "Context") -> None:
        raise NotImplementedError

    def describe(self) -> tuple[str, str]:
        """(target, detail) for the fault records."""
        return getattr(self.spec, "target", ""), ""

    def outcome(self) -> str:
        """What the fault did, said when it ends (added to its record's detail); ``""``: nothing to say."""
        return ""

    def schedule(self, world: "Context"):
        env = world.env
        if self.spec.at > env.now:
            yield env.timeout(self.spec.at - env.now)
        target, detail = self.describe()
        world.recorder.fault(env.now, "start", self.kind, target, detail)
        self.apply(world)
        yield env.timeout(self.spec.for_)
        self.revert(world)
        target, detail = self.describe()  # again: the end may say what the fault did
        world.recorder.fault(env.now, "end", self.kind, target, detail, self.outcome())
