"""Fault kinds: one module each, holding its spec and its runtime side by side, listed once below.

A fault announces at build time what it may touch (:meth:`~.base.Fault.prepare`), then a
process applies it at ``at`` and reverts it ``for`` later, recording both moments. A fault
module imports no SimPy, so the scenario can read its spec. :data:`FAULTS` is the one
registry the scenario's fault union, the JSON Schema and the engine read; kinds from
outside come in through :func:`register_fault` or the ``sdsim.faults`` entry-point group.
"""

from ..registry import KindRegistry

BUILTIN = {
    "crash": "simulator.faults.crash",
    "stop": "simulator.faults.stop",
    "slowdown": "simulator.faults.slowdown",
    "latency": "simulator.faults.latency",
    "errors": "simulator.faults.errors",
    "partition": "simulator.faults.partition",
    "outage": "simulator.faults.outage",
    "failures": "simulator.faults.failures",
    "cert_expired": "simulator.faults.cert_expired",
    "compromised": "simulator.faults.compromised",
}
"""The built-in fault kinds: YAML ``kind:`` → the module defining ``SPEC`` and ``RUNTIME``."""

FAULTS = KindRegistry("fault kind", BUILTIN, group="sdsim.faults", layout=("{}", "{}"))
"""Every fault kind: the built-in ones, then the entry points' and those registered at run time."""

register_fault = FAULTS.register

__all__ = ["BUILTIN", "FAULTS", "register_fault"]
