"""One run of a sweep: a picklable :class:`RunSpec` and the module-level :func:`run_one`.

Executors ship ``run_one`` and a ``RunSpec`` to a worker (another process, or another
machine with ``distributed``); both pickle by reference/value, so the only requirement on
a worker is that **the ``simulator`` package (this sdsim) is installed there**, the same
version as on the submitting side. The spec carries the scenario file's text, so a worker
does not need the file itself (only the files an ``extends:`` chain names, read relative
to the scenario's path).

``run_one`` returns a *flat* record (one level of keys, JSON-ready values: numbers, bools,
``None`` where nothing was measured):

=============================================  ================================================
``key``                                        :attr:`RunSpec.key`
``point``, ``replication``, ``seed``           where the run sits in the sweep, and its seed
``<param>`` …                                  the point's parameter values (one key per name)
``issued``                                     requests issued in the measurement window
``throughput_rps``, ``goodput_rps``            answered / ok requests per second
``availability``                               ok / issued
``latency_mean`` … ``latency_max``             mean, p50, p90, p95, p99, p999, max (seconds)
``op.<operation>.<m>``                         availability, goodput_rps, latency_mean,
                                               latency_p50, latency_p99 per operation
``component.<name>.<m>``                       utilization, p_wait, wait_mean (s),
                                               queue_len_mean per component; the ratios its
                                               kind declares, ``capacity_mean`` when resized,
                                               and the declared facts marked ``record``;
                                               what its steps add (a saga's
                                               ``sagas_completed`` … ``saga_failed_ratio``)
``component.<name>.count.<event>``             each tallied event's count
``slo.<name>.value``, ``slo.<name>.passed``    each SLO's measured value and verdict
``events``                                     simulation events processed
``wall_time_s``                                wall-clock time of the run (the only field that
                                               differs between identical runs)
=============================================  ================================================

Metric names match the scenario's SLO metrics (``latency_p99``, ``availability``, …;
``throughput``/``goodput`` as ``*_rps``), which is how charts find the SLO of a metric.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..declared import declared, step_metrics
from ..jsonsafe import json_safe
from ..metrics.descriptors import Fact, Ratio
from .grid import format_value

if TYPE_CHECKING:
    from ..metrics.result import Result
    from ..scenario.model import Scenario

__all__ = ["ID_COLUMNS", "LATENCY_KEYS", "NON_METRICS", "RESERVED", "RunSpec", "TIMING_COLUMNS", "design_digest",
           "numeric", "record", "run_one"]

ID_COLUMNS = ("key", "point", "replication", "seed")
"""Columns that say which run a record is (not metrics)."""
TIMING_COLUMNS = ("wall_time_s",)
"""Columns measured on the machine, not in the simulation: they differ between identical runs."""
NON_METRICS = (*ID_COLUMNS, "events", *TIMING_COLUMNS)
"""Record columns that are not aggregated."""
LATENCY_KEYS = ("mean", "p50", "p90", "p95", "p99", "p999", "max")
OP_METRICS = ("availability", "goodput_rps", "latency_mean", "latency_p50", "latency_p99")
COMPONENT_METRICS = ("utilization", "p_wait", "wait_mean", "queue_len_mean")
RESERVED = frozenset((*NON_METRICS, "issued", "throughput_rps", "goodput_rps", "availability",
                      *(f"latency_{k}" for k in LATENCY_KEYS)))
"""Record keys a swept parameter may not be called."""


def design_digest(scenario: "Scenario") -> str:
    """A digest of the fully resolved design (after ``extends``, ``--param``, ``--set``)."""
    return hashlib.sha256(scenario.model_dump_json().encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs for one run; picklable, immutable.

    *params* are the point's ``(name, value)`` pairs in grid order, *sets* the ``--set``
    overrides shared by every point. *text* is the scenario file's content (read again
    from *scenario* when ``None``) and *design* the :func:`design_digest` the parent saw
    when it validated the point: a worker that resolves a different design refuses to
    run (the file changed under the sweep).
    """

    scenario: str
    params: tuple[tuple[str, Any], ...]
    sets: tuple[str, ...]
    seed: int
    point: int
    replication: int
    text: str | None = field(default=None, repr=False, compare=False)
    design: str = field(default="", repr=False)

    @property
    def key(self) -> str:
        """A stable name for what this run simulates: hash of the resolved design, parameters,
        overrides, seed and replication number.

        The scenario's path and the point's position in the grid are left out, so the key
        survives moving the folder or reshaping the grid: ``resume`` reuses a finished run
        wherever it now sits. Editing the scenario file changes every key.
        """
        content = {"design": self.design or self.scenario, "params": [[n, v] for n, v in self.params],
                   "sets": list(self.sets), "seed": self.seed, "replication": self.replication}
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]

    def param_arguments(self) -> list[str]:
        """The point as ``load_scenario(params=...)`` arguments: ``["servers=8", ...]``."""
        return [f"{name}={format_value(value)}" for name, value in self.params]

    def load(self) -> "Scenario":
        """Resolve this run's scenario (raises :class:`~simulator.ScenarioError` if invalid)."""
        from ..scenario.load import check_scenario

        return check_scenario(self.scenario, params=self.param_arguments(), sets=self.sets, text=self.text)[0]


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Load, simulate and summarize one run; return its flat record (see the module docstring).

    Module-level (so every executor can pickle it by reference) and deterministic: the same
    spec gives the same record on any machine, except ``wall_time_s``.
    """
    from ..simulation import simulate

    from ..errors import ScenarioError

    started = time.perf_counter()
    try:
        scenario = spec.load()
    except ScenarioError as error:  # re-raised as plain text: ScenarioError does not survive pickling intact
        raise RuntimeError(f"the scenario is invalid on this worker:\n{error}") from None
    if spec.design and design_digest(scenario) != spec.design:
        raise RuntimeError(f"{spec.scenario}: the scenario resolved on this worker differs from the one the sweep "
                           "was started with (was the file, or a file it extends, edited during the sweep?)")
    result = simulate(scenario, spec.seed)
    return record(spec, result, wall_time_s=time.perf_counter() - started)


def numeric(value: Any) -> float | None:
    """A record's *value* as a number to average over replications: a float (a verdict's ``True`` /
    ``False`` as 1 / 0, so the mean is the share that passed), or None for what is not a
    measurement (``None``: nothing measured; text: a parameter's value; NaN or ±inf)."""
    if value is None or isinstance(value, str):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def component_extras(kind: str) -> list[str]:
    """Per-component numbers recorded when a component has them: the ratios its kind declares, the mean
    provisioned capacity (resized components), then the facts its kind declares with ``record=True``."""
    return [*(r.name for r in declared(kind, Ratio)), "capacity_mean",
            *(f.name for f in declared(kind, Fact) if f.record)]


def record(spec: RunSpec, result: "Result", *, wall_time_s: float | None = None) -> dict[str, Any]:
    """The flat record of *result*, the run described by *spec*."""
    s = result.summary()
    rec: dict[str, Any] = {"key": spec.key, "point": spec.point, "replication": spec.replication, "seed": spec.seed}
    for name, value in spec.params:
        rec[name] = value
    rec["issued"] = s["requests"]["issued"]
    rec["throughput_rps"] = json_safe(s["throughput_rps"])
    rec["goodput_rps"] = json_safe(s["goodput_rps"])
    rec["availability"] = json_safe(s["availability"])
    for k in LATENCY_KEYS:
        rec[f"latency_{k}"] = json_safe(s["latency_s"][k])
    for name, op in s["operations"].items():
        rec[f"op.{name}.availability"] = json_safe(op["availability"])
        rec[f"op.{name}.goodput_rps"] = json_safe(op["goodput_rps"])
        for k in ("mean", "p50", "p99"):
            rec[f"op.{name}.latency_{k}"] = json_safe(op["latency_s"][k])
    for name, comp in s["components"].items():
        rec[f"component.{name}.utilization"] = json_safe(comp["utilization"])
        rec[f"component.{name}.p_wait"] = json_safe(comp["p_wait"])
        rec[f"component.{name}.wait_mean"] = json_safe(comp["wait_s"]["mean"])
        rec[f"component.{name}.queue_len_mean"] = json_safe(comp["queue_len_mean"])
        for key in component_extras(comp["kind"]):
            if key in comp:
                rec[f"component.{name}.{key}"] = json_safe(comp[key])
        for key in step_metrics(result.scenario, name)[0]:  # what its steps add (a saga's outcomes), counts included
            if key in comp:
                rec[f"component.{name}.{key}"] = json_safe(comp[key])
        for key, value in comp.items():  # whatever else the kind reports as a measurement (an objective may read it)
            if (value is None or isinstance(value, float)) and f"component.{name}.{key}" not in rec:
                rec[f"component.{name}.{key}"] = json_safe(value)
        for tally, count in comp.get("counts", {}).items():
            rec[f"component.{name}.count.{tally}"] = int(count)
    for slo in s["slos"]:
        rec[f"slo.{slo['name']}.value"] = json_safe(slo["value"])
        rec[f"slo.{slo['name']}.passed"] = bool(slo["passed"])
    rec["events"] = int(result.events)
    rec["wall_time_s"] = json_safe(result.wall_time_s if wall_time_s is None else wall_time_s)
    return rec
