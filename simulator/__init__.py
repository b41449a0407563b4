"""sdsim — a discrete-event system-design simulator and teaching toolkit.

The flow runs one way: a scenario file is loaded into pure data
(:func:`load_scenario`), :func:`simulate` builds and runs it on SimPy and returns a
:class:`Result` (records, summary, DataFrames); reports, charts, grading and sweeps read
results. :mod:`simulator.theory` holds the closed forms to compare against. A component
kind from outside the package joins with :func:`register_kind` (a fault kind with
:func:`register_fault`, a step kind with :func:`register_step`, a call policy with
:func:`register_policy`), or through the ``sdsim.kinds`` entry-point group (``sdsim.faults``,
``sdsim.steps``, ``sdsim.policies``).

>>> from simulator import load_scenario, simulate
>>> result = simulate(load_scenario("scenarios/theory/mm1.yaml"))   # doctest: +SKIP
>>> result.summary()["latency_s"]["p99"]                           # doctest: +SKIP
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import Problem, ScenarioError

__version__ = "0.1.0"

# The public API, imported on first use so that `sdsim --help` and friends start fast.
_LAZY = {
    "Result": ".metrics.result",
    "Scenario": ".scenario",
    "call_graph": ".scenario",
    "check_scenario": ".scenario",
    "load_scenario": ".scenario",
    "register_fault": ".faults",
    "register_kind": ".components",
    "register_policy": ".steps",
    "register_step": ".steps",
    "simulate": ".simulation",
    "sweep": ".experiments",
    "theory": ".theory",
}

__all__ = ["Problem", "Result", "Scenario", "ScenarioError", "call_graph", "check_scenario", "load_scenario",
           "register_fault", "register_kind", "register_policy", "register_step", "simulate", "sweep", "theory",
           "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from . import theory
    from .components import register_kind
    from .faults import register_fault
    from .steps import register_policy, register_step
    from .simulation import simulate
    from .experiments import sweep
    from .metrics.result import Result
    from .scenario import Scenario, call_graph, check_scenario, load_scenario


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    module = import_module(_LAZY[name], __name__)
    value = module if name == "theory" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
