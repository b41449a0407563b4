"""What several commands share: their options, loading a scenario, checking an output path early."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

__all__ = ["MAX_REPLICATIONS", "JsonOpt", "ParamOpt", "SetOpt", "SloOpt", "design_name", "load", "writable"]

MAX_REPLICATIONS = 10_000
"""The most replications ``-r`` takes (compare, sweep, knee, plan): their seeds are drawn up front."""

ParamOpt = Annotated[Optional[list[str]], typer.Option("--param", "-p", metavar="NAME=VALUE",
                                                       help="Override a declared parameter (repeatable).")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", "-s", metavar="PATH=VALUE",
                                                     help="Override any field, e.g. components.web.workers=8 (repeatable).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]
SloOpt = Annotated[Optional[list[str]], typer.Option("--slo", metavar="METRIC[.OP]<=VALUE",
                                                     help="Objective, e.g. 'latency_p99<=500ms', 'availability>=0.99', "
                                                     "'component.db.p_wait<=0.2' (repeatable; default: the "
                                                     "scenario's slos).")]


def load(path: Path, params: list[str] | None, sets: list[str] | None):
    """The scenario at *path* with its overrides (a bad one raises ``ScenarioError``: exit 3 at the edge)."""
    from ..scenario.load import load_scenario

    return load_scenario(path, params=params or [], sets=sets or [])


def design_name(path: Path, params: list[str] | None, sets: list[str] | None, fallback: str) -> str:
    """``mmc (servers=11)``: the file's stem and the overrides that tell a design apart."""
    tweaks = [*(params or []), *(sets or [])]
    return f"{path.stem} ({', '.join(tweaks)})" if tweaks else path.stem or fallback


def writable(path: Optional[os.PathLike[str]], *, folder: bool = True) -> None:
    """Check an output path before any work (``OutputPathError``: exit 3 at the edge); None passes.

    Output options are plain paths (``metavar="<dir>"``, not click's ``file_okay=False``), so a
    path that cannot be written is refused here in one line, exit 3, not by click (exit 2)."""
    if path is not None:
        from ..artifacts.folders import check_output

        check_output(path, folder=folder)
