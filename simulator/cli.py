"""The ``sdsim`` command line (typer). Commands are thin: load, call the package, print.

Results go to stdout (a table, or with ``--json`` one JSON document and nothing else);
diagnostics go to stderr. Exit codes: 0 ok, 1 an SLO failed, 2 usage error (click's
own), 3 invalid scenario.
"""

from __future__ import annotations

import json
import math
import sys
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from .errors import ScenarioError

app = typer.Typer(no_args_is_help=True, rich_markup_mode="rich", pretty_exceptions_show_locals=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="sdsim — simulate system designs, measure latency, throughput and availability.")
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)  # piped tables are not truncated
err = Console(stderr=True, soft_wrap=True)


class Exit(IntEnum):
    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
    INVALID = 3


ParamOpt = Annotated[Optional[list[str]], typer.Option("--param", "-p", metavar="NAME=VALUE",
                                                       help="Override a declared parameter (repeatable).")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", "-s", metavar="PATH=VALUE",
                                                     help="Override any field, e.g. components.web.workers=8 (repeatable).")]


def _fail_invalid(error: ScenarioError) -> None:
    for problem in error.problems:
        err.print(str(problem), markup=False, highlight=False)
    n = len(error.problems)
    err.print(f"[red]{n} problem{'s' if n != 1 else ''} found[/red]")
    raise typer.Exit(Exit.INVALID)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.", exists=True, dir_okay=False)],
    seed: Annotated[Optional[int], typer.Option(help="Random seed (default: the scenario's).", min=0)] = None,
    param: ParamOpt = None,
    set_: SetOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout, nothing else.")] = False,
) -> None:
    """Run a scenario and report latency, throughput, availability and SLO verdicts."""
    from .engine.run import simulate
    from .scenario.load import load_scenario

    try:
        spec = load_scenario(scenario, params=param or [], sets=set_ or [])
    except ScenarioError as error:
        _fail_invalid(error)
    result = simulate(spec, seed)
    summary = _json_safe(result.summary())
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        from .report import summary_renderable

        out.print(summary_renderable(summary))
        err.print(f"simulated {spec.duration:g}s in {result.wall_time_s:.2f}s wall", style="dim")
    if not all(s["passed"] for s in summary["slos"]):
        raise typer.Exit(Exit.CHECK_FAILED)


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
        err.print(f"[red]{failed} of {len(scenarios)} file{'s' if len(scenarios) != 1 else ''} invalid[/red]")
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


@app.callback(invoke_without_command=True)
def _root(version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False) -> None:
    if version:
        from . import __version__

        out.print(f"sdsim {__version__}")
        raise typer.Exit()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
