"""``kind: stop`` — some replicas of a component shut down cleanly for a while (a rolling deploy).

Routing is as for a ``crash``: a stopped replica is down, so a direct call picks another
replica (or fails when none is up) and a call sent to it is refused; a database fails its
stopped primaries over and a cache comes back empty, as after a crash. Unlike a crash,
nothing in flight is interrupted: every visit the replica already holds, running or queued,
finishes. A broker group's members on the stopped replicas leave the group cleanly
(LeaveGroup, :mod:`simulator.components.broker.members`): a consumer group rebalances at
once and each leaving member commits what it processed, so a clean stop replays nothing
(no duplicates); a share group's member acknowledges the message its call finished, or
releases it at once. ``for`` later the replicas come back and fresh members join (a
rebalance), as after a crash's restart. A broker's own nodes cannot be stopped (use ``crash``).
"""

from __future__ import annotations

from typing import Annotated, Literal, Mapping

from pydantic import Field

from ..scenario.kinds import ComponentBase, Problems, TargetFault
from .crash import Crash


class StopFault(TargetFault):
    """``target`` (or ``replicas`` of its replicas) stops cleanly; in-flight work there finishes."""

    kind: Literal["stop"] = "stop"
    replicas: Annotated[int, Field(ge=1)] | None = None

    def check(self, index: int, components: Mapping[str, ComponentBase]) -> Problems:
        problems = super().check(index, components)
        if not problems and components[self.target].kind == "broker":
            problems = [(("faults", index, "target"), f"cannot stop broker {self.target!r}: its nodes only "
                                                      f"crash (expected a component with replicas, or kind: crash)")]
        return problems


class Stop(Crash):
    """``target`` (or ``replicas`` of its replicas; a database's primaries first) stops cleanly for ``for``:
    a crash that interrupts nothing, so nothing in flight needs tracking."""

    kind = "stop"

    def prepare(self, world) -> None:
        pass

    def take_down(self, replica) -> None:
        replica.stop()


SPEC, RUNTIME = StopFault, Stop
