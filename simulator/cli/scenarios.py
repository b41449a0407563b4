"""Commands on one scenario: ``run`` it, ``validate`` it, draw its ``graph``."""

# No postponed annotations here: typer reads every command's signature at each start, and would
# evaluate string annotations twice (10 ms of `sdsim --help`; simulator/cli/startup.py).

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer

from ..errors import ScenarioError
from ..jsonsafe import json_safe
from . import console, startup
from .edge import Exit
from .options import JsonOpt, ParamOpt, SetOpt, load, writable

__all__ = ["graph", "run", "validate"]


def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", exists=True, dir_okay=False)],
    seed: Annotated[Optional[int], typer.Option(help="Random seed (default: the scenario's).", min=0)] = None,
    param: ParamOpt = None,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write summary.json, tables, charts and "
                                                    "report.html into this directory.", metavar="<dir>")] = None,
    svg: Annotated[bool, typer.Option("--svg", help="With --out, also write SVG charts.")] = False,
    records: Annotated[Optional[Literal["full", "summary", "auto"]], typer.Option(
        "--records", help="What the run keeps (default: the scenario's `records`, auto): full = every request "
                          "and visit; summary = aggregates, memory bounded, percentiles within 1 %.")] = None,
    openmetrics: Annotated[Optional[Path], typer.Option(
        "--openmetrics", help="Write the scraped series as OpenMetrics text to this file (the scenario's "
                              "`monitoring:` settings, or their defaults).", metavar="<file>")] = None,
) -> None:
    """Run a scenario and report latency, throughput, availability and SLO verdicts."""
    from ..simulation import simulate

    writable(out_dir)
    writable(openmetrics, folder=False)
    spec = load(scenario, param, set_)
    with console.sim_progress(spec.name) as progress:
        result = simulate(spec, seed, progress=progress, records=records)
    console.err.print(f"records: {result.records.reason}", style="dim", highlight=False)
    summary = json_safe(result.summary())
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        from ..report import summary_renderable

        console.out.print(summary_renderable(summary))
    console.err.print(f"simulated {spec.duration:g}s ({result.events:,} events) in {result.wall_time_s:.2f}s wall",
                      style="dim", highlight=False)
    if out_dir is not None:
        from ..artifacts import write_run

        written = write_run(result, out_dir, svg=svg)
        console.err.print(f"wrote {len(written)} files to {out_dir} (open {out_dir / 'report.html'})", highlight=False)
    if openmetrics is not None:
        scraped = result.scrape()
        scraped.write_openmetrics(openmetrics)
        left_out = f"; left out (need full records): {', '.join(scraped.missing)}" if scraped.missing else ""
        console.err.print(f"wrote {openmetrics} ({scraped.times.size} scrapes{left_out})", highlight=False)
    if not all(s["passed"] for s in summary["slos"]):
        raise typer.Exit(Exit.CHECK_FAILED)


def validate(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")],
    param: ParamOpt = None,
    set_: SetOpt = None,
) -> None:
    """Check scenario files: syntax, types, units, references, topology. Every problem at once."""
    with startup.paused():  # loading the scenario layer builds its models: nothing for the collector to free
        from ..scenario.load import check_scenario

    failed = 0
    for i, path in enumerate(scenarios):
        try:
            with startup.paused() if i == 0 else nullcontext():  # so does the first file (the kinds' models)
                spec, warnings = check_scenario(path, params=param or [], sets=set_ or [])
        except ScenarioError as error:  # every file is checked: its problems, then the next file
            failed += 1
            for problem in error.problems:
                console.err.print(str(problem), markup=False, highlight=False)
            continue
        for warning in warnings:
            console.err.print(f"warning: {warning}", markup=False, highlight=False)
        console.out.print(f"ok  {path}  ({len(spec.components)} components, {len(spec.workload)} workloads, "
                          f"{len(spec.faults)} faults, {len(spec.slos)} SLOs)", highlight=False)
    if failed:
        console.err.print(f"{failed} of {len(scenarios)} file{'s' if len(scenarios) != 1 else ''} invalid",
                          style="red")
        raise typer.Exit(Exit.INVALID)


def _warn_unmatched(scenario: Path, names: list[str], run_dir: Path, run_name: Any, measured: list[str]) -> None:
    """Warn on stderr when the run in *run_dir* does not measure (some of) the scenario's components:
    those nodes are drawn grey, which otherwise looks like an idle component."""
    missing = [n for n in names if n not in measured]
    if not missing:
        return
    of_run = f"the run in {run_dir}" + (f" (scenario {run_name!r})" if run_name else "")
    if len(missing) == len(names):
        console.err.print(f"warning: none of the components of {scenario} ({', '.join(names)}) is in {of_run}, "
                          f"which has {', '.join(measured) or 'no components'}: every node is drawn grey. Was that "
                          "a run of another scenario? Run this one with --out first.", style="yellow",
                          highlight=False)
    else:
        console.err.print(f"warning: {len(missing)} of the {len(names)} components of {scenario} are not in {of_run} "
                          f"and are drawn grey: {', '.join(missing)}", style="yellow", highlight=False)


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
    suffix = output.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise typer.BadParameter("the picture must end in .png or .svg", param_hint="--out")
    writable(output, folder=False)
    spec = load(scenario, param, set_)
    utilization = None
    if from_dir is not None:
        try:
            summary = json.loads((from_dir / "summary.json").read_text())
            utilization = {name: c["utilization"] for name, c in summary["components"].items()}
            if not all(u is None or (isinstance(u, (int, float)) and not isinstance(u, bool))
                       for u in utilization.values()):
                raise ValueError("a utilization that is not a number")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            console.err.print(f"{from_dir / 'summary.json'}: cannot read component utilization ({exc})",
                              highlight=False)
            raise typer.Exit(Exit.INVALID)
        _warn_unmatched(scenario, list(spec.components), from_dir, summary.get("scenario"), list(utilization))
    from ..artifacts.files import atomic
    from ..viz import plot_topology

    figure = plot_topology(spec, utilization)
    output.parent.mkdir(parents=True, exist_ok=True)
    atomic(output, lambda tmp: figure.savefig(tmp, format=suffix[1:], dpi=150, bbox_inches="tight"))
    console.err.print(f"wrote {output}", highlight=False)
