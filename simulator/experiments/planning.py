"""Capacity planning: where does an SLO break (:func:`knee`), and what is the cheapest design
that meets it (:func:`plan`)?

>>> from simulator.experiments.planning import knee, plan, parse_slo       # doctest: +SKIP
>>> knee("scenarios/theory/mm1.yaml", "arrival_rate", 0.1, 0.9, [parse_slo("latency_mean<=2s")])
>>> plan("scenarios/theory/mmc.yaml", {"servers": (10, 20)}, [parse_slo("component.station.p_wait<=0.2")],
...      params=["service_rate=10"], sets=["params.arrival_rate.max=100", "workload.0.arrivals.rate=90"])

**Verdicts on confidence bounds.** Every evaluation (a *probe* of the knee, a
configuration of the plan) runs R replications with the *same* seeds
(:func:`~simulator.core.rng.replication_seeds` of the base seed, through
:func:`~simulator.experiments.sweep.sweep`): common random numbers, so neighbouring probes
differ by the design, not by luck. Each objective's per-run values give a 95 % Student t
interval (:func:`~simulator.stats.mean_interval`), and the objective is *met* when the
interval's bound on the wrong side meets the target: the **upper** bound for a ``max``
objective (``latency_p99<=300ms``), the **lower** bound for a ``min`` one
(``availability>=0.99``) — the rule of the lab grader. With R = 1 the mean is used. A
run where nothing was measured (``None``) makes the objective fail. The rule is
conservative: a knee is reported at (or a little below) the load where the true mean
crosses the target, by about t·SE of the metric.

**Adaptive replications** (the default; ``adaptive=False`` or ``--all-replications`` turns
them off). A configuration is judged on its first 2 replications, then 4, 8, … up to R, and
no more runs are made once its verdict is *settled*: an objective's whole interval lies on
the wrong side of its target (it breaks), or every objective's whole interval lies on the
right side (it meets). At n = 2 the interval is ±12.7 SE wide, so only configurations far
from their targets stop early; one near its target gets all R, as before. The stages depend
on R alone, never on the workers, so a search is reproducible on any executor; its checks
report the n they were judged on. On the README's plan example this cuts the runs from 25
to 10: every configuration it visits, 13 servers included, is far enough from P(wait) = 0.2
to settle at 2 runs.

**Forecast** (``announce=``; the CLI prints it first): how many configurations and runs the
search makes at most and about how long they take here, timed by a short pilot run of the
dearest configuration (:mod:`~simulator.experiments.forecast`).

**Objectives** are :mod:`simulator.objectives`' (:class:`Objective`, :func:`parse_slo`):
``METRIC[.OPERATION](<=|>=)VALUE`` with units (``latency_p99<=500ms``, ``availability>=0.99``,
``latency_p99.buy_character<=300ms``), ``component.NAME.METRIC<=VALUE`` on a metric the runs
record for that component (``utilization``, ``p_wait``, ``wait_mean``, ``hit_ratio``…); or the
scenario's own ``slos:`` (:meth:`Objective.from_slo`, judged on each run's
``slo.<name>.value``, measured over the SLO's own window).

**Knee** (:func:`knee`): bisection on ``[low, high]`` of a parameter assumed to make things
monotonically worse as it grows (a load: ``rate``, ``arrival_rate``). ``low`` must meet
every objective and ``high`` must break one, otherwise the knee is outside the range
(reported, not raised: ``found`` is False and ``reason`` says which side). Bisection stops
when the bracket ``[last_ok, first_broken]`` is no wider than the tolerance: a number is an
absolute width in the parameter's units; a text ending in ``%`` (``"1%"``, the default) is
relative to the bracket's upper end (``first_broken``).

**Plan** (:func:`plan`): integer knobs where more is better (servers, workers, replicas),
each ``NAME: (low, high)``. A NAME without a dot is a declared parameter (passed like
``--param``); a dotted NAME is a field path (passed like ``--set``, e.g.
``components.station.workers``). The cost of a configuration is the sum of the knob values
by default, a weighted sum with ``cost={"a": 2, "b": 1}``, any ``cost(config) -> float``, or
dollars per hour with ``cost="dollars", prices={...}`` (:mod:`simulator.cost`).

* One knob: binary search for the smallest value that meets the objectives, after checking
  that ``high`` meets. **Exact** (given the verdicts) when the objectives are monotone in the
  knob: ⌈log2(high − low + 1)⌉ + 1 evaluations.
* Several knobs: a **heuristic** coordinate descent. Start at the all-high point (it must
  meet), then lower one knob at a time (heaviest weight first) by binary search, the others
  fixed, and repeat the passes until none moves. It finds a configuration where no single
  knob can be lowered, not necessarily the global cheapest (trade-offs between knobs are not
  explored).

Evaluations are cached by configuration; everything evaluated is reported. Running and judging
one configuration, and what it costs, live in :mod:`~simulator.experiments.evaluation`.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ..objectives import Check, Objective, judge, parse_objective
from .evaluation import (Evaluation, Evaluator, check_replications, cost_function, dollars, objectives_of,
                         pool_for)
from .grid import parse_knob, parse_range

__all__ = ["Check", "Evaluation", "KneeResult", "Objective", "PlanResult", "judge", "knee", "parse_knob",
           "parse_range", "parse_slo", "plan"]

parse_slo = parse_objective
"""Text → :class:`Objective` (:func:`simulator.objectives.parse_objective`)."""


# ----------------------------------------------------------------------------- knee


@dataclass
class KneeResult:
    """Where the objectives break along *param*.

    ``found``: ``low`` met and ``high`` broke, so the knee lies in ``[last_ok, first_broken]``
    (narrower than the tolerance). Otherwise ``reason`` says which side of the range it is
    on (``last_ok``/``first_broken`` then hold whatever is known). ``broken``: the
    objectives that failed at ``first_broken``. ``probes``: every evaluation in order.
    """

    scenario: str
    param: str
    low: float
    high: float
    tolerance: float | str
    replications: int
    seed: int | None
    seeds: list[int]
    objectives: list[Objective]
    found: bool
    reason: str
    last_ok: float | None
    first_broken: float | None
    broken: list[str]
    probes: list[Evaluation] = field(repr=False)
    unit: str = ""
    """The duration unit of *param* when it is one (``"ms"``: probes are milliseconds), else ``""``."""
    adaptive: bool = True
    """Whether probes stopped adding replications once settled (each check's ``n`` says how many ran)."""

    def to_dict(self) -> dict[str, Any]:
        from ..artifacts import json_safe

        return json_safe({
            "scenario": self.scenario, "param": self.param, "unit": self.unit, "low": self.low, "high": self.high,
            "tolerance": self.tolerance, "replications": self.replications, "adaptive": self.adaptive,
            "seed": self.seed, "seeds": self.seeds,
            "slos": [o.to_dict() for o in self.objectives], "found": self.found, "reason": self.reason,
            "last_ok": self.last_ok, "first_broken": self.first_broken, "broken": self.broken,
            "probes": [{"value": p.values[self.param], **p.to_dict()} for p in self.probes]})


def _width_ok(tolerance: float | str, ok: float, bad: float) -> bool:
    if isinstance(tolerance, str):
        return bad - ok <= float(tolerance.strip().removesuffix("%")) / 100 * abs(bad)
    return bad - ok <= tolerance


def _check_tolerance(tolerance: float | str) -> float | str:
    if isinstance(tolerance, str):
        text = tolerance.strip()
        if text.endswith("%"):
            try:
                rel = float(text[:-1])
            except ValueError:
                rel = math.nan
            if not (math.isfinite(rel) and rel > 0):
                raise ValueError(f"tolerance {tolerance!r}: a relative tolerance is a positive percentage, e.g. 1%")
            return text
        try:
            tolerance = float(text)
        except ValueError:
            raise ValueError(f"tolerance {tolerance!r}: expected a number (absolute) or a percentage (relative)") \
                from None
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not (
            math.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"tolerance must be a positive number or a percentage such as '1%', not {tolerance!r}")
    return float(tolerance)


def _integral(param: str, declared: dict[str, Any], low: float, high: float) -> bool:
    """Whether *param* takes whole numbers (users, replicas): a declared parameter with an
    integer default, or a field path given integer bounds. Then probes are integers and the
    bisection stops at a bracket of 1."""
    if param in declared:
        default = declared[param]
        return isinstance(default, int) and not isinstance(default, bool)
    return float(low).is_integer() and float(high).is_integer()


def knee_runs(low: float, high: float, tolerance: float | str, replications: int, *, integral: bool = False,
              max_probes: int = 60) -> int:
    """The most runs :func:`knee` makes (for a forecast and a progress bar): both ends, then
    bisection steps until the bracket is as narrow as the tolerance allows at its narrowest
    (a relative tolerance, at the end of the range nearest zero), R replications each."""
    tolerance = _check_tolerance(tolerance)
    if isinstance(tolerance, str):
        nearest = min(abs(low), abs(high)) if low * high > 0 else max(abs(low), abs(high))
        width = float(tolerance.removesuffix("%")) / 100 * nearest
    else:
        width = tolerance
    ratio = (high - low) / max(width, 1e-300)
    steps = math.floor(math.log2(ratio)) + 1 if ratio > 1 else 0  # ⌈log2⌉, or one more where rounding may need it
    if integral:
        steps = min(steps, math.ceil(math.log2(max(high - low, 1.0))))
    return replications * min(2 + steps, max_probes)


def knee(scenario: str | os.PathLike[str], param: str, low: float, high: float, slos: Sequence[Any] | None = None, *,
         replications: int = 5, tolerance: float | str = "1%", params: Sequence[str] = (), sets: Sequence[str] = (),
         executor: Executor | None = None, workers: int | None = None, seed: int | None = None,
         progress: Callable[[int, int], None] | None = None, max_probes: int = 60, adaptive: bool = True,
         announce: Callable[[Any], None] | None = None) -> KneeResult:
    """The value of *param* in ``[low, high]`` at which the objectives break (module docstring).

    Args:
        scenario: the scenario file.
        param: a declared parameter, or a dotted field path (``workload.0.arrivals.rate``).
        slos: objectives: strings (:func:`parse_slo`), scenario ``Slo`` s or :class:`Objective` s;
            default the scenario's ``slos:``.
        replications: runs per probe (the same seeds at every probe).
        tolerance: stop when ``first_broken − last_ok`` ≤ this (absolute), or ≤ that percentage
            of ``first_broken`` when given as text ending in ``%``.
        params, sets: fixed ``--param``/``--set`` overrides.
        executor / workers: where runs execute (default: a process pool made here and shut down).
        seed: base seed (default: the scenario's).
        progress: ``progress(done_runs, estimated_total)`` (the total shrinks as probes settle early).
        adaptive: judge a probe on 2, 4, 8, … R replications, stopping when its verdicts are
            settled (:class:`~simulator.experiments.evaluation.Evaluator`); False: R for every probe.
        announce: called once before the first run with a
            :class:`~simulator.experiments.forecast.Forecast` (what will run, how long: it times a
            short pilot run first).

    Raises:
        ScenarioError: the scenario (or a probe of it) is invalid. ValueError: bad arguments,
        no objective, or an objective the runs do not measure.
    """
    check_replications(replications)
    tolerance = _check_tolerance(tolerance)
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"the range of {param} must be finite with low < high, not {low!r}:{high!r}")
    path, objectives, declared = objectives_of(scenario, slos, params, sets)
    integral = _integral(param, declared, low, high)
    probes = knee_runs(low, high, tolerance, 1, integral=integral, max_probes=max_probes)
    pool, owned = pool_for(executor, workers)
    run = Evaluator(path, objectives, replications, params, sets, pool, seed, progress, probes * replications,
                    declared, adaptive)
    try:
        if announce is not None:
            announce(run.forecast(f"knee of {path.stem} along {param} in [{low:g}, {high:g}]", probes, {param: high}))
        at_low = run({param: low})
        found, reason, ok, bad, broken = False, "", None, None, []
        if not at_low.met:
            reason = (f"the objectives already break at the low end ({param}={low:g}: "
                      f"{', '.join(at_low.broken)}): the knee is below the range")
            bad, broken = low, at_low.broken
        else:
            at_high = run({param: high})
            ok = low
            if at_high.met:
                reason = f"the objectives still hold at the high end ({param}={high:g}): the knee is above the range"
                ok = high
            else:
                found, bad, broken = True, high, at_high.broken
                reason = "knee found"
                while not _width_ok(tolerance, ok, bad) and len(run.evaluations) < max_probes:
                    mid = math.floor((ok + bad) / 2) if integral else (ok + bad) / 2
                    if mid in (ok, bad):
                        break
                    probe = run({param: mid})
                    if probe.met:
                        ok = mid
                    else:
                        bad, broken = mid, probe.broken
    finally:
        if owned:
            pool.shutdown(wait=True, cancel_futures=True)
    return KneeResult(scenario=path.stem, param=param, low=low, high=high, tolerance=tolerance,
                      replications=replications, seed=run.base_seed, seeds=run.seeds, objectives=objectives,
                      found=found, reason=reason, last_ok=ok, first_broken=bad, broken=broken,
                      probes=run.evaluations, unit=run.unit_of(param), adaptive=adaptive)


# ----------------------------------------------------------------------------- plan


@dataclass
class PlanResult:
    """The cheapest configuration found that meets the objectives.

    ``found`` False means even the all-high configuration breaks (``config`` is then None).
    ``chosen`` is the evaluation of ``config`` (its checks: mean, SE, bound); ``evaluations``
    lists every configuration run, in order. ``exact``: one knob (binary search), else the
    coordinate-descent heuristic.
    """

    scenario: str
    knobs: dict[str, tuple[int, int]]
    replications: int
    seed: int | None
    seeds: list[int]
    objectives: list[Objective]
    found: bool
    reason: str
    config: dict[str, int] | None
    cost: float | None
    chosen: Evaluation | None
    evaluations: list[Evaluation] = field(repr=False)
    exact: bool = True
    adaptive: bool = True
    """As :attr:`KneeResult.adaptive`."""

    def to_dict(self) -> dict[str, Any]:
        from ..artifacts import json_safe

        return json_safe({
            "scenario": self.scenario, "knobs": {k: list(v) for k, v in self.knobs.items()},
            "replications": self.replications, "adaptive": self.adaptive, "seed": self.seed, "seeds": self.seeds,
            "slos": [o.to_dict() for o in self.objectives], "found": self.found, "reason": self.reason,
            "method": "binary search" if self.exact else "coordinate descent (heuristic)",
            "config": self.config, "cost": self.cost, "checks": [c.to_dict() for c in self.chosen.checks]
            if self.chosen else None, "evaluations": [e.to_dict() for e in self.evaluations]})


def plan_runs(knobs: Mapping[str, tuple[int, int]], replications: int) -> int:
    """An estimate of the runs :func:`plan` makes (one pass, for a progress bar)."""
    return replications * (1 + sum(math.ceil(math.log2(hi - lo + 1)) for lo, hi in knobs.values()))


def plan(scenario: str | os.PathLike[str], knobs: Mapping[str, tuple[int, int]], slos: Sequence[Any] | None = None,
         *, replications: int = 5, cost: Any = None, params: Sequence[str] = (), sets: Sequence[str] = (),
         executor: Executor | None = None, workers: int | None = None, seed: int | None = None,
         progress: Callable[[int, int], None] | None = None, max_passes: int = 3,
         prices: Mapping[str, float] | None = None, adaptive: bool = True,
         announce: Callable[[Any], None] | None = None) -> PlanResult:
    """The cheapest configuration of integer *knobs* meeting the objectives (module docstring).

    Args:
        knobs: ``{NAME: (low, high)}``, whole numbers, more is better; NAME a declared parameter
            or a dotted field path.
        slos: as for :func:`knee` (default the scenario's).
        cost: None (sum of the values), ``{knob: weight}``, ``cost(config) -> float``, or
            ``"dollars"``: the design's hourly cost (:func:`simulator.cost.hourly_cost`) at the
            configuration, with *prices* (USD per instance-hour by kind or instance class;
            instance classes of the catalog are priced already). Autoscaled services count at
            their ``max_replicas``.
        max_passes: coordinate-descent passes at most (several knobs).
        adaptive, announce: as for :func:`knee` (the forecast counts one pass of the descent).

    Raises: as :func:`knee`.
    """
    check_replications(replications)
    if not knobs:
        raise ValueError("give at least one knob: NAME=LOW:HIGH")
    bounds: dict[str, tuple[int, int]] = {}
    for name, pair in knobs.items():
        lo, hi = pair
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (lo, hi)) or lo > hi:
            raise ValueError(f"knob {name}: expected whole numbers low <= high, not {pair!r}")
        bounds[name] = (lo, hi)
    cost_of, weights = cost_function(bounds, cost)
    path, objectives, declared = objectives_of(scenario, slos, params, sets)
    pool, owned = pool_for(executor, workers)
    run = Evaluator(path, objectives, replications, params, sets, pool, seed, progress,
                    plan_runs(bounds, replications), declared, adaptive)
    if cost == "dollars":
        cost_of = dollars(run, prices or {})
    config = {k: hi for k, (lo, hi) in bounds.items()}
    try:
        if announce is not None:
            method = "binary search" if len(bounds) == 1 else "coordinate descent, per pass"
            announce(run.forecast(f"plan for {path.stem} ({method})", plan_runs(bounds, 1), config))
        top = run(config)
        if not top.met:
            found, reason, config = False, (f"the objectives break even at the high end of every knob "
                                            f"({', '.join(top.broken)})"), None
        else:
            found, reason = True, "cheapest configuration found"
            order = sorted(bounds, key=lambda k: -weights[k])  # stable: given order among equal weights
            for _ in range(max(1, max_passes) if len(bounds) > 1 else 1):
                moved = False
                for name in order:
                    lo, hi = bounds[name][0] - 1, config[name]  # lo: assumed to break; hi: meets
                    while hi - lo > 1:
                        mid = (lo + hi) // 2
                        if run({**config, name: mid}).met:
                            hi = mid
                        else:
                            lo = mid
                    if hi != config[name]:
                        config, moved = {**config, name: hi}, True
                if not moved:
                    break
            if len(bounds) > 1:
                reason = "no single knob can be lowered further (coordinate descent: a heuristic)"
    finally:
        if owned:
            pool.shutdown(wait=True, cancel_futures=True)
    chosen = run.cache[tuple(sorted(config.items()))] if config is not None else None
    return PlanResult(scenario=path.stem, knobs=bounds, replications=replications, seed=run.base_seed,
                      seeds=run.seeds, objectives=objectives, found=found, reason=reason, config=config,
                      cost=cost_of(config) if config is not None else None, chosen=chosen,
                      evaluations=run.evaluations, exact=len(bounds) == 1, adaptive=adaptive)
