"""What every component and fault spec builds on, and the unions of the kinds registered.

A component kind's spec subclasses :class:`ComponentBase` and answers the questions the
generic code asks instead of naming kinds: the operations callers may name, the calls it
makes by itself, what it requires of the other components (:meth:`~ComponentBase.check`),
how many units a fault may hit, a few words for diagrams (:meth:`~ComponentBase.describe`)
and how many instances it runs (:meth:`~ComponentBase.instances`, the cost model). A fault
kind's spec subclasses :class:`FaultBase`, or :class:`TargetFault` when it hits a component.

:data:`ComponentSpec` and :data:`FaultSpec` are the tagged unions of the kinds in
:data:`simulator.components.KINDS` and :data:`simulator.faults.FAULTS`. Pydantic asks for
them when it builds :class:`~simulator.scenario.model.Scenario` (on first use) and again
whenever a kind is registered, so a plug-in's YAML validates, with located errors, and the
JSON Schema lists it, with no edit here.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Iterable, Mapping

from pydantic import BaseModel, Field, GetCoreSchemaHandler

from ..components import KINDS
from ..faults import FAULTS
from ..registry import KindRegistry
from .source import Path
from .types import Duration, Name, PositiveDuration, Strict, tagged_union

Problems = list[tuple[Path, str]]
"""``(path in the file, message)`` pairs: what a check found wrong."""


class ImplicitCall(BaseModel):
    """``operation`` of a component calls ``target.target_operation`` (``sync``: waits for it)."""

    operation: str
    target: str
    target_operation: str
    sync: bool = True
    field: str = ""  # the spec field that makes the call, for located errors


class ComponentBase(Strict):
    """What every component spec has: its ``kind``, an optional ``zone`` and ``description``."""

    kind: str
    zone: Name | None = None
    description: str | None = None

    store: ClassVar[bool] = False
    """A data store: diagrams draw it on the bottom row of its tier when it calls nothing."""

    def operation_names(self, components: Mapping[str, "ComponentBase"]) -> list[str]:
        """The operations callers may name (*components*: the scenario's, for kinds that forward)."""
        return list(getattr(self, "operations", {}))

    def operation_steps(self) -> dict[str, list]:
        """The steps written under each operation (the calls it makes), by operation name."""
        operations = getattr(self, "operations", None)
        if not isinstance(operations, Mapping):
            return {}
        return {name: getattr(op, "steps", []) for name, op in operations.items()}

    def implicit_calls(self, components: Mapping[str, "ComponentBase"]) -> list[ImplicitCall]:
        """Calls this kind makes by itself (a balancer to its backend, a cache to its origin)."""
        return []

    def check(self, name: str, components: Mapping[str, "ComponentBase"]) -> Problems:
        """What this kind requires of the other components (a balancer's backend is a service)."""
        return []

    def fault_units(self) -> tuple[int, str]:
        """How many units a fault's ``replicas: n`` may name at most, and what they are called."""
        return getattr(self, "replicas", 1), "replicas"

    def describe(self) -> str:
        """What it does, in a few words for diagrams (its policy, its shards); empty when plain."""
        return ""

    def instances(self, measured: Iterable[Mapping[str, Any]] = ()) -> float:
        """How many instances it runs, for the cost model.

        *measured*: this component's summary (``summary()["components"][name]``) from each
        run, for the kinds whose count changes at run time (read lazily: only they iterate it).
        """
        return getattr(self, "replicas", 1)


class FaultBase(Strict):
    """What every fault spec has: its ``kind``, when it starts (``at``) and how long it lasts (``for``)."""

    kind: str
    at: Duration
    for_: PositiveDuration = Field(alias="for")

    def check(self, index: int, components: Mapping[str, ComponentBase]) -> Problems:
        """What this fault (``faults[index]``) requires of the components."""
        return []


class TargetFault(FaultBase):
    """A fault on the component ``target`` (on ``replicas`` of its units, for kinds with that field)."""

    target: Name

    action: ClassVar[str] = ""
    """How an error names the fault (``crash``); default ``apply a <kind> to``."""

    def check(self, index: int, components: Mapping[str, ComponentBase]) -> Problems:
        if self.target not in components:
            return [(("faults", index, "target"), f"fault target {self.target!r} does not exist "
                                                  f"(expected one of: {', '.join(components)})")]
        replicas = getattr(self, "replicas", None)
        have, what = components[self.target].fault_units()
        if replicas is not None and replicas > have:
            action = self.action or f"apply a {self.kind} to"
            return [(("faults", index, "replicas"), f"cannot {action} {replicas} {what} of {self.target!r}: "
                                                    f"it has {have}")]
        return []


class KindUnion:
    """Pydantic metadata: the tagged union of the kinds in *registry*, made when the model is built."""

    def __init__(self, registry: KindRegistry, what: str):
        self.registry = registry
        self.what = what
        self.built: tuple | None = None  # the kinds the model was last built with

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        kinds = self.registry.items()
        union = tagged_union({name: kind.spec for name, kind in kinds}, "kind", self.what)
        self.built = tuple(kind for _, kind in kinds)
        return handler.generate_schema(union)

    def stale(self) -> bool:
        return self.built is not None and self.built != tuple(kind for _, kind in self.registry.items())


COMPONENTS = KindUnion(KINDS, "component")
FAULT_KINDS = KindUnion(FAULTS, "fault")
ComponentSpec = Annotated[ComponentBase, COMPONENTS]
"""Any registered component kind's spec, told apart by ``kind``."""
FaultSpec = Annotated[FaultBase, FAULT_KINDS]
"""Any registered fault kind's spec, told apart by ``kind``."""


def rebuild_on_registration(model: type[BaseModel]) -> None:
    """Rebuild *model* (which holds the unions) whenever a kind is registered or removed after it was built."""

    def rebuild() -> None:
        if COMPONENTS.stale() or FAULT_KINDS.stale():
            model.model_rebuild(force=True)

    KINDS.on_change(rebuild)
    FAULTS.on_change(rebuild)
