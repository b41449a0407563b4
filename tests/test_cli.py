"""The ``sdsim`` command line: results on stdout, diagnostics on stderr, documented exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app

ROOT = Path(__file__).resolve().parents[1]
MMC = str(ROOT / "scenarios/theory/mmc.yaml")
SHORT = ["--set", "duration=300s", "--set", "warmup=30s"]

CONTRACT_LATENCY = {"mean", "p50", "p90", "p95", "p99", "p999", "max"}


@pytest.fixture
def runner():
    return CliRunner()


def test_run_json_is_the_contract_and_nothing_else(runner):
    result = runner.invoke(app, ["run", MMC, "--seed", "7", "--json", *SHORT])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"scenario", "seed", "duration_s", "requests", "latency_s", "throughput_rps", "goodput_rps",
            "availability", "operations", "components", "slos"} <= doc.keys()
    assert doc["seed"] == 7 and doc["scenario"] == "mmc"
    assert set(doc["requests"]) == {"issued", "ok", "error", "timeout", "rejected"}
    assert set(doc["latency_s"]) == CONTRACT_LATENCY
    op = doc["operations"]["serve"]
    assert {"issued", "ok", "availability", "latency_s"} <= op.keys() and set(op["latency_s"]) == CONTRACT_LATENCY
    comp = doc["components"]["station"]
    assert {"kind", "utilization", "p_wait", "wait_s", "queue_len_mean", "served", "rejected"} <= comp.keys()
    assert set(comp["wait_s"]) == {"mean", "p99"}
    assert all({"name", "passed", "value", "target"} <= s.keys() for s in doc["slos"])


def test_params_change_the_run(runner):
    result = runner.invoke(app, ["run", MMC, "--param", "arrival_rate=14", "--param", "servers=8", "--json",
                                 "--set", "duration=200s", "--set", "warmup=0s"])
    doc = json.loads(result.stdout)
    assert doc["components"]["station"]["capacity"] == 8
    assert doc["throughput_rps"] == pytest.approx(8.0, rel=0.05)  # overloaded: 8 servers at 1/s each
    assert result.exit_code == 1  # the mean-sojourn SLO fails under overload


def test_run_table_goes_to_stdout(runner):
    result = runner.invoke(app, ["run", MMC, *SHORT, "--param", "slo_mean_latency=60"])
    assert result.exit_code == 0
    assert "station" in result.stdout and "p99" in result.stdout
    assert "wall" in result.stderr and "wall" not in result.stdout


def test_invalid_scenario_exits_3_with_located_problems(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(MMC).read_text().replace("workers: \"${servers}\"", "workers: many"))
    result = runner.invoke(app, ["run", str(bad), "--json"])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert f"{bad}:" in result.stderr and "components.station.workers" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_error_is_click_s_2(runner):
    assert runner.invoke(app, ["run"]).exit_code == 2
    assert runner.invoke(app, ["run", "missing.yaml"]).exit_code == 2


def test_validate(runner, tmp_path):
    files = sorted(str(p) for p in (ROOT / "scenarios").rglob("*.yaml"))
    result = runner.invoke(app, ["validate", *files])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("ok  ") == len(files)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n")
    result = runner.invoke(app, ["validate", files[0], str(bad)])
    assert result.exit_code == 3 and "required field 'duration' is missing" in result.stderr


def test_unknown_param_on_the_command_line_exits_3(runner):
    result = runner.invoke(app, ["run", MMC, "--param", "arrivals=3"])
    assert result.exit_code == 3 and "unknown parameter 'arrivals'" in result.stderr


def test_schema_command(runner):
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"] == "Scenario"


def test_run_out_writes_the_report_and_graph_colours_from_it(runner, tmp_path):
    out_dir = tmp_path / "run"
    result = runner.invoke(app, ["run", MMC, *SHORT, "--param", "slo_mean_latency=60", "--out", str(out_dir), "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary == json.loads(result.stdout)
    for name in ("report.html", "latency.png", "throughput.png", "components.png", "distribution.png"):
        assert (out_dir / name).stat().st_size > 10_000, name
    assert any((out_dir / f"requests.{ext}").exists() for ext in ("csv", "parquet"))
    picture = tmp_path / "arch.svg"
    result = runner.invoke(app, ["graph", MMC, "--from", str(out_dir), "--out", str(picture)])
    assert result.exit_code == 0, result.stderr
    svg = picture.read_text()
    assert "station" in svg and "utilization" in svg


def test_graph_needs_a_picture_suffix(runner, tmp_path):
    result = runner.invoke(app, ["graph", MMC, "--out", str(tmp_path / "x.txt")])
    assert result.exit_code == 2
    png = tmp_path / "x.png"
    assert runner.invoke(app, ["graph", MMC, "--out", str(png)]).exit_code == 0 and png.stat().st_size > 10_000
