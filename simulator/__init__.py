"""sdsim — a discrete-event system-design simulator and teaching toolkit.

The flow runs one way: a scenario file is loaded into pure data
(:func:`load_scenario`), :func:`simulate` builds and runs it on SimPy and returns a
:class:`Result` (records, summary, DataFrames); reports, charts, grading and sweeps read
results. :mod:`simulator.theory` holds the closed forms to compare against.

>>> from simulator import load_scenario, simulate
>>> result = simulate(load_scenario("scenarios/theory/mm1.yaml"))   # doctest: +SKIP
>>> result.summary()["latency_s"]["p99"]                           # doctest: +SKIP
"""

from . import theory
from .engine.run import simulate
from .errors import Problem, ScenarioError
from .metrics.result import Result
from .scenario import Scenario, call_graph, check_scenario, load_scenario

__version__ = "0.1.0"

__all__ = ["Problem", "Result", "Scenario", "ScenarioError", "call_graph", "check_scenario", "load_scenario",
           "simulate", "theory", "__version__"]
