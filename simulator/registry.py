"""Registries: the one list each family of kinds is read from.

A :class:`Registry` maps names to entries in the pydantic_evals style: adding a name twice
is an error, and asking for a name it does not hold fails with the valid ones listed (and
the closest one suggested). Whoever needs to know when the list changes subscribes with
:meth:`Registry.on_change` (the scenario model rebuilds its unions).

A :class:`KindRegistry` holds :class:`Kind` entries: a kind's spec (pure data) and its
runtime load lazily from module paths, so reading the spec side never imports SimPy. The
first time it is read it also adds the kinds other installed distributions declare under
its entry-point group (``[project.entry-points."sdsim.kinds"]  echo = "my_plugin.echo"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module, metadata
from typing import Any, Callable, Generic, Iterator, Mapping, TypeVar

from .errors import unknown_name

T = TypeVar("T")

_ENTRY_POINTS: "metadata.EntryPoints | None" = None


def entry_points_of(group: str) -> "metadata.EntryPoints":
    """The installed entry points of *group*. Every group comes from one scan of the installed
    distributions, made on first use and kept for the process: each registry asking for its own
    group rescanned them all (about 4 ms each, four registries, on every ``sdsim`` start)."""
    global _ENTRY_POINTS
    if _ENTRY_POINTS is None:
        _ENTRY_POINTS = metadata.entry_points()
    return _ENTRY_POINTS.select(group=group)


class UnknownName(KeyError):
    """A name the registry does not hold; the message lists the valid ones."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(Generic[T]):
    """Names → entries. *what* names an entry in messages (``component kind``)."""

    def __init__(self, what: str, entries: Mapping[str, T] | None = None):
        self.what = what
        self._entries: dict[str, T] = dict(entries or {})
        self._listeners: list[Callable[[], None]] = []

    def _ensure(self) -> None:
        """Called before every read: a subclass completes its list here (entry points)."""

    def add(self, name: str, entry: T) -> T:
        """Register *entry* as *name*; a name already registered is an error."""
        self._refuse_duplicate(name)
        self._entries[name] = entry
        self._changed()
        return entry

    def remove(self, name: str) -> T:
        """Unregister *name* and return its entry."""
        entry = self[name]
        del self._entries[name]
        self._changed()
        return entry

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call *callback* after every later addition or removal."""
        self._listeners.append(callback)

    def __getitem__(self, name: str) -> T:
        self._ensure()
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise UnknownName(unknown_name(self.what, name, self._entries)) from None

    def __contains__(self, name: object) -> bool:
        self._ensure()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        self._ensure()
        return iter(list(self._entries))

    def __len__(self) -> int:
        self._ensure()
        return len(self._entries)

    def items(self) -> list[tuple[str, T]]:
        self._ensure()
        return list(self._entries.items())

    def _refuse_duplicate(self, name: str) -> None:
        self._ensure()
        if name in self._entries:
            raise ValueError(f"{self.what} {name!r} is already registered ({self._describe(self._entries[name])})")

    def _changed(self) -> None:
        for callback in self._listeners:
            callback()

    @staticmethod
    def _describe(entry: Any) -> str:
        return f"by {getattr(entry, 'origin', entry)}"


@dataclass(eq=False)
class Kind:
    """One kind: its ``name`` (the YAML ``kind:``), its spec model and its runtime class.

    Given as module paths, each loads on first use: the spec from ``spec_module``'s
    ``SPEC``, the runtime from ``runtime_module``'s ``RUNTIME``.
    """

    name: str
    spec_module: str | None = None
    runtime_module: str | None = None
    origin: str = ""
    _spec: Any = field(default=None, repr=False)
    _runtime: Any = field(default=None, repr=False)

    @property
    def spec(self) -> Any:
        """The pydantic model of this kind (pure data: importing it never imports SimPy)."""
        if self._spec is None:
            self._spec = self.checked(self._load(self.spec_module, "SPEC"))
        return self._spec

    def checked(self, spec: Any) -> Any:
        """*spec*, once sure it declares this kind (``kind: Literal["<name>"]``)."""
        declared = spec.model_fields["kind"].default
        if declared != self.name:
            raise ValueError(f"{spec.__module__}.{spec.__name__} declares kind {declared!r}, "
                             f"registered as {self.name!r}")
        return spec

    @property
    def runtime(self) -> Any:
        """The class the engine builds for a spec of this kind."""
        if self._runtime is None:
            self._runtime = self._load(self.runtime_module, "RUNTIME")
        return self._runtime

    def _load(self, module: str | None, attribute: str) -> Any:
        if module is None:
            raise LookupError(f"kind {self.name!r} was registered without its {attribute.lower()}")
        try:
            return getattr(import_module(module), attribute)
        except AttributeError:
            raise LookupError(f"kind {self.name!r}: module {module} defines no {attribute}") from None


class KindRegistry(Registry[Kind]):
    """The kinds of one family (components, faults): the built-in ones, then the entry points'.

    ``layout`` says where a kind's module path keeps its two sides: ``("{}.spec",
    "{}.runtime")`` for a component kind's folder, ``("{}", "{}")`` for a fault kind's module.
    """

    def __init__(self, what: str, builtin: Mapping[str, str], *, group: str, layout: tuple[str, str]):
        self.group = group
        self.layout = layout
        self._plugins_loaded = False
        super().__init__(what, {name: self._kind(name, path, "simulator") for name, path in builtin.items()})

    def _kind(self, name: str, module: str, origin: str) -> Kind:
        spec_module, runtime_module = (part.format(module) for part in self.layout)
        return Kind(name, spec_module, runtime_module, origin=f"{origin}: {module}")

    def register(self, name: str, module: str | None = None, *, spec: Any = None, runtime: Any = None) -> Kind:
        """Add the kind *name* from outside the package.

        Either *module*, the path of a folder (component kinds: ``module.spec`` defines
        ``SPEC``, ``module.runtime`` defines ``RUNTIME``) or of one module (fault kinds), or
        the classes themselves as *spec* and *runtime*. The scenario model picks it up at
        once: its YAML validates, builds and runs, and ``sdsim schema`` lists it.
        """
        self._refuse_duplicate(name)
        if module is not None:
            if spec is not None or runtime is not None:
                raise TypeError("give a module path or the spec and runtime classes, not both")
            kind = self._kind(name, module, "register")
        elif spec is None or runtime is None:
            raise TypeError("give a module path, or both the spec and the runtime class")
        else:
            kind = Kind(name, origin=f"register: {spec.__module__}", _spec=spec, _runtime=runtime)
        kind.checked(kind.spec)  # a spec that cannot load, or names another kind, is refused now
        return self.add(name, kind)

    def _ensure(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for point in entry_points_of(self.group):
            if point.attr:
                raise ValueError(f"entry point {point.name} = {point.value} ({self.group}): name the kind's "
                                 "module, without ':attribute'")
            name = point.name
            if name in self._entries:
                raise ValueError(f"{self.what} {name!r} of entry point {point.value} ({self.group}) is already "
                                 f"registered ({self._describe(self._entries[name])})")
            self._entries[name] = self._kind(name, point.module, f"entry point {self.group}")
