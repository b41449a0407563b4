"""Scenario files as pure data: models, loading with located errors, topology, JSON Schema."""

from .load import check_scenario, load_scenario
from .model import Scenario
from .topology import call_graph

__all__ = ["Scenario", "call_graph", "check_scenario", "load_scenario"]
