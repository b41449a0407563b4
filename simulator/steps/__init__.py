"""Step kinds and call policies: what an operation does after its work, as registered strategies.

A **step kind** (:class:`~simulator.steps.base.StepKind`) is one small object in one module
of this package: its pure spec (pydantic; the YAML key that names it, ``call:``,
``publish:``…), ``children(spec)`` (the step lists nested in it), ``targets(spec)`` (the
operations it calls) and ``compile(spec, ctx)``, which turns the spec into a step function
once, when the world is wired. The scenario reads the first three (validation, the call
graph, checks); the engine only the last. :data:`STEPS` lists them; the built-in ones are
``call``, ``publish``, ``parallel``, ``branch`` and ``saga``.

A **call policy** (:class:`~simulator.steps.base.CallPolicy`) wraps the call of a ``call``
step (``timeout``, ``fallback``); :data:`POLICIES` lists them and
:mod:`simulator.steps.policies` says the one order they are applied in.

Both registries load their built-in modules on first use, so importing this package costs
nothing and never imports the scenario (whose ``Operation`` holds :data:`Step`). Step
modules are pure: they never import SimPy; what runs they get from the builder ``ctx``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Annotated, Any, Mapping, Union

from pydantic import Discriminator, GetCoreSchemaHandler, Tag

from ..registry import Registry

BUILTIN = {
    "call": "simulator.steps.call",
    "publish": "simulator.steps.publish",
    "parallel": "simulator.steps.parallel",
    "branch": "simulator.steps.branch",
    "saga": "simulator.steps.saga",
}
"""The built-in step kinds: YAML key → the module defining it as ``KIND``."""

BUILTIN_POLICIES = {"timeout": "simulator.steps.policies", "fallback": "simulator.steps.policies"}
"""The built-in call policies: name → the module defining it (``BUILT_IN[name]`` there)."""


class ModuleRegistry(Registry):
    """A registry whose built-in entries are read from modules on first use.

    *modules* maps a name to a module path; the entry is the module's *attribute* (indexed
    by the name when it is a mapping). Loading late keeps the step modules, which build on
    the scenario's types, out of the scenario's own import.
    """

    def __init__(self, what: str, modules: Mapping[str, str], attribute: str):
        super().__init__(what)
        self._modules = dict(modules)
        self._attribute = attribute
        self._loaded = False

    def _ensure(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for name, module in self._modules.items():
            entry = getattr(import_module(module), self._attribute)
            entry = entry[name] if isinstance(entry, Mapping) else entry
            if entry.name != name:
                raise ValueError(f"{module}.{self._attribute} is {self.what} {entry.name!r}, listed as {name!r}")
            self._entries[name] = entry


STEPS = ModuleRegistry("step kind", BUILTIN, "KIND")
"""Every step kind, by the YAML key that names it."""

POLICIES = ModuleRegistry("call policy", BUILTIN_POLICIES, "BUILT_IN")
"""Every call policy, by name; :func:`simulator.steps.policies.in_order` gives the order they wrap a call in."""


def kind_of(spec: Any):
    """The step kind of the step spec *spec*."""
    for _, kind in STEPS.items():
        if type(spec) is kind.spec:
            return kind
    raise TypeError(f"not a step spec: {spec!r}")


def _step_tag(value: Any) -> str | None:
    """Which kind a step is: the one step key a mapping has, or the kind of a spec object."""
    kinds = STEPS.items()
    if isinstance(value, dict):
        keys = [name for name, _ in kinds if name in value]
        return keys[0] if len(keys) == 1 else None
    for name, kind in kinds:
        if isinstance(value, kind.spec):
            return name
    return None


class StepUnion:
    """Pydantic metadata: the tagged union of the registered step kinds, made when a model using it is built."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        names = [name for name, _ in STEPS.items()]
        union = Annotated[
            Union[tuple(Annotated[kind.spec, Tag(name)] for name, kind in STEPS.items())],  # type: ignore[misc]
            Discriminator(_step_tag, custom_error_type="bad_step",
                          custom_error_message=f"a step needs exactly one of {', '.join(names[:-1])} or {names[-1]}"),
        ]
        return handler.generate_schema(union)


Step = Annotated[Any, StepUnion()]
"""Any registered step kind's spec, told apart by its key (``call:``, ``publish:``…)."""

register_step = STEPS.add
register_policy = POLICIES.add

__all__ = ["BUILTIN", "POLICIES", "STEPS", "Step", "kind_of", "register_policy", "register_step"]
