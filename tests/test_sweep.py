"""Parameter sweeps: grids, reproducible seeds, identical results on any executor, resume and retries.

Runs are kept short (200 s of simulated time on the M/M/1 and M/M/c theory scenarios) so the
whole file stays within a few tens of seconds; the dask test starts a real local cluster
and is marked ``slow``.
"""

from __future__ import annotations

import importlib
import json
import math
import multiprocessing
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator import ScenarioError
from simulator.cli import app
from simulator.core.rng import replication_seeds
from simulator.experiments import SerialExecutor, SweepError, make_executor, parse_grid, parse_values, points, sweep
from simulator.experiments.grid import format_value
from simulator.experiments.sweep import read_records
from simulator.stats import t_quantile_975

ROOT = Path(__file__).resolve().parents[1]
MM1 = ROOT / "scenarios/theory/mm1.yaml"
MMC = ROOT / "scenarios/theory/mmc.yaml"
SHORT = ["duration=200s", "warmup=20s"]
GRID = {"servers": [10, 12], "arrival_rate": [8, 9]}
sweep_module = importlib.import_module("simulator.experiments.sweep")  # the module (the package exports the function)


def deterministic(records):
    """Records without the one column that measures the machine (wall-clock time)."""
    return [{k: v for k, v in r.items() if k != "wall_time_s"} for r in records]


class CountingExecutor(Executor):
    """Forwards to *inner* and remembers every submitted RunSpec (each submit is one execution)."""

    def __init__(self, inner: Executor | None = None):
        self.inner = inner or SerialExecutor()
        self.submitted = []

    def submit(self, fn, /, *args, **kwargs):
        self.submitted.append(args[0])
        return self.inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait=True, *, cancel_futures=False):
        self.inner.shutdown(wait, cancel_futures=cancel_futures)


class FlakyExecutor(CountingExecutor):
    """Fails the first attempt of the run with key *fail_key* (as if its worker had died), or every
    attempt with ``always=True``."""

    def __init__(self, fail_key: str, always: bool = False):
        super().__init__()
        self.fail_key, self.always, self.failed = fail_key, always, 0

    def submit(self, fn, /, *args, **kwargs):
        spec = args[0]
        if spec.key == self.fail_key and (self.always or not self.failed):
            self.submitted.append(spec)
            self.failed += 1
            future = Future()
            future.set_exception(BrokenProcessPool("worker died (injected)"))
            return future
        return super().submit(fn, *args, **kwargs)


# ----------------------------------------------------------------------------- grids


def test_value_specs_lists_ranges_and_log_ranges():
    """Lists read items as YAML scalars (commas inside parentheses do not split); a range includes its
    end when a step lands on it and stays integer when START, STOP and STEP are; float ranges are
    rounded to 12 significant digits; log ranges are geometric, rounded to 6 digits, integer where whole."""
    assert parse_values("1,2,4") == [1, 2, 4]
    assert parse_values("exp(5ms),lognormal(median=2ms, p99=10ms)") == ["exp(5ms)", "lognormal(median=2ms, p99=10ms)"]
    assert parse_values("8") == [8]
    assert parse_values("100:2000:100") == list(range(100, 2001, 100))
    assert all(type(v) is int for v in parse_values("100:2000:100"))
    assert parse_values("100:1950:100")[-1] == 1900
    assert parse_values("10:1:-3") == [10, 7, 4, 1]
    assert parse_values("0.1:0.3:0.1") == [0.1, 0.2, 0.3]
    assert parse_values("log:1:1000:7") == [1, 3.16228, 10, 31.6228, 100, 316.228, 1000]
    assert parse_values("log:1:64:7") == [1, 2, 4, 8, 16, 32, 64]


@pytest.mark.parametrize("spec, message", [
    ("", "no values given"),
    ("1,,2", "empty value"),
    ("1:10", "START:STOP:STEP"),
    ("1:10:0", "must not be 0"),
    ("10:1:1", "use a negative step"),
    ("1:x:1", "'x' is not a number"),
    ("log:0:10:3", "greater than 0"),
    ("log:1:10:1", "at least 2"),
    ("1,10:20:5", "cannot be mixed"),
    ("1,1.0", "repeated"),
    ("0:1e9:1", "at most"),
])
def test_bad_specs_say_what_was_expected(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_values(spec)


def test_grid_is_the_ordered_cartesian_product():
    """The first --param varies slowest; a name given twice is an error; no parameters is one point."""
    grid = parse_grid(["servers=8,10", "arrival_rate=1:3:1"])
    assert list(grid) == ["servers", "arrival_rate"]
    assert points(grid) == [{"servers": s, "arrival_rate": a} for s in (8, 10) for a in (1, 2, 3)]
    assert points({}) == [{}]
    with pytest.raises(ValueError, match="given twice"):
        parse_grid(["servers=8", "servers=10"])
    with pytest.raises(ValueError, match="--param servers:.*START:STOP:STEP"):
        parse_grid(["servers=8:10"])
    with pytest.raises(ValueError, match="expected NAME=SPEC"):
        parse_grid(["servers"])


@pytest.mark.parametrize("value", [8, 0.1, 1e-05, 1e20, 3.16228, "20/s", "8", True, "yes"])
def test_values_are_passed_to_the_scenario_exactly(value):
    """What a point holds is what the scenario gets: same type, same float bits (YAML reads ``1e-05``
    as text, so it is written ``1.0e-05``; the text ``"8"`` is quoted)."""
    from simulator.scenario.params import parse_assignment

    back = parse_assignment(f"x={format_value(value)}", "--param")[1]
    assert back == value and type(back) is type(value)


# ----------------------------------------------------------------------------- runs


def test_a_run_spec_pickles_and_its_key_names_what_is_simulated():
    """The key hashes the resolved design, parameters, overrides, seed and replication — not the
    path or the point's position in the grid (so a moved folder or a reshaped grid still resumes)."""
    import dataclasses
    import pickle

    from simulator.experiments import RunSpec

    spec = RunSpec(str(MMC), (("servers", 10),), tuple(SHORT), 7, 0, 0, design="abc")
    assert pickle.loads(pickle.dumps(spec)) == spec and pickle.loads(pickle.dumps(spec)).key == spec.key
    assert dataclasses.replace(spec, scenario="elsewhere/mmc.yaml", point=5).key == spec.key
    for change in ({"seed": 8}, {"replication": 1}, {"params": (("servers", 11),)}, {"design": "abd"},
                   {"sets": ()}):
        assert dataclasses.replace(spec, **change).key != spec.key


def test_a_failing_run_reports_a_readable_error_from_any_worker():
    """run_one turns an invalid point into a RuntimeError whose text survives pickling (it crosses
    process and machine boundaries)."""
    import pickle

    from simulator.experiments import RunSpec, run_one

    with pytest.raises(RuntimeError) as caught:
        run_one(RunSpec(str(MMC), (("servers", 0),), tuple(SHORT), 1, 0, 0))
    message = str(pickle.loads(pickle.dumps(caught.value)))
    assert "invalid on this worker" in message and "0 is outside the declared range [1, 40]" in message


# ----------------------------------------------------------------------------- determinism


@pytest.fixture(scope="module")
def baseline():
    """The reference: the mmc grid run serially in this process."""
    return sweep(MMC, GRID, 3, workers=1, sets=SHORT)


def test_a_sweep_has_one_row_per_run_and_one_aggregate_row_per_point(baseline, tmp_path):
    """runs: P × R rows sorted by (point, replication) with the point's parameters; aggregate: one row per
    point with n and mean/ci_low/ci_high of every metric (the mean is the mean of the runs)."""
    runs = baseline.runs
    assert len(runs) == 4 * 3
    assert list(zip(runs["point"], runs["replication"])) == [(p, r) for p in range(4) for r in range(3)]
    assert {"servers", "arrival_rate", "seed", "throughput_rps", "availability", "latency_p99", "latency_p999",
            "op.serve.availability", "op.serve.latency_p99", "component.station.utilization",
            "component.station.p_wait", "component.station.wait_mean", "slo.mean sojourn.value",
            "slo.mean sojourn.passed", "wall_time_s"} <= set(runs.columns)
    agg = baseline.aggregate()
    assert len(agg) == 4 and list(agg["n"]) == [3] * 4
    assert agg.loc[0, ["servers", "arrival_rate"]].tolist() == [10, 8]
    first = runs[runs["point"] == 0]["latency_p99"]
    assert agg.loc[0, "latency_p99.mean"] == pytest.approx(first.mean())
    assert agg.loc[0, "latency_p99.ci_low"] < agg.loc[0, "latency_p99.mean"] < agg.loc[0, "latency_p99.ci_high"]
    assert "wall_time_s.mean" not in agg.columns  # machine time is not a metric of the design


def test_records_are_identical_serially_and_on_process_pools(baseline):
    """Results depend on the runs only, never on the executor, the worker count or completion order:
    an owned pool (workers=2) and a caller's ProcessPoolExecutor(2) give the serial records bit for bit.
    The caller's pool starts its workers from a clean interpreter (forkserver, spawn where there is
    none), as on macOS/Windows: everything a worker runs must be importable and picklable."""
    owned = sweep(MMC, GRID, 3, workers=2, sets=SHORT)
    clean = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context(clean)) as pool:
        given = sweep(MMC, GRID, 3, executor=pool, sets=SHORT)
        assert pool.submit(int, "7").result() == 7  # a caller's executor is left running
    assert deterministic(owned.records) == deterministic(baseline.records)
    assert deterministic(given.records) == deterministic(baseline.records)
    assert owned.aggregate().equals(baseline.aggregate())


@pytest.mark.slow
def test_records_are_identical_on_a_dask_cluster(baseline):
    """A real ``distributed`` cluster (a scheduler and two single-threaded worker processes on
    127.0.0.1) runs the same sweep to the same records; ``dask://`` is accepted for ``tcp://``."""
    pytest.importorskip("distributed", reason="dask distributed is not installed (pip install 'sdsim[distributed]')")
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address.replace("tcp://", "dask://")
        result = sweep(MMC, GRID, 3, scheduler=address, sets=SHORT)
        executor = make_executor(scheduler=cluster.scheduler_address)
        try:
            assert executor.submit(int, "7").result(timeout=60) == 7
        finally:
            executor.shutdown()
        assert executor.client.status == "closed"
    assert deterministic(result.records) == deterministic(baseline.records)


def test_seeds_are_reproducible_shared_across_points_and_independent_across_replications(baseline):
    """Replication r uses replication_seeds(base, R)[r] at every point (common random numbers along the
    curve); the same base seed gives the same records, another base seed other ones, and adding
    replications keeps the earlier ones."""
    seeds = replication_seeds(1, 3)  # mmc.yaml has seed: 1
    assert baseline.seeds == seeds and len(set(seeds)) == 3
    for point in range(4):
        assert [r["seed"] for r in baseline.records if r["point"] == point] == seeds
    again = sweep(MMC, GRID, 3, workers=1, sets=SHORT, seed=1)
    assert deterministic(again.records) == deterministic(baseline.records)
    other = sweep(MMC, {"servers": [10]}, 2, workers=1, sets=SHORT, seed=2)
    assert other.seeds == replication_seeds(2, 2)
    assert other.records[0]["latency_mean"] != baseline.records[0]["latency_mean"]
    more = sweep(MMC, {"servers": [10], "arrival_rate": [8]}, 5, workers=1, sets=SHORT)
    assert deterministic(more.records[:3]) == deterministic(baseline.records[:3])


def test_confidence_intervals_shrink_like_one_over_root_r():
    """Going from R=4 to R=16 replications divides the standard error by about √(16/4) = 2.

    The 95 % half-width is t(R−1)·s/√R, so its ratio is 2·t(3)/t(15) ≈ 2.99 in expectation and
    the standard error's (half-width / t) is 2 — but one sample standard deviation of 4 runs has
    only 3 degrees of freedom (its 90 % range is 0.34σ…1.61σ), so a single sweep pair says little.
    We therefore pool K = 20 independent sweep pairs (base seeds 1000…1019, M/M/1 at ρ = 0.5):
    the pooled ratio √(Σ SE4² / Σ SE16²) estimates 2 with a log standard deviation of about
    ½·√(2/60 + 2/300) ≈ 0.10 for normal data (more for the skewed mean latency of a short run).
    We accept ±0.35 on the log scale (ratio 1.41…2.84, ≥ 3.5 σ), and the same relative band
    around 2.99 for the half-widths.
    """
    se4, se16, hw4, hw16 = [], [], [], []
    for k in range(20):
        options = dict(workers=1, seed=1000 + k, sets=SHORT)
        a4 = sweep(MM1, {"arrival_rate": [0.5]}, 4, **options).aggregate().iloc[0]
        a16 = sweep(MM1, {"arrival_rate": [0.5]}, 16, **options).aggregate().iloc[0]
        hw4.append((a4["latency_mean.ci_high"] - a4["latency_mean.ci_low"]) / 2)
        hw16.append((a16["latency_mean.ci_high"] - a16["latency_mean.ci_low"]) / 2)
        se4.append(hw4[-1] / t_quantile_975(3))
        se16.append(hw16[-1] / t_quantile_975(15))
    pooled = math.sqrt(sum(x * x for x in se4) / sum(x * x for x in se16))
    assert abs(math.log(pooled / 2)) < 0.35, pooled
    pooled_hw = math.sqrt(sum(x * x for x in hw4) / sum(x * x for x in hw16))
    expected_hw = 2 * t_quantile_975(3) / t_quantile_975(15)
    assert abs(math.log(pooled_hw / expected_hw)) < 0.35, (pooled_hw, expected_hw)


# ----------------------------------------------------------------------------- resume and retries


def test_resume_runs_only_the_missing_runs(baseline, tmp_path):
    """Each finished run is one whole line of runs.jsonl. Delete three lines and leave a truncated line
    (a writer that died mid-line): the resume executes exactly the three missing runs, ignores and
    drops the partial line, and ends with the records of the uninterrupted sweep, each run once."""
    sweep(MMC, GRID, 3, workers=1, sets=SHORT, out_dir=tmp_path)
    log = tmp_path / "runs.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    assert len(lines) == 12 and all(line.endswith("\n") for line in lines)
    removed = [json.loads(lines[i])["key"] for i in (1, 5, 10)]
    kept = [line for i, line in enumerate(lines) if i not in (1, 5, 10)]
    log.write_text("".join(kept) + lines[1][: len(lines[1]) // 2])  # no newline: cut mid-record

    counter = CountingExecutor()
    progress = []
    resumed = sweep(MMC, GRID, 3, executor=counter, sets=SHORT, out_dir=tmp_path, resume=True,
                    progress=lambda done, total: progress.append((done, total)))
    assert sorted(s.key for s in counter.submitted) == sorted(removed)
    assert (resumed.executed, resumed.reused) == (3, 9)
    assert progress[0] == (9, 12) and progress[-1] == (12, 12)
    assert deterministic(resumed.records) == deterministic(baseline.records)
    records, bad, dirty = read_records(log)
    assert (len(records), bad, dirty) == (12, 0, False)  # the partial line is gone, every run once

    nothing = CountingExecutor()
    again = sweep(MMC, GRID, 3, executor=nothing, sets=SHORT, out_dir=tmp_path, resume=True)
    assert nothing.submitted == [] and again.records == resumed.records
    assert {"runs.csv", "aggregate.csv", "sweep.json"} <= {p.name for p in tmp_path.iterdir()}


def test_a_run_that_failed_once_is_retried_and_counted_once(baseline, tmp_path):
    """The first attempt of one run fails as if its worker died; it is resubmitted, succeeds, and the
    sweep has each run exactly once — in the records and in runs.jsonl."""
    target = baseline.records[4]["key"]
    flaky = FlakyExecutor(target)
    result = sweep(MMC, GRID, 3, executor=flaky, sets=SHORT, out_dir=tmp_path)
    assert [s.key for s in flaky.submitted].count(target) == 2 and len(flaky.submitted) == 13
    assert deterministic(result.records) == deterministic(baseline.records)
    keys = [json.loads(line)["key"] for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert sorted(keys) == sorted(r["key"] for r in baseline.records)


def test_a_run_failing_every_retry_raises_after_the_others_finished(baseline, tmp_path):
    """With retries=1 a run that always fails is tried twice, then SweepError names it; every other run
    finished and is saved for a resume."""
    target = baseline.records[0]["key"]
    flaky = FlakyExecutor(target, always=True)
    with pytest.raises(SweepError, match=r"1 of 12 runs failed after 1 retry:\n  point 0 \(servers=10, "
                                         r"arrival_rate=8\), replication 0") as caught:
        sweep(MMC, GRID, 3, executor=flaky, sets=SHORT, out_dir=tmp_path, retries=1)
    assert flaky.failed == 2 and len(caught.value.records) == 11
    assert len(read_records(tmp_path / "runs.jsonl")[0]) == 11


def test_a_sweeps_failures_come_from_the_shared_replication_loop(baseline, tmp_path):
    """A sweep runs through run_all: its SweepError is a RunsFailed whose failures are the RunSpecs that
    never succeeded (retries=0: one attempt) and whose results are the records that did finish."""
    from simulator.experiments.executors import RunsFailed

    target = baseline.records[7]["key"]
    flaky = FlakyExecutor(target, always=True)
    with pytest.raises(RunsFailed) as caught:
        sweep(MMC, GRID, 3, executor=flaky, sets=SHORT, retries=0)
    assert isinstance(caught.value, SweepError) and flaky.failed == 1
    assert [spec.key for spec, _ in caught.value.failures] == [target]
    assert caught.value.results == caught.value.records and len(caught.value.records) == 11
    assert deterministic(caught.value.records) == deterministic(r for r in baseline.records if r["key"] != target)


def test_a_broken_pool_of_its_own_is_replaced(baseline, monkeypatch):
    """When the sweep's own pool breaks, every run in flight fails with BrokenProcessPool; the sweep
    makes one new executor (not one per failed run), resubmits those runs and finishes."""

    class BreaksAtThirdSubmit(Executor):
        def __init__(self):
            self.futures, self.shut = [], False

        def submit(self, fn, /, *args, **kwargs):
            self.futures.append(Future())
            if len(self.futures) == 3:
                for future in self.futures:
                    future.set_exception(BrokenProcessPool("a worker died (injected)"))
            return self.futures[-1]

        def shutdown(self, wait=True, *, cancel_futures=False):
            self.shut = True

    made = []

    def factory(workers=None, scheduler=None):
        made.append(BreaksAtThirdSubmit() if not made else SerialExecutor())
        return made[-1]

    monkeypatch.setattr(sweep_module, "make_executor", factory)
    result = sweep(MMC, GRID, 3, sets=SHORT)
    assert len(made) == 2 and made[0].shut
    assert deterministic(result.records) == deterministic(baseline.records)


def test_invalid_points_fail_before_anything_runs():
    """Every point is validated first: values outside a declared range, unknown names, bad --set paths
    are reported together, located, as a ScenarioError."""
    counter = CountingExecutor()
    with pytest.raises(ScenarioError) as caught:
        sweep(MMC, {"servers": [0, 10, 99]}, 2, executor=counter, sets=SHORT)
    assert [p.message for p in caught.value.problems] == [
        "--param: 0 is outside the declared range [1, 40]", "--param: 99 is outside the declared range [1, 40]"]
    assert counter.submitted == []
    with pytest.raises(ScenarioError, match="unknown parameter 'nope'"):
        sweep(MMC, {"nope": [1]}, 2, workers=1, sets=SHORT)
    with pytest.raises(ValueError, match="records use that name"):
        sweep(MMC, {"availability": [1]}, 2, workers=1)


# ----------------------------------------------------------------------------- charts and CLI


def test_sweep_chart_has_ci_bands_units_and_the_slo_line(baseline):
    """latency in ms on y, the parameter on x, one line (with its band) per other-parameter value, the
    scenario's SLO on that metric as a dashed line, and a title naming scenario and replications."""
    from simulator.experiments import plot_sweep

    fig = plot_sweep(baseline, "latency_mean", "servers")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "latency mean (ms)" and ax.get_xlabel().startswith("servers")
    title = ax.get_title(loc="left")
    assert title.startswith("mmc · seed 1 · 3 replications") and "latency mean vs servers" in title
    labels = [line.get_label() for line in ax.get_lines()]
    assert "arrival_rate=8" in labels and "arrival_rate=9" in labels
    assert any(label.startswith("SLO mean sojourn: ≤ 2000") for label in labels)
    assert len(ax.collections) == 2  # one CI band per line
    means = [v * 1e3 for v in baseline.aggregate().query("arrival_rate == 8")["latency_mean.mean"]]
    assert list(ax.get_lines()[1].get_ydata()) == pytest.approx(means)
    with pytest.raises(ValueError, match="no metric"):
        plot_sweep(baseline, "latency_p42")


def test_cli_json_is_the_aggregate_and_the_runs_and_nothing_else():
    result = CliRunner().invoke(app, ["sweep", str(MMC), "--param", "servers=10,12", "-p", "arrival_rate=8:9:1",
                                      "-r", "2", "-w", "1", "--json", *[a for s in SHORT for a in ("--set", s)]])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"scenario", "grid", "replications", "seed", "seeds", "aggregate", "runs", "slos"} <= doc.keys()
    assert doc["grid"] == {"servers": [10, 12], "arrival_rate": [8, 9]} and doc["replications"] == 2
    assert len(doc["aggregate"]) == 4 and len(doc["runs"]) == 8
    row = doc["aggregate"][0]
    assert {"point", "servers", "arrival_rate", "n", "latency_p99.mean", "latency_p99.ci_low",
            "latency_p99.ci_high", "availability.mean"} <= row.keys()


def test_cli_table_and_out_folder(tmp_path):
    """Without --json: a table of the points (mean ± half-width); --out writes the tables, sweep.json
    and one chart per headline metric; --resume then runs nothing."""
    args = ["sweep", str(MM1), "-p", "arrival_rate=0.5,0.8", "-r", "2", "-w", "1", "--set", "duration=100s",
            "--set", "warmup=10s", "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert "arrival_rate" in result.stdout and "±" in result.stdout and "2 replications" in result.stdout
    assert {"runs.jsonl", "runs.csv", "aggregate.csv", "sweep.json", "latency_p99.png", "availability.png",
            "throughput_rps.png"} <= {p.name for p in tmp_path.iterdir()}
    again = CliRunner().invoke(app, [*args, "--resume"])
    assert again.exit_code == 0 and "0 runs" in again.stderr and "4 reused" in again.stderr


@pytest.mark.parametrize("extra, code, message", [
    (["-p", "servers=10:12"], 3, "<command line>: --param servers: range '10:12': expected START:STOP:STEP"),
    (["-p", "servers=0,10"], 3, "params.servers: --param: 0 is outside the declared range"),
    (["-p", "nope=1,2"], 3, "unknown parameter 'nope'"),
    (["-p", "servers=10", "--resume"], 2, "--resume needs --out"),
    (["-p", "servers=10", "-w", "2", "--scheduler", "tcp://127.0.0.1:1"], 2, "not both"),
    (["-p", "servers=10", "-r", "0"], 2, ""),
])
def test_cli_exit_codes(extra, code, message):
    """3 for an invalid scenario or value spec (a located message, no traceback), 2 for usage errors."""
    result = CliRunner().invoke(app, ["sweep", str(MMC), *extra, "--set", "duration=50s", "--set", "warmup=0s"])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.stderr and message in " ".join(result.stderr.split())
    assert result.stdout == ""
