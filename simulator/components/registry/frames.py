"""A registry's events after a run, as a DataFrame (full records)::

    from simulator.components.registry.frames import events
    events(result, "consul")      # time, service, replica, event: one row per change, in time order

``service`` is the discovered service's name ("" for the registry's own events, such as
self-preservation turning on), ``event`` one of :data:`~.spec.EVENTS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .spec import EVENTS

if TYPE_CHECKING:
    import pandas as pd


def events(result, registry: str) -> "pd.DataFrame":
    """One row per change of *registry*'s state: ``time``, ``service``, ``replica`` (−1: none), ``event``."""
    components = result.scenario.components
    served = components[registry].served(registry, components)
    frame = result.components[registry].table("registry_events")
    frame = frame.astype({"service": int, "replica": int, "event": int})
    frame["service"] = [served[i] if i >= 0 else "" for i in frame["service"]]
    frame["event"] = [EVENTS[i] for i in frame["event"]]
    return frame
