"""Scenario files as pure data: models, loading with located errors, topology, JSON Schema."""

from .load import check_scenario, load_scenario
from .model import COMPONENT_SPECS, FAULT_SPECS, Scenario
from .topology import call_graph

__all__ = ["COMPONENT_SPECS", "FAULT_SPECS", "Scenario", "call_graph", "check_scenario", "load_scenario"]
