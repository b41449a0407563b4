"""The ``sdsim`` command line (typer). Commands are thin: load, call the package, print.

Results go to stdout (a table, or with ``--json`` one JSON document and nothing else);
diagnostics go to stderr. Exit codes: 0 ok, 1 an SLO failed, 2 usage error (click's
own), 3 invalid scenario.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator, Literal, Optional

import typer
from rich.console import Console

from .errors import ScenarioError, SimulationStalled
from .jsonsafe import json_safe

app = typer.Typer(no_args_is_help=True, rich_markup_mode="rich", pretty_exceptions_show_locals=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="sdsim — simulate system designs, measure latency, throughput and availability.")
# Text prints as written: no emoji codes (FILE:100:COL must not become FILE💯COL) and no markup in
# strings (a file named [x].yaml stays [x].yaml); styles are given as Text/style=, never as "[red]".
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160,  # piped tables are not truncated
              emoji=False, markup=False)
err = Console(stderr=True, soft_wrap=True, emoji=False, markup=False)


class Exit(IntEnum):
    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
    INVALID = 3
    BUG = 4  # an internal error: a bug in sdsim, never a verdict on the input
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


_debug = {"on": bool(os.environ.get("SDSIM_DEBUG"))}  # set by --debug: show an internal error's traceback


ParamOpt = Annotated[Optional[list[str]], typer.Option("--param", "-p", metavar="NAME=VALUE",
                                                       help="Override a declared parameter (repeatable).")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", "-s", metavar="PATH=VALUE",
                                                     help="Override any field, e.g. components.web.workers=8 (repeatable).")]


JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]


def _load(path: Path, params: list[str] | None, sets: list[str] | None):
    from .scenario.load import load_scenario

    try:
        return load_scenario(path, params=params or [], sets=sets or [])
    except ScenarioError as error:
        _fail_invalid(error)


def _design_name(path: Path, params: list[str] | None, sets: list[str] | None, fallback: str) -> str:
    tweaks = [*(params or []), *(sets or [])]
    return f"{path.stem} ({', '.join(tweaks)})" if tweaks else path.stem or fallback


@contextmanager
def _sim_progress(name: str) -> Iterator[Callable[[float, float, int], None] | None]:
    """A progress bar on stderr (simulated time, events/s), or nothing when stderr is not a terminal."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    started = time.perf_counter()
    with Progress(TextColumn("{task.description}", style="bold", markup=False), BarColumn(),
                  TextColumn("{task.fields[clock]}", markup=False), TextColumn("{task.fields[rate]}", markup=False),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task(name, total=1.0, clock="", rate="")

        def update(now: float, duration: float, events: int) -> None:
            wall = max(time.perf_counter() - started, 1e-9)
            bar.update(task, completed=min(now / duration, 1.0), clock=f"sim {now:,.0f}/{duration:,.0f}s",
                       rate=f"{events / wall:,.0f} events/s")

        yield update


@contextmanager
def _count_progress(label: str, total: int) -> Iterator[Callable[[int, int], None] | None]:
    if not err.is_terminal:
        yield None
        return
    from rich.progress import Progress

    from rich.progress import BarColumn, TaskProgressColumn, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), TaskProgressColumn(),
                  TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, _total: bar.update(task, completed=done)


def _fail_invalid(error: ScenarioError) -> None:
    for problem in error.problems:
        err.print(str(problem), markup=False, highlight=False)
    n = len(error.problems)
    err.print(f"{n} problem{'s' if n != 1 else ''} found", style="red")
    raise typer.Exit(Exit.INVALID)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", exists=True, dir_okay=False)],
    seed: Annotated[Optional[int], typer.Option(help="Random seed (default: the scenario's).", min=0)] = None,
    param: ParamOpt = None,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write summary.json, tables, charts and "
                                                    "report.html into this directory.", file_okay=False)] = None,
    svg: Annotated[bool, typer.Option("--svg", help="With --out, also write SVG charts.")] = False,
    records: Annotated[Optional[Literal["full", "summary", "auto"]], typer.Option(
        "--records", help="What the run keeps (default: the scenario's `records`, auto): full = every request "
                          "and visit; summary = aggregates, memory bounded, percentiles within 1 %.")] = None,
) -> None:
    """Run a scenario and report latency, throughput, availability and SLO verdicts."""
    from .simulation import simulate

    spec = _load(scenario, param, set_)
    with _sim_progress(spec.name) as progress:
        result = simulate(spec, seed, progress=progress, records=records)
    err.print(f"records: {result.records.reason}", style="dim", highlight=False)
    summary = json_safe(result.summary())
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        from .report import summary_renderable

        out.print(summary_renderable(summary))
    err.print(f"simulated {spec.duration:g}s ({result.events:,} events) in {result.wall_time_s:.2f}s wall",
              style="dim", highlight=False)
    if out_dir is not None:
        from .artifacts import write_run

        written = write_run(result, out_dir, svg=svg)
        err.print(f"wrote {len(written)} files to {out_dir} (open {out_dir / 'report.html'})", highlight=False)
    if not all(s["passed"] for s in summary["slos"]):
        raise typer.Exit(Exit.CHECK_FAILED)


@app.command()
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
    replications: Annotated[int, typer.Option("--replications", "-r", min=1, help="Paired runs (same seeds for A and B).")] = 10,
    seed: Annotated[Optional[int], typer.Option(help="Base seed (default: A's).", min=0)] = None,
    as_json: JsonOpt = False,
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write comparison.json/.png/.html here.",
                                                    file_okay=False)] = None,
) -> None:
    """Compare two designs with common random numbers: same seeds, paired differences, 95 % intervals."""
    from .compare import compare as run_compare

    a = _load(scenario_a, [*(param or []), *(param_a or [])], [*(set_ or []), *(set_a or [])])
    b = _load(scenario_b or scenario_a, [*(param or []), *(param_b or [])], [*(set_ or []), *(set_b or [])])
    names = (_design_name(scenario_a, param_a, set_a, "A"), _design_name(scenario_b or scenario_a, param_b, set_b, "B"))
    with _count_progress("comparing", 2 * replications) as advance:
        comparison = run_compare(a, b, replications=replications, seed=seed, names=names, progress=advance)
    rows = comparison.rows()
    if as_json:
        sys.stdout.write(json.dumps(json_safe(comparison.to_dict()), indent=2) + "\n")
    else:
        from .report import comparison_renderable

        out.print(comparison_renderable(comparison.names, rows, replications))
    if out_dir is not None:
        from .artifacts import write_comparison

        written = write_comparison(comparison.first, json_safe(rows), out_dir)
        err.print(f"wrote {len(written)} files to {out_dir}", highlight=False)


@app.command()
def sweep(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", exists=True, dir_okay=False)],
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", metavar="NAME=SPEC",
                                                       help="Values of a declared parameter: 1,2,4 or START:STOP:STEP "
                                                       "or log:START:STOP:COUNT (repeatable; the grid is their "
                                                       "product).")] = None,
    set_: SetOpt = None,
    replications: Annotated[int, typer.Option("--replications", "-r", min=1, help="Runs per point (the same seeds "
                                              "at every point).")] = 5,
    workers: Annotated[Optional[int], typer.Option("--workers", "-w", min=1, help="Local worker processes "
                                                   "(default: one per CPU; 1 = in this process).")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", metavar="ADDRESS", help="Run on a dask cluster: "
                                                     "tcp://HOST:PORT (needs sdsim[distributed]).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Base seed (default: the scenario's).", min=0)] = None,
    as_json: JsonOpt = False,
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write runs.jsonl (as runs finish), runs.csv, "
                                                    "aggregate.csv, sweep.json and charts here.",
                                                    file_okay=False)] = None,
    resume: Annotated[bool, typer.Option("--resume", help="With --out: reuse the runs already in runs.jsonl, run "
                                         "only the missing ones.")] = False,
    retries: Annotated[int, typer.Option("--retries", min=0, help="Resubmissions of a failing run.")] = 2,
) -> None:
    """Sweep parameters: every point of the grid × R replications, in parallel, with 95 % intervals."""
    from .errors import Problem
    from .experiments.grid import parse_grid
    from .experiments.sweep import SweepError, sweep as run_sweep

    if workers is not None and scheduler is not None:
        raise typer.BadParameter("give --workers (local processes) or --scheduler (a cluster), not both",
                                 param_hint="--scheduler")
    if resume and out_dir is None:
        raise typer.BadParameter("--resume needs --out (the folder holding runs.jsonl)", param_hint="--resume")
    try:
        grid = parse_grid(param or [])
    except ValueError as exc:
        _fail_invalid(ScenarioError([Problem("<command line>", None, None, "", str(exc))]))
    total = replications
    for values in grid.values():
        total *= len(values)
    started = time.perf_counter()
    try:
        with _count_progress(f"sweeping {scenario.stem}", total) as advance:
            result = run_sweep(scenario, grid, replications, workers=workers, scheduler=scheduler, seed=seed,
                               sets=set_ or [], out_dir=out_dir, resume=resume, retries=retries, progress=advance)
    except ScenarioError as error:
        _fail_invalid(error)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    except (ImportError, ConnectionError) as exc:  # no distributed package, or no scheduler there
        err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(Exit.USAGE)
    except SweepError as exc:
        err.print(str(exc), markup=False, highlight=False)
        if out_dir is not None:
            err.print(f"finished runs are saved in {out_dir / 'runs.jsonl'}: rerun with --resume", highlight=False)
        raise typer.Exit(Exit.CHECK_FAILED)
    if as_json:
        sys.stdout.write(json.dumps(json_safe(result.to_dict()), indent=2, allow_nan=False) + "\n")
    else:
        from .experiments.report import sweep_renderable

        out.print(sweep_renderable(result))
    reused = f", {result.reused} reused from {out_dir / 'runs.jsonl'}" if result.reused else ""
    err.print(f"{result.executed} runs in {time.perf_counter() - started:.1f}s wall{reused}", style="dim",
              highlight=False)
    if out_dir is not None:  # sweep() wrote runs.jsonl, runs.csv, aggregate.csv and sweep.json
        charts = result.write_charts(out_dir)
        err.print(f"wrote {4 + len(charts)} files to {out_dir}", highlight=False)


SloOpt = Annotated[Optional[list[str]], typer.Option("--slo", metavar="METRIC[.OP]<=VALUE",
                                                     help="Objective, e.g. 'latency_p99<=500ms', 'availability>=0.99', "
                                                     "'component.db.p_wait<=0.2' (repeatable; default: the "
                                                     "scenario's slos).")]


def _planning_objectives(slo: list[str] | None, spec: Any) -> list[Any]:
    """--slo strings parsed (exit 2 on a bad one), else the scenario's SLOs; none at all: exit 2."""
    from .experiments.planning import Objective, parse_slo

    if slo:
        try:
            return [parse_slo(s) for s in slo]
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--slo") from None
    if not spec.slos:
        err.print("no SLO to check: give --slo (e.g. --slo 'latency_p99<=500ms') or add slos: to the scenario",
                  highlight=False)
        raise typer.Exit(Exit.USAGE)
    return [Objective.from_slo(s) for s in spec.slos]


def _planning_call(call: Callable[[], Any]) -> Any:
    """Run a knee/plan search, mapping its errors to exit codes (3 invalid scenario, 2 usage)."""
    from .experiments.sweep import SweepError

    try:
        return call()
    except ScenarioError as error:
        _fail_invalid(error)
    except ValueError as exc:
        err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(Exit.USAGE)
    except SweepError as exc:
        err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(Exit.CHECK_FAILED)


def _checks_cells(checks: list[Any]) -> list[str]:
    """``mean (bound B rel target)`` per check, in the check's unit; ``rel`` is the true relation of
    the judged bound to the target (``≤``/``≥`` met, ``>``/``<`` broken), and bound and target get
    as many digits as it takes to tell them apart."""
    from .units import human_quantity

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


def _verdict(met: bool) -> Any:
    from rich.text import Text

    return Text("meets") if met else Text("breaks", style="red")


@app.command()
def knee(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", exists=True, dir_okay=False)],
    param: Annotated[list[str], typer.Option("--param", "-p", metavar="NAME=LOW:HIGH",
                                             help="The load to bisect (one NAME=LOW:HIGH: a declared parameter or a "
                                             "dotted field path); other --param NAME=VALUE are fixed.")],
    slo: SloOpt = None,
    set_: SetOpt = None,
    replications: Annotated[int, typer.Option("--replications", "-r", min=1, help="Runs per probe (the same seeds "
                                              "at every probe).")] = 5,
    tolerance: Annotated[str, typer.Option("--tolerance", help="Stop when the bracket is this narrow: a number "
                                           "(absolute) or a percentage of the breaking value (relative).")] = "1%",
    workers: Annotated[Optional[int], typer.Option("--workers", "-w", min=1, help="Local worker processes "
                                                   "(default: one per CPU; 1 = in this process).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Base seed (default: the scenario's).", min=0)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Find the load at which an SLO breaks: bisection, each probe judged on its 95 % confidence bound."""
    from .experiments.planning import knee as find_knee, knee_runs, parse_range

    ranges = [p for p in param if ":" in p.partition("=")[2]]
    fixed = [p for p in param if p not in ranges]
    if len(ranges) != 1:
        raise typer.BadParameter("give exactly one --param NAME=LOW:HIGH to bisect", param_hint="--param")
    try:
        name, low, high = parse_range(ranges[0])
        estimate = knee_runs(low, high, tolerance, replications)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--param/--tolerance") from None
    spec = _load(scenario, fixed, set_)
    objectives = _planning_objectives(slo, spec)
    with _count_progress(f"knee of {scenario.stem}", estimate) as advance:
        result = _planning_call(lambda: find_knee(scenario, name, low, high, objectives, replications=replications,
                                                  tolerance=tolerance, params=fixed, sets=set_ or [],
                                                  workers=workers, seed=seed, progress=advance))
    if as_json:
        sys.stdout.write(json.dumps(json_safe(result.to_dict()), indent=2, allow_nan=False) + "\n")
    else:
        from rich.table import Table

        from .units import human_number

        unit = f" {result.unit}" if result.unit else ""
        table = Table(title=f"knee of {result.scenario} along {name} (R={replications}, 95 % bounds)")
        table.add_column(f"{name} ({result.unit})" if unit else name, justify="right")
        for o in result.objectives:
            table.add_column(o.name, justify="right")
        table.add_column("verdict")
        for probe in sorted(result.probes, key=lambda p: p.values[name]):
            table.add_row(human_number(probe.values[name], 6), *_checks_cells(probe.checks), _verdict(probe.met))
        out.print(table)
        if result.found:
            out.print(f"knee: {name} between {human_number(result.last_ok, 6)}{unit} (meets) and "
                      f"{human_number(result.first_broken, 6)}{unit} (breaks {', '.join(result.broken)})",
                      highlight=False)
        else:
            out.print(result.reason, highlight=False)
    if not result.found:
        raise typer.Exit(Exit.CHECK_FAILED)


@app.command()
def plan(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", exists=True, dir_okay=False)],
    knob: Annotated[list[str], typer.Option("--knob", "-k", metavar="NAME=LOW:HIGH",
                                            help="A whole-number knob where more is better: a declared parameter "
                                            "(servers=1:30) or a dotted field path (components.web.replicas=1:64); "
                                            "repeatable.")],
    slo: SloOpt = None,
    param: ParamOpt = None,
    set_: SetOpt = None,
    replications: Annotated[int, typer.Option("--replications", "-r", min=1, help="Runs per configuration (the same "
                                              "seeds for every one).")] = 5,
    workers: Annotated[Optional[int], typer.Option("--workers", "-w", min=1, help="Local worker processes "
                                                   "(default: one per CPU; 1 = in this process).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Base seed (default: the scenario's).", min=0)] = None,
    minimise: Annotated[str, typer.Option("--minimise", help="knobs: the sum of the knob values; dollars: the "
                                          "hourly cost (simulator.cost) with --price.")] = "knobs",
    price: Annotated[Optional[list[str]], typer.Option("--price", metavar="KIND_OR_CLASS=USD", help="USD per "
                                                       "instance-hour of a kind or instance class; repeatable.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Find the cheapest knob values meeting the SLOs (binary search; coordinate descent for several knobs)."""
    from .experiments.planning import parse_knob, plan as find_plan, plan_runs

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
    spec = _load(scenario, param, set_)
    objectives = _planning_objectives(slo, spec)
    with _count_progress(f"planning {scenario.stem}", plan_runs(knobs, replications)) as advance:
        result = _planning_call(lambda: find_plan(scenario, knobs, objectives, replications=replications,
                                                  params=param or [], sets=set_ or [], workers=workers, seed=seed,
                                                  progress=advance, cost="dollars" if minimise == "dollars"
                                                  else None, prices=prices))
    if as_json:
        sys.stdout.write(json.dumps(json_safe(result.to_dict()), indent=2, allow_nan=False) + "\n")
    else:
        from rich.table import Table

        table = Table(title=f"plan for {result.scenario} (R={replications}, 95 % bounds)")
        for name in knobs:
            table.add_column(name, justify="right")
        for o in result.objectives:
            table.add_column(o.name, justify="right")
        table.add_column("verdict")
        for e in result.evaluations:
            table.add_row(*(str(e.values[k]) for k in knobs), *_checks_cells(e.checks), _verdict(e.met))
        out.print(table)
        if result.found:
            chosen = ", ".join(f"{k}={v}" for k, v in result.config.items())
            cost = f"${result.cost:.4g}/h" if minimise == "dollars" else f"cost {result.cost:g}"
            out.print(f"cheapest: {chosen} ({cost}; {result.reason})", highlight=False)
        else:
            out.print(result.reason, highlight=False)
    if not result.found:
        raise typer.Exit(Exit.CHECK_FAILED)


def _warn_unmatched(scenario: Path, names: list[str], run_dir: Path, run_name: Any, measured: list[str]) -> None:
    """Warn on stderr when the run in *run_dir* does not measure (some of) the scenario's components:
    those nodes are drawn grey, which otherwise looks like an idle component."""
    missing = [n for n in names if n not in measured]
    if not missing:
        return
    of_run = f"the run in {run_dir}" + (f" (scenario {run_name!r})" if run_name else "")
    if len(missing) == len(names):
        err.print(f"warning: none of the components of {scenario} ({', '.join(names)}) is in {of_run}, which has "
                  f"{', '.join(measured) or 'no components'}: every node is drawn grey. Was that a run of another "
                  f"scenario? Run this one with --out first.", style="yellow", highlight=False)
    else:
        err.print(f"warning: {len(missing)} of the {len(names)} components of {scenario} are not in {of_run} and are "
                  f"drawn grey: {', '.join(missing)}", style="yellow", highlight=False)


@app.command()
def graph(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", exists=True, dir_okay=False)],
    output: Annotated[Path, typer.Option("--out", "-o", help="Picture to write: .png or .svg.")],
    from_dir: Annotated[Optional[Path], typer.Option("--from", help="A run's --out directory: colour nodes by "
                                                     "utilization from its summary.json.", exists=True,
                                                     file_okay=False)] = None,
    param: ParamOpt = None,
    set_: SetOpt = None,
) -> None:
    """Draw the architecture of a scenario (after a run, coloured by utilization)."""
    if output.suffix.lower() not in (".png", ".svg"):
        raise typer.BadParameter("the picture must end in .png or .svg", param_hint="--out")
    spec = _load(scenario, param, set_)
    utilization = None
    if from_dir is not None:
        try:
            summary = json.loads((from_dir / "summary.json").read_text())
            utilization = {name: c["utilization"] for name, c in summary["components"].items()}
        except (OSError, ValueError, KeyError) as exc:
            err.print(f"{from_dir / 'summary.json'}: cannot read component utilization ({exc})", highlight=False)
            raise typer.Exit(Exit.INVALID)
        _warn_unmatched(scenario, list(spec.components), from_dir, summary.get("scenario"), list(utilization))
    from .viz import plot_topology

    figure = plot_topology(spec, utilization)
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=150, bbox_inches="tight")
    err.print(f"wrote {output}", highlight=False)


@app.command()
def validate(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")],
    param: ParamOpt = None,
    set_: SetOpt = None,
) -> None:
    """Check scenario files: syntax, types, units, references, topology. Every problem at once."""
    from .scenario.load import check_scenario

    failed = 0
    for path in scenarios:
        try:
            spec, warnings = check_scenario(path, params=param or [], sets=set_ or [])
        except ScenarioError as error:
            failed += 1
            for problem in error.problems:
                err.print(str(problem), markup=False, highlight=False)
            continue
        for warning in warnings:
            err.print(f"warning: {warning}", markup=False, highlight=False)
        out.print(f"ok  {path}  ({len(spec.components)} components, {len(spec.workload)} workloads, "
                  f"{len(spec.faults)} faults, {len(spec.slos)} SLOs)", highlight=False)
    if failed:
        err.print(f"{failed} of {len(scenarios)} file{'s' if len(scenarios) != 1 else ''} invalid", style="red")
        raise typer.Exit(Exit.INVALID)


@app.command()
def schema(
    output: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the JSON Schema of scenario files (for editor completion and checks)."""
    from .scenario.schema import scenario_schema_text

    text = scenario_schema_text()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


@app.command()
def reshard(
    scenario: Annotated[Optional[Path], typer.Argument(help="A scenario with a sharded database (optional).",
                                                       exists=True, dir_okay=False)] = None,
    component: Annotated[Optional[str], typer.Option("--component", "-c", help="The sharded database in SCENARIO "
                                                     "(default: the only one).")] = None,
    n_from: Annotated[Optional[int], typer.Option("--from", min=1, help="Shards before (default: the scenario's).")] = None,
    n_to: Annotated[Optional[int], typer.Option("--to", min=1, help="Shards after (default: one more).")] = None,
    keys: Annotated[int, typer.Option("--keys", min=1, max=10_000_000,
                                      help="Key space 0..keys-1 (default: the scenario's).")] = 100_000,
    strategy: Annotated[Optional[list[str]], typer.Option("--strategy", help="Only these strategies (repeatable).")] = None,
    virtual_nodes: Annotated[int, typer.Option("--virtual-nodes", min=1, max=10_000,
                                               help="Ring points per shard (consistent).")] = 100,
    json_: JsonOpt = False,
    param: ParamOpt = None,
    set_: SetOpt = None,
) -> None:
    """How many keys (and how much traffic) move when a sharded store grows or shrinks, per strategy."""
    from .resharding import reshard_report
    from .components.database.spec import DatabaseSpec

    popularity = None
    if scenario is not None:
        spec = _load(scenario, param, set_)
        sharded = {name: c for name, c in spec.components.items() if isinstance(c, DatabaseSpec) and c.sharding}
        if component is None and len(sharded) == 1:
            component = next(iter(sharded))
        if component not in sharded:
            err.print(f"{scenario}: no sharded database {component!r} (sharded: {', '.join(sharded) or 'none'}); "
                      "use --component", highlight=False)
            raise typer.Exit(Exit.USAGE)
        db = sharded[component]
        n_from = n_from or db.sharding.shards
        virtual_nodes = db.sharding.virtual_nodes
        strategy = strategy or [db.sharding.strategy]
        zipf = [w.keys for w in spec.workload if w.keys is not None]
        if zipf:
            key_spec = max(zipf, key=lambda k: k.n)
            keys = key_spec.n
            s = getattr(key_spec, "s", 0.0)
            popularity = [1.0 / (i + 1) ** s for i in range(keys)]
    if n_from is None:
        raise typer.BadParameter("give --from (or a scenario with a sharded database)", param_hint="--from")
    n_to = n_to or n_from + 1
    try:
        rows = reshard_report(n_from, n_to, keys, strategy, popularity, virtual_nodes)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--strategy")
    if json_:
        sys.stdout.write(json.dumps({"from": n_from, "to": n_to, "keys": keys, "rows": rows}, indent=2) + "\n")
        return
    from rich.table import Table

    table = Table(title=f"resharding {n_from} → {n_to} shards over {keys:,} keys", title_justify="left")
    for col in ("strategy", "keys moved", "traffic moved", "ideal (consistent)", "exact (mod N)"):
        table.add_column(col, justify="left" if col == "strategy" else "right")
    pct = lambda v: "–" if v is None else f"{100 * v:.2f}%"
    for row in rows:
        table.add_row(row["strategy"], pct(row["keys_moved"]), pct(row.get("traffic_moved")), pct(row["ideal"]),
                      pct(row.get("exact")))
    out.print(table)


labs_app = typer.Typer(no_args_is_help=True, help="Course labs: list them, start one.")
app.add_typer(labs_app, name="labs")


@labs_app.command("list")
def labs_list() -> None:
    """List the labs that can be started and graded."""
    from .labs import list_labs

    try:
        labs = list_labs()
    except ScenarioError as error:
        _fail_invalid(error)
    if not labs:
        err.print("no labs found (this sdsim ships none? set SDSIM_LABS to a folder of labs)", markup=False)
        return
    for _folder, lab in labs:
        out.print(f"{lab.name:28} {lab.title}  ({lab.total_points:g} points)", markup=False, highlight=False)


@labs_app.command("start")
def labs_start(
    lab: Annotated[str, typer.Argument(help="Lab name, e.g. lab1-decomposition.")],
    directory: Annotated[Path, typer.Argument(help="Where to put your copy of the starter (must be new or empty).")],
) -> None:
    """Copy a lab's starter files, its README and the reference sheets into DIRECTORY."""
    import shutil

    from .labs import find_lab, reference_sheets

    try:
        folder = find_lab(lab)
    except ScenarioError as error:
        _fail_invalid(error)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise typer.BadParameter(f"{directory} is not an empty folder", param_hint="DIRECTORY")
    shutil.copytree(folder / "starter", directory, dirs_exist_ok=True)
    if (folder / "README.md").is_file():
        shutil.copy(folder / "README.md", directory / "README.md")
    sheets = reference_sheets()
    if sheets:
        (directory / "reference").mkdir(exist_ok=True)
        for sheet in sheets:
            shutil.copy(sheet, directory / "reference" / sheet.name)
    out.print(f"started {folder.name} in {directory}: read {directory / 'README.md'}, edit the files there, then run",
              markup=False, highlight=False)
    out.print(f"  sdsim grade {folder.name} {directory}", markup=False, highlight=False)


@app.command()
def grade(
    lab: Annotated[str, typer.Argument(help="Lab name (or an instructor's lab folder).")],
    submission: Annotated[Path, typer.Argument(help="Folder with your files (default: here).", file_okay=False)] = Path("."),
    as_json: JsonOpt = False,
    junit: Annotated[Optional[Path], typer.Option("--junit", help="Also write a JUnit XML report here.",
                                                  dir_okay=False)] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1,
                                                   help="Processes for the replications (default: one per run, at most 4 per core).")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", metavar="ADDRESS", help="Run the replications on "
                                                     "a dask cluster: tcp://HOST:PORT.")] = None,
) -> None:
    """Grade a lab submission: exit 0 when every required check passes, 1 otherwise, 3 if it cannot be graded."""
    from .labs import grade_submission

    if err.is_terminal:
        err.print(f"grading {submission} against {lab}…", markup=False, highlight=False)
    try:
        report = grade_submission(lab, submission, workers=workers, scheduler=scheduler)
    except ScenarioError as error:
        _fail_invalid(error)
    if as_json:
        sys.stdout.write(json.dumps(json_safe(report.to_dict()), indent=2) + "\n")
    else:
        from .report import grade_renderable

        out.print(grade_renderable(report))
    if junit is not None:
        from .labs.junit import write_junit

        write_junit(report, junit)
    if report.malformed:
        for problem in report.problems:
            err.print(problem, markup=False, highlight=False)
        raise typer.Exit(Exit.INVALID)
    if not report.passed:
        raise typer.Exit(Exit.CHECK_FAILED)


DOC_SHEETS = {"golden": "closed-form and published results (cited as golden §3, golden G3.4)",
              "typical-numbers": "sourced latencies, service times and prices (cited as Typical numbers §10.2)"}


@app.command()
def docs(
    name: Annotated[Optional[str], typer.Argument(help="golden or typical-numbers (none: list them).")] = None,
    path: Annotated[bool, typer.Option("--path", help="Print where the sheet is installed instead.")] = False,
) -> None:
    """Print a reference sheet the scenarios and labs cite (plain markdown on stdout)."""
    from importlib.resources import files

    if name is None:
        sys.stdout.write("".join(f"{key:16} {about}\n" for key, about in DOC_SHEETS.items()))
        return
    if name not in DOC_SHEETS:
        err.print(f"unknown sheet {name!r}; valid names: {', '.join(DOC_SHEETS)}", markup=False, highlight=False)
        raise typer.Exit(Exit.USAGE)
    sheet = files("simulator") / "docs" / f"{name}.md"
    sys.stdout.write(f"{sheet}\n" if path else sheet.read_text(encoding="utf-8"))


@app.callback(invoke_without_command=True)
def _root(version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
          debug: Annotated[bool, typer.Option("--debug", help="On an internal error (exit 4), show its traceback.")] = False,
          ) -> None:
    _debug["on"] = _debug["on"] or debug
    if version:
        from . import __version__

        out.print(f"sdsim {__version__}")
        raise typer.Exit()


def main() -> None:
    """Console-script entry point: exit codes keep their meaning whatever goes wrong.

    An unexpected exception is a bug, not a verdict: one line on stderr saying so, with
    what to report, and exit 4 (the traceback with ``--debug`` or ``SDSIM_DEBUG=1``).
    Ctrl-C exits 130 without a traceback.
    """
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted", markup=False, highlight=False)
        sys.exit(Exit.INTERRUPTED)
    except SimulationStalled as exc:  # the scenario's fault, found while running it
        err.print(f"invalid scenario: {exc}", markup=False, highlight=False)
        sys.exit(Exit.INVALID)
    except Exception as exc:  # noqa: BLE001 - the edge: anything not already a message is a bug
        if _debug["on"]:
            raise
        command = " ".join(["sdsim", *sys.argv[1:]])
        err.print(f"sdsim: internal error ({type(exc).__name__}: {_one_line(exc)}). This is a bug in sdsim, not a "
                  f"problem with your input: please report it with the command ({command}), the scenario file(s) "
                  "it names and their seed. Add --debug for the traceback.", markup=False, highlight=False)
        sys.exit(Exit.BUG)


def _one_line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "…"


if __name__ == "__main__":
    main()
