"""A configuration of a design, judged: what :func:`~simulator.experiments.planning.knee` and
:func:`~simulator.experiments.planning.plan` search over.

An :class:`Evaluator` runs a configuration (``{knob or param: value}``) up to R times through
:func:`~simulator.experiments.sweep.sweep`, with the same seeds for every configuration
(common random numbers), and judges every objective on the runs
(:func:`simulator.objectives.judge`: the confidence bound on the wrong side must meet the
target). Adaptive, it stops adding replications once the verdicts are :func:`settled`. The
result is an :class:`Evaluation`; each configuration runs once and is cached.
A NAME without a dot is a declared parameter (passed like ``--param``); a dotted NAME is a
field path (passed like ``--set``), written in the unit the scenario file uses for it.

:func:`cost_function` says what a configuration costs: the sum of its values, a weighted
sum, any function of it, or (:func:`dollars`) the design's hourly cost.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..objectives import Check, Objective, judge, parse_objective
from .grid import format_value

__all__ = ["Evaluation", "Evaluator", "check_replications", "cost_function", "dollars", "objectives_of",
           "pool_for"]


@dataclass(frozen=True)
class Evaluation:
    """A configuration (``{knob or param: value}``) run R times, and its checks."""

    values: dict[str, Any]
    checks: list[Check]

    @property
    def met(self) -> bool:
        return all(c.met for c in self.checks)

    @property
    def broken(self) -> list[str]:
        return [c.name for c in self.checks if not c.met]

    def to_dict(self) -> dict[str, Any]:
        return {"values": dict(self.values), "met": self.met, "broken": self.broken,
                "checks": [c.to_dict() for c in self.checks]}


class Evaluator:
    """Runs a configuration through :func:`sweep` (the same seeds for every configuration),
    judges it and caches the evaluation.

    *Adaptive* (the default), it runs the first 2 replications, then 4, 8, … up to R, and
    stops as soon as every verdict is :func:`settled` (a configuration far from its target
    needs no more evidence); otherwise every configuration gets all R. The first n seeds are
    the same at every configuration, so the runs stay common random numbers either way.
    """

    def __init__(self, path: Path, objectives: list[Objective], replications: int, params: Sequence[str],
                 sets: Sequence[str], executor: Executor, seed: int | None,
                 progress: Callable[[int, int], None] | None, expected_runs: int, declared: Mapping[str, Any],
                 adaptive: bool = True):
        self.path, self.objectives, self.replications = path, objectives, replications
        self.params, self.sets, self.executor, self.seed = list(params), list(sets), executor, seed
        self.progress, self.expected, self.declared = progress, expected_runs, declared
        self.adaptive = adaptive
        self.done = 0
        self.units: dict[str, str] = {}
        self.cache: dict[tuple, Evaluation] = {}
        self.evaluations: list[Evaluation] = []
        self.base_seed: int | None = None
        self.seeds: list[int] = []

    def arguments(self, values: Mapping[str, Any]) -> tuple[dict[str, list[Any]], list[str]]:
        grid: dict[str, list[Any]] = {}
        fixed = list(self.params)
        sets = list(self.sets)
        for name, value in values.items():
            if "." in name:  # a field written with a unit (timeout: 500ms) gets probes in that unit
                sets.append(f"{name}={format_value(value)}{self.field_unit(name)}")
            elif name in self.declared:
                grid[name] = [value]
            else:
                raise ValueError(f"{name!r} is neither a declared parameter of the scenario "
                                 f"({', '.join(sorted(self.declared)) or 'none'}) nor a dotted field path such as "
                                 "components.NAME.workers")
        # a fixed --param naming a knob is overridden by the knob
        fixed = [p for p in fixed if p.partition("=")[0].strip() not in grid]
        from ..scenario.params import parse_assignment

        for p in fixed:
            name, value = parse_assignment(p, "--param")
            grid[name] = [value]
        return grid, sets

    def field_unit(self, dotted: str) -> str:
        """The duration unit the scenario file writes the field *dotted* in (``"ms"`` for
        ``timeout: 500ms``), else ``""``: a probe must not be a bare number where a duration is
        expected (the loader refuses it)."""
        if dotted not in self.units:
            from ..scenario.source import read_yaml
            from ..units import duration_unit

            node: Any = None
            try:
                node = read_yaml(self.path.read_text(encoding="utf-8"), str(self.path)).data
                for part in dotted.split("."):
                    node = node[int(part)] if isinstance(node, list) and part.isdigit() else node[part]
            except (OSError, UnicodeDecodeError, KeyError, IndexError, TypeError):
                node = None
            self.units[dotted] = duration_unit(node) or ""
        return self.units[dotted]

    def unit_of(self, name: str) -> str:
        """The duration unit values of *name* are in (a field's as written, a parameter's default's), or ``""``."""
        from ..units import duration_unit

        return self.field_unit(name) if "." in name else duration_unit(self.declared.get(name)) or ""

    def scenario_at(self, values: Mapping[str, Any]) -> Any:
        """The design as the runs of the configuration *values* build it (a loaded ``Scenario``)."""
        from ..scenario.load import check_scenario
        from .grid import param_arguments

        grid, sets = self.arguments(values)
        return check_scenario(self.path, params=param_arguments({k: v[0] for k, v in grid.items()}), sets=sets)[0]

    def forecast(self, what: str, evaluations: int, first: Mapping[str, Any]) -> Any:
        """A :class:`~simulator.experiments.forecast.Forecast` of *evaluations* configurations,
        timed by a pilot of the configuration *first* (the search's first and dearest)."""
        from .forecast import Forecast, parallelism, seconds_per_run

        scenario = self.scenario_at(first)
        return Forecast(what, evaluations, tuple(self.stages()), scenario.duration, parallelism(self.executor),
                        seconds_per_run(scenario, self.seed))

    def stages(self) -> list[int]:
        """The replication counts a configuration is judged at, in order: 2, 4, 8, … R when the
        search is adaptive (it stops at the first that settles every verdict), else just R. Fixed
        by R alone, never by the workers, so the verdicts are the same on any executor."""
        if not self.adaptive or self.replications <= 2:
            return [self.replications]
        counts = [2]
        while counts[-1] < self.replications:
            counts.append(min(2 * counts[-1], self.replications))
        return counts

    def __call__(self, values: Mapping[str, Any]) -> Evaluation:
        from .sweep import sweep

        key = tuple(sorted(values.items()))
        if key in self.cache:
            return self.cache[key]
        grid, sets = self.arguments(values)
        records: list[dict[str, Any]] = []
        for count in self.stages():
            offset = self.done
            total = max(self.expected, self.done + self.replications - len(records))

            def advance(done: int, _total: int, offset: int = offset, total: int = total) -> None:
                if self.progress is not None:
                    self.progress(offset + done, total)

            result = sweep(self.path, grid, count, executor=self.executor, seed=self.seed, sets=sets,
                           progress=advance, first_replication=len(records))
            self.done += count - len(records)
            records += result.records
            self.base_seed = result.seed
            if len(result.seeds) > len(self.seeds):
                self.seeds = result.seeds
            if settled(self.objectives, records):  # an objective no run measures is settled too: reported below
                break
        self.expected -= self.replications - len(records)  # the runs an early verdict saved
        for objective in self.objectives:
            if not any(objective.measured_in(r) for r in records):
                available = sorted({k for r in records for k in r
                                    if k.startswith(("latency_", "op.", "component.", "slo.")) or
                                    k in ("availability", "throughput_rps", "goodput_rps")})
                raise ValueError(f"objective {objective.name!r}: the runs do not measure {objective.column!r} "
                                 f"(a misspelt component or operation?); measured: {', '.join(available)}")
        evaluation = Evaluation(dict(values), [judge(o, records) for o in self.objectives])
        self.cache[key] = evaluation
        self.evaluations.append(evaluation)
        return evaluation


def settled(objectives: Sequence[Objective], records: Sequence[Mapping[str, Any]]) -> bool:
    """Whether more replications could not change the configuration's verdict: one objective
    fails whatever comes (a run measured nothing, or its whole 95 % interval is on the wrong
    side of the target), or every objective's whole interval is on the right side.

    With n runs the interval is the Student t one of :func:`~simulator.stats.mean_interval`
    (t = 12.7 at n = 2), so a configuration settles early only when it is far from its
    target; near the target it gets every replication."""
    from ..stats import mean_interval

    every_met = True
    for objective in objectives:
        values = [objective.value(r) for r in records]
        if any(v is None or not math.isfinite(v) for v in values):
            return True
        ci = mean_interval(values)
        if ci.n < 2:
            return False
        low_meets, high_meets = objective.met_by(ci.low), objective.met_by(ci.high)
        if low_meets != high_meets:
            every_met = False
        elif not low_meets:
            return True
    return every_met


def objectives_of(scenario: str | os.PathLike[str], slos: Sequence[Any] | None, params: Sequence[str],
                  sets: Sequence[str]) -> tuple[Path, list[Objective], dict[str, Any]]:
    """(path, objectives, ``{declared param: default}``) of *scenario* loaded with *params* and *sets*.

    The objectives are *slos* (strings, scenario ``Slo`` s or :class:`Objective` s), else the
    scenario's own ``slos:``. Raises ScenarioError (an invalid scenario), ValueError (no
    objective at all) or TypeError (something that is not an objective).
    """
    from ..scenario.load import check_scenario
    from ..scenario.model import Slo

    path = Path(scenario)
    base = check_scenario(path, params=list(params), sets=list(sets))[0]
    if slos:
        objectives = [parse_objective(s) if isinstance(s, str) else Objective.from_slo(s) if isinstance(s, Slo) else s
                      for s in slos]
    else:
        objectives = [Objective.from_slo(s) for s in base.slos]
    if not objectives:
        raise ValueError(f"{path}: no SLO to plan for: give some (--slo 'latency_p99<=500ms') or add slos: to the "
                         "scenario")
    for o in objectives:
        if not isinstance(o, Objective):
            raise TypeError(f"an SLO is a string, a Slo or an Objective, not {type(o).__name__}")
    return path, objectives, {name: p.default for name, p in base.params.items()}


def pool_for(executor: Executor | None, workers: int | None) -> tuple[Executor, bool]:
    """(the executor the evaluations run on, whether the caller must shut it down): *executor*
    as given, else a new one of *workers* (:func:`~simulator.experiments.executors.make_executor`),
    kept for the whole search so its workers are started once."""
    from .executors import make_executor

    return (executor, False) if executor is not None else (make_executor(workers), True)


def check_replications(replications: int) -> None:
    """Refuse a replication count that is not a whole number of at least 1 (ValueError)."""
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ValueError(f"replications must be a whole number of at least 1, not {replications!r}")


def dollars(run: Evaluator, prices: Mapping[str, float]) -> Callable[[Mapping[str, int]], float]:
    """The hourly cost (:func:`simulator.cost.hourly_cost`, with *prices*) of the design at a
    configuration, as *run* would build it."""
    from ..cost import hourly_cost

    def cost(config: Mapping[str, int]) -> float:
        return hourly_cost(run.scenario_at(config), prices)[0]

    return cost


def cost_function(knobs: Mapping[str, Any], cost: Any) -> tuple[Callable[[Mapping[str, int]], float], dict]:
    """(what a configuration costs, each knob's weight) for *cost*: None (the sum of the knob
    values; also the weights of ``"dollars"``, priced by :func:`dollars`), ``{knob: weight}``
    (a weighted sum; missing knobs weigh 1), or ``cost(config) -> float`` (every weight 1).
    The weights order the knobs of a coordinate descent, heaviest first."""
    if cost is None or cost == "dollars":
        weights = {k: 1.0 for k in knobs}
    elif callable(cost):
        return (lambda config: float(cost(dict(config)))), {k: 1.0 for k in knobs}
    elif isinstance(cost, Mapping):
        unknown = sorted(set(cost) - set(knobs))
        if unknown:
            raise ValueError(f"cost weights name {unknown[0]!r}, which is not a knob ({', '.join(knobs)})")
        weights = {k: float(cost.get(k, 1.0)) for k in knobs}
        if any(not math.isfinite(w) or w < 0 for w in weights.values()):
            raise ValueError("cost weights must be finite and not negative")
    else:
        raise TypeError("cost is None, {knob: weight} or a function of the configuration")
    return (lambda config: sum(weights[k] * v for k, v in config.items())), weights
