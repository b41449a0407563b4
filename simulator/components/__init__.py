"""Component kinds: one folder each, listed once below.

A kind's folder holds ``spec.py`` (its pydantic model: pure data, never SimPy; the
scenario validates YAML with it) and ``runtime.py`` (its SimPy behaviour; only the engine
imports it). :data:`KINDS` is the one registry every consumer reads: the scenario's
component union and JSON Schema, the builder, topology checks, descriptions and the cost
model. Kinds from outside the package come in through :func:`register_kind` or the
``sdsim.kinds`` entry-point group (see ``ARCHITECTURE.md``).
"""

from ..registry import KindRegistry

BUILTIN = {
    "service": "simulator.components.service",
    "database": "simulator.components.database",
    "load_balancer": "simulator.components.load_balancer",
    "cache": "simulator.components.cache",
    "broker": "simulator.components.broker",
    "projection": "simulator.components.projection",
    "event_store": "simulator.components.event_store",
    "registry": "simulator.components.registry",
    "kv_store": "simulator.components.kv_store",
    "gateway": "simulator.components.gateway",
    "regional_database": "simulator.components.regional_database",
}
"""The built-in component kinds: YAML ``kind:`` → the folder holding ``spec.py`` and ``runtime.py``."""

KINDS = KindRegistry("component kind", BUILTIN, group="sdsim.kinds", layout=("{}.spec", "{}.runtime"))
"""Every component kind: the built-in ones, then the entry points' and those registered at run time."""

register_kind = KINDS.register

__all__ = ["BUILTIN", "KINDS", "register_kind"]
