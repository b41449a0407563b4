"""Faults on a schedule: each kind is a small class registered under its YAML ``kind:``.

A fault announces at build time what it may touch (:meth:`Fault.prepare`), then a
process applies it at ``at`` and reverts it ``for`` later, recording both moments.
Partitions, autoscaling and breakers add kinds here.
"""

from .base import FAULTS, Fault, register
from .kinds import Crash, Errors, LatencySpike, Slowdown

__all__ = ["FAULTS", "Crash", "Errors", "Fault", "LatencySpike", "Slowdown", "register"]
