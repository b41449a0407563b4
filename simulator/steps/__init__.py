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

**From outside the package**: :func:`register_step` (``register_step("repeat",
"my_plugin.repeat")``, a module defining ``KIND``) and :func:`register_policy` (a module
defining ``POLICY``), or the entry-point groups ``sdsim.steps`` and ``sdsim.policies``, read
the first time a registry is. A duplicate name is an error, and so is a step kind whose key
another kind's spec already uses as a field (it could not be told apart). The models that
hold :data:`Step` are rebuilt on every change (:func:`simulator.scenario.kinds.refresh_models`),
so the new step validates with located errors, is walked by the topology checks, compiles
and is listed by ``sdsim schema``; a policy's :attr:`~.base.CallPolicy.fields` join
``call:``. Removing one restores the union.
"""

from __future__ import annotations

from importlib import import_module
from typing import Annotated, Any, Callable, Mapping, Union

from pydantic import BaseModel, Discriminator, GetCoreSchemaHandler, Tag

from ..registry import Registry, entry_points_of

BUILTIN = {
    "call": "simulator.steps.call",
    "publish": "simulator.steps.publish",
    "parallel": "simulator.steps.parallel",
    "branch": "simulator.steps.branch",
    "saga": "simulator.steps.saga",
}
"""The built-in step kinds: YAML key → the module defining it as ``KIND``."""

BUILTIN_POLICIES = {"timeout": "simulator.steps.policies", "fallback": "simulator.steps.policies",
                    "circuit_breaker": "simulator.steps.breaker",
                    "bulkhead": "simulator.steps.bulkhead",
                    "retry": "simulator.steps.retry",
                    "hedge": "simulator.steps.hedge"}
"""The built-in call policies: name → the module defining it (``BUILT_IN[name]`` there)."""


class ModuleRegistry(Registry):
    """A registry whose built-in entries are read from modules on first use, then its entry points'.

    *modules* maps a name to a module path; the entry is the module's first attribute of
    *attributes* it defines (indexed by the name when it is a mapping). Loading late keeps
    the step modules, which build on the scenario's types, out of the scenario's own import.
    The first read also loads the entry points of *group*
    (``[project.entry-points."sdsim.steps"]  repeat = "my_plugin.repeat"``: a module defining
    one of *attributes*). *check* vets every entry added from outside.
    """

    def __init__(self, what: str, modules: Mapping[str, str], attributes: tuple[str, ...], *, group: str,
                 check: Callable[["ModuleRegistry", str, Any], None]):
        super().__init__(what)
        self._modules = dict(modules)
        self._attributes = attributes
        self.group = group
        self._check = check
        self._loaded = False

    def _ensure(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for name, module in self._modules.items():
            self._entries[name] = self._entry(name, module, "listed")
        for point in entry_points_of(self.group):
            if point.attr:
                raise ValueError(f"entry point {point.name} = {point.value} ({self.group}): name the module "
                                 f"defining {self._attributes[0]}, without ':attribute'")
            self._refuse_duplicate(point.name)
            entry = self._entry(point.name, point.module, f"entry point {self.group}")
            self._check(self, point.name, entry)
            self._entries[point.name] = entry

    def _entry(self, name: str, module: str, how: str) -> Any:
        loaded = import_module(module)
        attribute = next((a for a in self._attributes if hasattr(loaded, a)), None)
        if attribute is None:
            raise LookupError(f"{self.what} {name!r}: module {module} defines no {' or '.join(self._attributes)}")
        entry = getattr(loaded, attribute)
        entry = entry.get(name) if isinstance(entry, Mapping) else entry
        if getattr(entry, "name", None) != name:
            raise ValueError(f"{module}.{attribute} is not {self.what} {name!r}, {how} as {name!r}")
        return entry

    def register(self, name: str, entry: Any) -> Any:
        """Add *entry* (the object, or the path of a module defining it) as *name*, from outside the package.

        A duplicate name is an error; so is an entry that does not fit (see the registry's
        check). Whoever holds the registry's union rebuilds it (the scenario models): the
        new name validates, is walked, compiles and is listed by ``sdsim schema``.
        """
        self._refuse_duplicate(name)
        if isinstance(entry, str):
            entry = self._entry(name, entry, "registered")
        elif getattr(entry, "name", None) != name:
            raise ValueError(f"{self.what} {getattr(entry, 'name', entry)!r} registered as {name!r}")
        self._check(self, name, entry)
        return self.add(name, entry)


def _check_step(registry: ModuleRegistry, name: str, kind: Any) -> None:
    """A step kind's spec names it by a field of that name, and no two kinds' keys meet in one step:
    a step is told apart by the one step name among its keys (``call:``, ``publish:``…)."""
    spec = getattr(kind, "spec", None)
    if not (isinstance(spec, type) and issubclass(spec, BaseModel)):
        raise TypeError(f"step kind {name!r}: its spec must be a pydantic model (a StepSpec), not {spec!r}")
    keys = _keys(spec)
    if name not in keys:
        raise ValueError(f"step kind {name!r}: its spec {spec.__name__} has no field {name!r} (a step is "
                         f"written `{name}: ...`, the key naming its kind)")
    for other, entry in registry.items():
        if other != name and other in keys:
            raise ValueError(f"step kind {name!r}: its spec's field {other!r} is the key of step kind {other!r}")
        if other != name and name in _keys(entry.spec):
            raise ValueError(f"step kind {name!r} would be read in every {other!r} step that sets its field "
                             f"{name!r}: choose another name")


def _keys(spec: type) -> set[str]:
    return {field.alias or key for key, field in spec.model_fields.items()}


def _check_policy(registry: ModuleRegistry, name: str, policy: Any) -> None:
    """A policy has its faces and a rank, and the fields it adds to a ``call:`` are new there and no step's key."""
    for face in ("applies", "wrap"):
        if not callable(getattr(policy, face, None)):
            raise TypeError(f"call policy {name!r} has no {face}() (see simulator.steps.base.CallPolicy)")
    if not isinstance(getattr(policy, "rank", None), int):
        raise TypeError(f"call policy {name!r} needs an integer rank (its place in simulator.steps.policies)")
    taken = _keys(STEPS["call"].spec) | set(STEPS)
    for field in getattr(policy, "fields", {}):
        if field in taken:
            raise ValueError(f"call policy {name!r}: a call step already has a field or key {field!r}")


STEPS = ModuleRegistry("step kind", BUILTIN, ("KIND",), group="sdsim.steps", check=_check_step)
"""Every step kind, by the YAML key that names it: the built-in ones, then the entry points' and those registered."""

POLICIES = ModuleRegistry("call policy", BUILTIN_POLICIES, ("POLICY", "BUILT_IN"), group="sdsim.policies",
                          check=_check_policy)
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


UNION_ERROR = "bad_step"
"""The error type of a step with no known key (or several): also how a built model is found to hold the union."""


class StepUnion:
    """Pydantic metadata: the tagged union of the registered step kinds, made when a model using it is built."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        names = [name for name, _ in STEPS.items()]
        union = Annotated[
            Union[tuple(Annotated[kind.spec, Tag(name)] for name, kind in STEPS.items())],  # type: ignore[misc]
            Discriminator(_step_tag, custom_error_type=UNION_ERROR,
                          custom_error_message=f"a step needs exactly one of {', '.join(names[:-1])} or {names[-1]}"),
        ]
        return handler.generate_schema(union)


Step = Annotated[Any, StepUnion()]
"""Any registered step kind's spec, told apart by its key (``call:``, ``publish:``…)."""

register_step = STEPS.register
"""``register_step("repeat", "my_plugin.repeat")`` (a module defining ``KIND``), or ``register_step("repeat",
Repeat())``."""
register_policy = POLICIES.register
"""``register_policy("name", policy)``, or the path of a module defining it as ``POLICY``."""

__all__ = ["BUILTIN", "POLICIES", "STEPS", "Step", "kind_of", "register_policy", "register_step"]
