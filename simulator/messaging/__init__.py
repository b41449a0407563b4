"""The broker's pure algorithms: where a message goes and which consumer reads which partition.

No SimPy, no scenario: plain functions and small objects, checked against Kafka's own
test vectors and arithmetic (golden G8.1, G8.6).

* :mod:`~simulator.messaging.partitioning`: ``murmur2`` exactly as Kafka's Java client
  computes it, and the keyed partition of a message (``toPositive(murmur2(key)) % P``);
* :mod:`~simulator.messaging.assignment`: consumer-group assignors (``range``,
  ``round_robin``), the :data:`~simulator.messaging.assignment.ASSIGNORS` registry.
"""

from __future__ import annotations

from .assignment import ASSIGNORS, assign, range_assignment, round_robin_assignment
from .partitioning import key_bytes, murmur2, partition_for

__all__ = ["ASSIGNORS", "assign", "key_bytes", "murmur2", "partition_for", "range_assignment",
           "round_robin_assignment"]
