"""Commands that run a design many times: ``compare`` two, ``sweep`` a grid, find the ``knee``, ``plan`` the cheapest."""

# No postponed annotations here: typer reads every command's signature at each start, and would
# evaluate string annotations twice (10 ms of `sdsim --help`; simulator/cli/startup.py).

import json
import math
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from ..errors import ScenarioError
from ..jsonsafe import json_safe
from . import console
from .edge import Exit
from .options import MAX_REPLICATIONS, JsonOpt, ParamOpt, SetOpt, SloOpt, design_name, load, writable

__all__ = ["MAX_SWEEP_RUNS", "compare", "knee", "plan", "sweep"]

MAX_SWEEP_RUNS = 100_000
"""The most runs one ``sdsim sweep`` asks for (points × replications)."""


def compare(
    scenario_a: Annotated[Path, typer.Argument(metavar="A", help="Scenario of design A.", exists=True, dir_okay=False)],
    scenario_b: Annotated[Optional[Path], typer.Argument(metavar="[B]", help="Scenario of design B (default: A "
                                                         "again, told apart by --param-b/--set-b).", exists=True,
                                                         dir_okay=False)] = None,
    param: ParamOpt = None,
    set_: SetOpt = None,
    param_a: Annotated[Optional[list[str]], typer.Option("--param-a", metavar="NAME=VALUE", help="Parameter for A only.")] = None,
    param_b: Annotated[Optional[list[str]], typer.Option("--param-b", metavar="NAME=VALUE", help="Parameter for B only.")] = None,
    set_a: Annotated[Optional[list[str]], typer.Option("--set-a", metavar="PATH=VALUE", help="Field override for A only.")] = None,
    set_b: Annotated[Optional[list[str]], typer.Option("--set-b", metavar="PATH=VALUE", help="Field override for B only.")] = None,
    replications: Annotated[int, typer.Option("--replications", "-r", min=1, max=MAX_REPLICATIONS,
                                              help="Paired runs (same seeds for A and B).")] = 10,
    seed: Annotated[Optional[int], typer.Option(help="Base seed (default: A's).", min=0)] = None,
    as_json: JsonOpt = False,
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write comparison.json/.png/.html here.",
                                                    metavar="<dir>")] = None,
) -> None:
    """Compare two designs with common random numbers: same seeds, paired differences, 95 % intervals."""
    from ..compare import compare as run_compare

    writable(out_dir)
    a = load(scenario_a, [*(param or []), *(param_a or [])], [*(set_ or []), *(set_a or [])])
    b = load(scenario_b or scenario_a, [*(param or []), *(param_b or [])], [*(set_ or []), *(set_b or [])])
    names = (design_name(scenario_a, param_a, set_a, "A"), design_name(scenario_b or scenario_a, param_b, set_b, "B"))
    with console.count_progress("comparing", 2 * replications) as advance:
        comparison = run_compare(a, b, replications=replications, seed=seed, names=names, progress=advance)
    rows = comparison.rows()
    if as_json:
        sys.stdout.write(json.dumps(json_safe(comparison.to_dict()), indent=2) + "\n")
    else:
        from ..report import comparison_renderable

        console.out.print(comparison_renderable(comparison.names, rows, replications))
    if out_dir is not None:
        from ..artifacts import write_comparison

        written = write_comparison(comparison.first, json_safe(rows), out_dir)
        console.err.print(f"wrote {len(written)} files to {out_dir}", highlight=False)


def sweep(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", exists=True, dir_okay=False)],
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", metavar="NAME=SPEC",
                                                       help="Values of a declared parameter: 1,2,4 or START:STOP:STEP "
                                                       "or log:START:STOP:COUNT (repeatable; the grid is their "
                                                       "product).")] = None,
    set_: SetOpt = None,
    replications: Annotated[int, typer.Option("--replications", "-r", min=1, max=MAX_REPLICATIONS,
                                              help="Runs per point (the same seeds at every point).")] = 5,
    workers: Annotated[Optional[int], typer.Option("--workers", "-w", min=1, help="Local worker processes "
                                                   "(default: one per CPU; 1 = in this process).")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", metavar="ADDRESS", help="Run on a dask cluster: "
                                                     "tcp://HOST:PORT (needs sdsim[distributed]).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Base seed (default: the scenario's).", min=0)] = None,
    as_json: JsonOpt = False,
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write runs.jsonl (as runs finish), runs.csv, "
                                                    "aggregate.csv, sweep.json and charts here.",
                                                    metavar="<dir>")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="With --out: reuse the runs already in runs.jsonl, run "
                                         "only the missing ones.")] = False,
    retries: Annotated[int, typer.Option("--retries", min=0, help="Resubmissions of a failing run.")] = 2,
) -> None:
    """Sweep parameters: every point of the grid × R replications, in parallel, with 95 % intervals."""
    from ..errors import Problem
    from ..experiments.grid import parse_grid
    from ..experiments.sweep import SweepError, sweep as run_sweep

    if workers is not None and scheduler is not None:
        raise typer.BadParameter("give --workers (local processes) or --scheduler (a cluster), not both",
                                 param_hint="--scheduler")
    if resume and out_dir is None:
        raise typer.BadParameter("--resume needs --out (the folder holding runs.jsonl)", param_hint="--resume")
    writable(out_dir)  # a sweep folder is its runs' log, written in place (see simulator.artifacts.folders)
    try:
        grid = parse_grid(param or [])
    except ValueError as exc:
        raise ScenarioError([Problem("<command line>", None, None, "", str(exc))]) from None
    total = replications
    for values in grid.values():
        total *= len(values)
    if total > MAX_SWEEP_RUNS:  # each run is planned (and each point loaded) before the first one starts
        raise typer.BadParameter(f"the grid × {replications} replications is {total:,} runs; at most "
                                 f"{MAX_SWEEP_RUNS:,} (fewer values or replications)", param_hint="--param/-r")
    started = time.perf_counter()
    try:
        with console.count_progress(f"sweeping {scenario.stem}", total) as advance:
            result = run_sweep(scenario, grid, replications, workers=workers, scheduler=scheduler, seed=seed,
                               sets=set_ or [], out_dir=out_dir, resume=resume, retries=retries, progress=advance)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    except (ImportError, ConnectionError) as exc:  # no distributed package, or no scheduler there
        console.err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(Exit.USAGE)
    except SweepError as exc:
        console.err.print(str(exc), markup=False, highlight=False)
        if out_dir is not None:
            console.err.print(f"finished runs are saved in {out_dir / 'runs.jsonl'}: rerun with --resume",
                              highlight=False)
        raise typer.Exit(Exit.CHECK_FAILED)
    if as_json:
        sys.stdout.write(json.dumps(json_safe(result.to_dict()), indent=2, allow_nan=False) + "\n")
    else:
        from ..experiments.report import sweep_renderable

        console.out.print(sweep_renderable(result))
    reused = f", {result.reused} reused from {out_dir / 'runs.jsonl'}" if result.reused else ""
    console.err.print(f"{result.executed} runs in {time.perf_counter() - started:.1f}s wall{reused}", style="dim",
                      highlight=False)
    if out_dir is not None:  # sweep() wrote runs.jsonl, runs.csv, aggregate.csv and sweep.json
        charts = result.write_charts(out_dir)
        console.err.print(f"wrote {4 + len(charts)} files to {out_dir}", highlight=False)


def _planning_objectives(slo: list[str] | None, spec: Any) -> list[Any]:
    """--slo strings parsed (exit 2 on a bad one), else the scenario's SLOs; none at all: exit 2."""
    from ..experiments.planning import Objective, parse_slo

    if slo:
        try:
            return [parse_slo(s) for s in slo]
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--slo") from None
    if not spec.slos:
        console.err.print("no SLO to check: give --slo (e.g. --slo 'latency_p99<=500ms') or add slos: to the "
                          "scenario", highlight=False)
        raise typer.Exit(Exit.USAGE)
    return [Objective.from_slo(s) for s in spec.slos]


def _planning_call(call: Callable[[], Any]) -> Any:
    """Run a knee/plan search, mapping its errors to exit codes (2 usage, 1 runs that failed; an
    invalid scenario is the edge's: 3)."""
    from ..experiments.sweep import SweepError

    try:
        return call()
    except ValueError as exc:
        console.err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(Exit.USAGE)
    except SweepError as exc:
        console.err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(Exit.CHECK_FAILED)


def _checks_cells(checks: list[Any]) -> list[str]:
    """``mean (bound B rel target)`` per check, in the check's unit; ``rel`` is the true relation of
    the judged bound to the target (``≤``/``≥`` met, ``>``/``<`` broken), and bound and target get
    as many digits as it takes to tell them apart."""
    from ..units import human_quantity

    cells = []
    for c in checks:
        mean = human_quantity(c.mean, c.unit)
        if c.confidence_bound is None:
            cells.append(f"{mean} (nothing measured: fails)" if c.mean is None else f"{mean} (no bound: fails)")
            continue
        for digits in range(3, 10):
            bound, target = human_quantity(c.confidence_bound, c.unit, digits), human_quantity(c.target, c.unit, digits)
            if (bound != target) == (c.confidence_bound != c.target):
                break
        cells.append(f"{mean} (bound {bound} {c.relation} {target})")
    return cells


AllReplicationsOpt = Annotated[bool, typer.Option(
    "--all-replications", help="Run every configuration R times (default: 2, 4, 8, … R, stopping once the 95 % "
    "bounds settle its verdict).")]


def _announce(forecast: Any) -> None:
    """The search's forecast on stderr, before it starts (progress, not a result)."""
    console.err.print(forecast.text(), highlight=False)


def _replications_label(replications: int, every: bool) -> str:
    return f"R={replications}" if every or replications <= 2 else f"R≤{replications}"


def _runs_cell(evaluation: Any) -> str:
    return str(max((c.n for c in evaluation.checks), default=0))


def _verdict(met: bool) -> Any:
    from rich.text import Text

    return Text("meets") if met else Text("breaks", style="red")


def knee(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", exists=True, dir_okay=False)],
    param: Annotated[list[str], typer.Option("--param", "-p", metavar="NAME=LOW:HIGH",
                                             help="The load to bisect (one NAME=LOW:HIGH: a declared parameter or a "
                                             "dotted field path); other --param NAME=VALUE are fixed.")],
    slo: SloOpt = None,
    set_: SetOpt = None,
    replications: Annotated[int, typer.Option("--replications", "-r", min=1, max=MAX_REPLICATIONS,
                                              help="Runs per probe (the same seeds at every probe).")] = 5,
    tolerance: Annotated[str, typer.Option("--tolerance", help="Stop when the bracket is this narrow: a number "
                                           "(absolute) or a percentage of the breaking value (relative).")] = "1%",
    workers: Annotated[Optional[int], typer.Option("--workers", "-w", min=1, help="Local worker processes "
                                                   "(default: one per CPU; 1 = in this process).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Base seed (default: the scenario's).", min=0)] = None,
    all_replications: AllReplicationsOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Find the load at which an SLO breaks: bisection, each probe judged on its 95 % confidence bound."""
    from ..experiments.planning import knee as find_knee, knee_runs, parse_range

    ranges = [p for p in param if ":" in p.partition("=")[2]]
    fixed = [p for p in param if p not in ranges]
    if len(ranges) != 1:
        raise typer.BadParameter("give exactly one --param NAME=LOW:HIGH to bisect", param_hint="--param")
    try:
        name, low, high = parse_range(ranges[0])
        estimate = knee_runs(low, high, tolerance, replications)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--param/--tolerance") from None
    spec = load(scenario, fixed, set_)
    objectives = _planning_objectives(slo, spec)
    with console.count_progress(f"knee of {scenario.stem}", estimate) as advance:
        result = _planning_call(lambda: find_knee(scenario, name, low, high, objectives, replications=replications,
                                                  tolerance=tolerance, params=fixed, sets=set_ or [],
                                                  workers=workers, seed=seed, progress=advance,
                                                  adaptive=not all_replications, announce=_announce))
    if as_json:
        sys.stdout.write(json.dumps(json_safe(result.to_dict()), indent=2, allow_nan=False) + "\n")
    else:
        from rich.table import Table

        from ..units import human_number

        unit = f" {result.unit}" if result.unit else ""
        table = Table(title=f"knee of {result.scenario} along {name} ({_replications_label(replications, all_replications)}, 95 % bounds)")
        table.add_column(f"{name} ({result.unit})" if unit else name, justify="right")
        for o in result.objectives:
            table.add_column(o.name, justify="right")
        table.add_column("runs", justify="right")
        table.add_column("verdict")
        for probe in sorted(result.probes, key=lambda p: p.values[name]):
            table.add_row(human_number(probe.values[name], 6), *_checks_cells(probe.checks), _runs_cell(probe),
                          _verdict(probe.met))
        console.out.print(table)
        if result.found:
            console.out.print(f"knee: {name} between {human_number(result.last_ok, 6)}{unit} (meets) and "
                              f"{human_number(result.first_broken, 6)}{unit} (breaks {', '.join(result.broken)})",
                              highlight=False)
        else:
            console.out.print(result.reason, highlight=False)
    if not result.found:
        raise typer.Exit(Exit.CHECK_FAILED)


def plan(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", exists=True, dir_okay=False)],
    knob: Annotated[list[str], typer.Option("--knob", "-k", metavar="NAME=LOW:HIGH",
                                            help="A whole-number knob where more is better: a declared parameter "
                                            "(servers=1:30) or a dotted field path (components.web.replicas=1:64); "
                                            "repeatable.")],
    slo: SloOpt = None,
    param: ParamOpt = None,
    set_: SetOpt = None,
    replications: Annotated[int, typer.Option("--replications", "-r", min=1, max=MAX_REPLICATIONS,
                                              help="Runs per configuration (the same seeds for every one).")] = 5,
    workers: Annotated[Optional[int], typer.Option("--workers", "-w", min=1, help="Local worker processes "
                                                   "(default: one per CPU; 1 = in this process).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Base seed (default: the scenario's).", min=0)] = None,
    all_replications: AllReplicationsOpt = False,
    minimise: Annotated[str, typer.Option("--minimise", help="knobs: the sum of the knob values; dollars: the "
                                          "hourly cost (simulator.cost) with --price.")] = "knobs",
    price: Annotated[Optional[list[str]], typer.Option("--price", metavar="KIND_OR_CLASS=USD", help="USD per "
                                                       "instance-hour of a kind or instance class; repeatable.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Find the cheapest knob values meeting the SLOs (binary search; coordinate descent for several knobs)."""
    from ..experiments.planning import parse_knob, plan as find_plan, plan_runs

    knobs: dict[str, tuple[int, int]] = {}
    try:
        for text in knob:
            name, bounds = parse_knob(text)
            if name in knobs:
                raise ValueError(f"--knob {name} is given twice")
            knobs[name] = bounds
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--knob") from None
    if minimise not in ("knobs", "dollars"):
        raise typer.BadParameter("knobs or dollars", param_hint="--minimise")
    prices = {}
    for text in price or []:
        name, _, usd = text.partition("=")
        try:
            prices[name.strip()] = float(usd)
        except ValueError:
            raise typer.BadParameter(f"{text!r}: expected KIND=USD, e.g. service=0.1", param_hint="--price") from None
        if not (math.isfinite(prices[name.strip()]) and prices[name.strip()] >= 0):
            raise typer.BadParameter(f"{text!r}: a price is a finite number of dollars >= 0", param_hint="--price")
    spec = load(scenario, param, set_)
    objectives = _planning_objectives(slo, spec)
    with console.count_progress(f"planning {scenario.stem}", plan_runs(knobs, replications)) as advance:
        result = _planning_call(lambda: find_plan(scenario, knobs, objectives, replications=replications,
                                                  params=param or [], sets=set_ or [], workers=workers, seed=seed,
                                                  progress=advance, cost="dollars" if minimise == "dollars"
                                                  else None, prices=prices, adaptive=not all_replications,
                                                  announce=_announce))
    if as_json:
        sys.stdout.write(json.dumps(json_safe(result.to_dict()), indent=2, allow_nan=False) + "\n")
    else:
        from rich.table import Table

        table = Table(title=f"plan for {result.scenario} ({_replications_label(replications, all_replications)}, 95 % bounds)")
        for name in knobs:
            table.add_column(name, justify="right")
        for o in result.objectives:
            table.add_column(o.name, justify="right")
        table.add_column("runs", justify="right")
        table.add_column("verdict")
        for e in result.evaluations:
            table.add_row(*(str(e.values[k]) for k in knobs), *_checks_cells(e.checks), _runs_cell(e), _verdict(e.met))
        console.out.print(table)
        if result.found:
            chosen = ", ".join(f"{k}={v}" for k, v in result.config.items())
            cost = f"${result.cost:.4g}/h" if minimise == "dollars" else f"cost {result.cost:g}"
            console.out.print(f"cheapest: {chosen} ({cost}; {result.reason})", highlight=False)
        else:
            console.out.print(result.reason, highlight=False)
    if not result.found:
        raise typer.Exit(Exit.CHECK_FAILED)
