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
JSON Schema lists it, with no edit here. The same holds for the step union
(:data:`simulator.steps.Step`), which models nest deeper (:func:`refresh_models`).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Iterable, Mapping

from pydantic import BaseModel, Field, GetCoreSchemaHandler

from ..components import KINDS
from ..faults import FAULTS
from ..registry import KindRegistry
from ..security.metrics import SECURITY_METRICS
from ..steps import POLICIES, STEPS, UNION_ERROR as STEP_UNION_ERROR
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
    shared_metrics: ClassVar[tuple] = SECURITY_METRICS
    """What every kind reports besides its own ``metrics`` (the security counters, with ``security:``)."""
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

    def visit_classes(self) -> dict[str, str]:
        """Operation → the class its visits are counted under (a database's ``read``/``write``): the
        summary then has ``<class>s``, the visits of each class served. None by default."""
        return {}

    def fault_units(self) -> tuple[int, str]:
        """How many units a fault's ``replicas: n`` may name at most, and what they are called."""
        return getattr(self, "replicas", 1), "replicas"

    def describe(self) -> str:
        """What it does, in a few words for diagrams (its policy, its shards); empty when plain."""
        return ""

    def timers(self, components: Mapping[str, "ComponentBase"]) -> list[tuple[Path, float, float]]:
        """Periodic work this kind does by itself: ``(field path, interval in s, units ticked each
        interval)`` (a health check probes every backend host each ``interval``). The run
        budget multiplies them out, so a ``1e-300s`` interval is refused before the run."""
        return []

    def instances(self, measured: Iterable[Mapping[str, Any]] = ()) -> float:
        """How many instances it runs, for the cost model.

        *measured*: this component's summary (``summary()["components"][name]``) from each
        run, for the kinds whose count changes at run time (read lazily: only they iterate it).
        """
        return getattr(self, "replicas", 1)


class FaultBase(Strict):
    """What every fault spec has: its ``kind``, when it starts (``at``) and how long it lasts (``for``).

    ``incident: false`` marks a fault that alert scoring does not count as an incident (a known
    background error rate, a planned maintenance): an alert it sets off is a false alert.
    """

    kind: str
    at: Duration
    for_: PositiveDuration = Field(alias="for")
    incident: bool = True

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

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        union = tagged_union({name: kind.spec for name, kind in self.registry.items()}, "kind", self.what)
        return handler.generate_schema(union)


COMPONENTS = KindUnion(KINDS, "component")
FAULT_KINDS = KindUnion(FAULTS, "fault")
ComponentSpec = Annotated[ComponentBase, COMPONENTS]
"""Any registered component kind's spec, told apart by ``kind``."""
FaultSpec = Annotated[FaultBase, FAULT_KINDS]
"""Any registered fault kind's spec, told apart by ``kind``."""


_ROOTS: list[type[BaseModel]] = []


def rebuild_on_registration(model: type[BaseModel]) -> None:
    """Keep *model* (the scenario, which holds the unions) and every model built with a union current.

    Whenever a component, fault or step kind, or a call policy, is registered or removed,
    every pydantic model already built whose schema holds that registry's union is rebuilt
    (:func:`refresh_models`), *model* among them. The step union sits deep: a service's
    operations hold steps, and a ``parallel:`` or a ``call:``'s ``fallback`` nest them.
    Models not built yet pick the current union up when they are.
    """
    if not _ROOTS:
        for registry, marker in ((KINDS, "unknown_component"), (FAULTS, "unknown_fault"),
                                 (STEPS, STEP_UNION_ERROR), (POLICIES, STEP_UNION_ERROR)):
            registry.on_change(lambda marker=marker: refresh_models(marker))
    _ROOTS.append(model)


def refresh_models(marker: str) -> list[type[BaseModel]]:
    """Rebuild every built pydantic model whose schema holds the tagged union with error type *marker*
    (``unknown_component``, ``unknown_fault``, ``bad_step``); return them.

    A built model keeps its schema and pydantic reuses it inside every model built later, so
    all of them are first marked unbuilt, then rebuilt: each one regenerates the others
    inline, with the registry's current entries.
    """
    holders = [cls for cls in _subclasses(BaseModel) if cls.__pydantic_complete__
               and (cls in _ROOTS or _holds(cls.__dict__.get("__pydantic_core_schema__"), marker))]
    for cls in holders:
        cls.__pydantic_complete__ = False
        if "__pydantic_core_schema__" in cls.__dict__:
            delattr(cls, "__pydantic_core_schema__")  # not reused while the others rebuild
    for cls in holders:
        cls.model_rebuild(force=True)
    return holders


def _subclasses(base: type) -> list[type]:
    found: dict[type, None] = {}
    stack = [base]
    while stack:
        for cls in stack.pop().__subclasses__():
            if cls not in found:
                found[cls] = None
                stack.append(cls)
    return list(found)


def _holds(schema: Any, marker: str) -> bool:
    """Whether a pydantic core schema holds a tagged union whose error type is *marker*."""
    stack, seen = [schema], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            if node.get("type") == "tagged-union" and node.get("custom_error_type") == marker:
                return True
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return False
