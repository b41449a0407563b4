"""Comparing designs: common random numbers, paired differences, honest significance."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from simulator import load_scenario
from simulator.cli import app
from simulator.compare import compare
from simulator.core.rng import replication_seeds
from simulator.stats import mean_interval, paired_difference, t_quantile_975

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios/theory/mmc.yaml"
SHORT = ["duration=400s", "warmup=40s"]


def test_t_quantiles_match_the_table_values():
    assert t_quantile_975(1) == 12.706 and t_quantile_975(9) == 2.262 and t_quantile_975(30) == 2.042
    assert 2.021 < t_quantile_975(35) < 2.042
    assert abs(t_quantile_975(1000) - 1.9623) < 5e-4  # exact 1.96234


def test_mean_interval_by_hand():
    """[1, 2, 3, 4]: mean 2.5, s = 1.2910, SE = 0.6455, t(3) = 3.182 → half-width 2.054."""
    ci = mean_interval([1, 2, 3, 4])
    assert ci.mean == 2.5 and abs(ci.se - 0.645497) < 1e-6
    assert abs(ci.high - ci.low - 2 * 3.182 * 0.645497) < 1e-5


def test_paired_difference_removes_shared_noise():
    a = [10.0, 20.0, 30.0, 40.0]
    b = [11.0, 21.1, 30.9, 41.0]
    diff = paired_difference(a, b)
    assert abs(diff.mean - 1.0) < 1e-12 and diff.excludes(0.0)
    assert not mean_interval(b).excludes(mean_interval(a).mean)  # unpaired, the noise hides it


def test_replication_seeds_are_reproducible_and_distinct():
    seeds = replication_seeds(42, 20)
    assert seeds == replication_seeds(42, 20) and seeds[0] == 42 and len(set(seeds)) == 20
    assert replication_seeds(42, 5) == seeds[:5]


def test_identical_designs_show_no_difference_at_all():
    """Same design, same seeds: every paired difference is exactly zero (common random numbers)."""
    a = load_scenario(MMC, sets=SHORT)
    rows = compare(a, a, replications=3).rows()
    assert all(r["diff"] == 0.0 and not r["significant"] for r in rows)


def test_an_extra_server_significantly_cuts_latency():
    a = load_scenario(MMC, sets=SHORT)
    b = load_scenario(MMC, params=["servers=12"], sets=SHORT)
    rows = {r["metric"]: r for r in compare(a, b, replications=6).rows()}
    mean = rows["latency_mean_s"]
    assert mean["significant"] and mean["ci_high"] < 0 and mean["b"] < mean["a"]
    assert not rows["throughput_rps"]["significant"] or abs(rows["throughput_rps"]["diff"]) < 0.05


def test_compare_cli_json(tmp_path):
    result = CliRunner().invoke(app, ["compare", str(MMC), "--param-b", "servers=12", "-r", "3", "--json",
                                      *[x for s in SHORT for x in ("--set", s)]])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["a"] == "mmc" and doc["b"] == "mmc (servers=12)" and len(doc["seeds"]) == 3
    metrics = {r["metric"] for r in doc["rows"]}
    assert {"throughput_rps", "availability", "latency_p99_s"} <= metrics
    assert all({"a", "b", "diff", "ci_low", "ci_high", "significant"} <= r.keys() for r in doc["rows"])


def test_compare_cli_table_and_invalid_input(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["compare", str(MMC), "--param-b", "servers=12", "-r", "2",
                                 *[x for s in SHORT for x in ("--set", s)]])
    assert result.exit_code == 0 and "significant" in result.stdout and "latency_p99_s" in result.stdout
    bad = runner.invoke(app, ["compare", str(MMC), "--param-b", "servers=zero"])
    assert bad.exit_code == 3 and "components.station.workers" in bad.stderr
