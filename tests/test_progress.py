"""Progress goes to stderr, only on a terminal; it never touches stdout or the results."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from simulator import cli, load_scenario, simulate

MMC = str(Path(__file__).resolve().parents[1] / "scenarios/theory/mmc.yaml")


def test_progress_does_not_change_results():
    scenario = load_scenario(MMC, sets=["duration=300s", "warmup=30s"])
    calls = []
    with_progress = simulate(scenario, progress=lambda now, duration, events: calls.append((now, events)))
    assert with_progress.summary() == simulate(scenario).summary()
    assert len(calls) >= 100 and calls[-1][0] >= 300
    assert all(b[1] >= a[1] for a, b in zip(calls, calls[1:]))  # events only grow


def test_no_progress_when_stderr_is_not_a_terminal():
    result = CliRunner().invoke(cli.app, ["run", MMC, "--json", "--set", "duration=300s", "--set", "warmup=30s"])
    assert "events/s" not in result.stderr and "events/s" not in result.stdout
    json.loads(result.stdout)


def test_progress_bar_on_a_terminal_stays_on_stderr(monkeypatch):
    buffer = io.StringIO()
    monkeypatch.setattr(cli.console, "err", Console(file=buffer, force_terminal=True, width=120))
    result = CliRunner().invoke(cli.app, ["run", MMC, "--json", "--set", "duration=2000s"])
    assert result.exit_code == 0
    json.loads(result.stdout)  # stdout is still exactly one JSON document
    assert "events/s" in buffer.getvalue() or "sim " in buffer.getvalue()
