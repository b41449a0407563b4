"""The network as a store's own messages see it: replicas in zones, delays, cuts and hosts down.

A store spread over zones talks across the scenario's links (``world.links``): a message
from replica *i* to replica *j* takes the link's one-way delay (latency faults included)
and is **lost** when a partition cuts *i*'s zone from *j*'s when it is sent. A replica
down (crashed) answers nothing. Only the messages of operations (a forward, a
replication, a read) count as lost; heartbeats, votes and gossip are reachability checks,
not simulated messages.
"""

from __future__ import annotations

from typing import Callable


class Mesh:
    """Replica *i* is in ``zones[i]`` and is up when ``replicas[i].up``; *lost* counts a dropped message."""

    def __init__(self, links, zones: list[str], replicas: list, lost: Callable[[float], None], env):
        self.links = links
        self.zones = zones
        self.replicas = replicas
        self.lost = lost
        self.env = env

    def up(self, i: int) -> bool:
        return self.replicas[i].up

    def reaches(self, i: int, j: int) -> bool:
        """Whether a message sent now from replica *i* arrives at replica *j* (which may be down)."""
        return self.links.reachable(self.zones[i], self.zones[j])

    def talks(self, i: int, j: int) -> bool:
        """Whether *i* and *j* are both up and a round trip between them gets through now."""
        return (self.replicas[i].up and self.replicas[j].up
                and self.links.reachable(self.zones[i], self.zones[j])
                and self.links.reachable(self.zones[j], self.zones[i]))

    def send(self, i: int, j: int) -> bool:
        """A message of an operation from *i* to *j*: ``False`` (counted lost) when a cut drops it."""
        if self.reaches(i, j):
            return True
        self.lost(self.env.now)
        return False

    def delay(self, a: str | None, b: str | None) -> float:
        """One one-way delay from zone *a* to zone *b* (0 when the link is instant)."""
        link = self.links.between(a, b)
        return 0.0 if link is None else link.delay()

    def one_way(self, i: int, j: int) -> float:
        return 0.0 if i == j else self.delay(self.zones[i], self.zones[j])

    def rtt(self, i: int, j: int) -> float:
        """One round trip from replica *i* to *j* and back (0 to itself)."""
        if i == j:
            return 0.0
        return self.delay(self.zones[i], self.zones[j]) + self.delay(self.zones[j], self.zones[i])
