"""``records: summary`` — the streaming recorder keeps aggregates, not rows, and gives the same answers.

* the sketch (:mod:`simulator.metrics.sketch`): its relative-error guarantee against
  ``numpy.quantile`` on adversarial data, merging, exact count/sum/min/max;
* the same scenario and seed with full and with summary records: identical counts,
  availability, throughput, utilization, queue, wait and per-visit sojourn means, visits
  per request, tallies and time series
  (up to float summation order), percentiles within the sketch's bound — on M/M/c, a
  crash, a cache, a load balancer and the One Piece microservices, with tiny chunks too;
* ``auto`` switches on the expected request count; the estimate itself;
* clear errors for what needs full records; charts, ``run --out``, the CLI, sweeps and
  lab feedback in summary mode.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from simulator import load_scenario, simulate
from simulator.metrics import records as records_mod
from simulator.metrics import streaming
from simulator.metrics.aggregates import LATENCY_ACCURACY, SERIES_ACCURACY
from simulator.metrics.grid import FullRecordsRequired, Grid
from simulator.metrics.sketch import LogSketch, grouped_quantiles, keys_of

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios/theory/mmc.yaml"
MMC_SHORT = ["duration=600s", "warmup=60s"]
PERCENTILE_KEYS = {"p50", "p90", "p95", "p99", "p999"}
QS = np.array([0.0, 1e-4, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0])


# ----------------------------------------------------------------------------- the sketch


def assert_within(sketch: LogSketch, values: np.ndarray, alpha: float) -> None:
    exact = np.quantile(values, QS)
    estimate = sketch.quantiles(QS)
    assert np.all(np.abs(estimate - exact) <= alpha * exact * (1 + 1e-12)), \
        np.max(np.abs(estimate - exact) / np.where(exact > 0, exact, 1))


def adversarial_sets(rng: np.random.Generator) -> dict[str, np.ndarray]:
    gamma = LogSketch(0.01).gamma
    edges = gamma ** np.arange(-300, 300, dtype=float)
    return {
        "lognormal sigma 6": rng.lognormal(0.0, 6.0, 20_000),
        "twelve decades": 10.0 ** rng.uniform(-6, 6, 20_000),
        "bucket edges and their neighbours": np.concatenate([edges, np.nextafter(edges, 0),
                                                             np.nextafter(edges, 2 * edges)]),
        "mostly zeros": np.concatenate([np.zeros(9_900), rng.exponential(1.0, 100)]),
        "all zeros": np.zeros(50),
        "one value": np.array([0.123]),
        "two far points": np.array([1e-9] * 500 + [1e9] * 500),
        "gap at the p99 rank": np.concatenate([np.full(990, 1e-3), np.full(10, 1e4)]),
        "duplicates": np.repeat(rng.exponential(1.0, 7), 1_000),
        "sorted ascending": np.sort(rng.pareto(1.1, 20_000)),
        "tiny and huge": np.array([5e-324, 1e-300, 1.0, 1e300, 1.7e308]),
    }


@pytest.mark.parametrize("alpha", [0.01, 0.05])
def test_sketch_quantiles_are_within_alpha_of_numpy_on_adversarial_data(alpha):
    rng = np.random.default_rng(3)
    for name, values in adversarial_sets(rng).items():
        sketch = LogSketch(alpha)
        sketch.add(values)
        assert sketch.count == values.size and sketch.min == values.min() and sketch.max == values.max(), name
        assert sketch.sum == pytest.approx(values.sum(), rel=1e-12), name
        assert_within(sketch, values, alpha)


def test_merged_sketches_equal_one_sketch_and_keep_the_bound():
    rng = np.random.default_rng(5)
    values = rng.lognormal(-3, 2, 30_000)
    whole = LogSketch()
    whole.add(values)
    parts = [LogSketch() for _ in range(7)]
    for part, chunk in zip(parts, np.array_split(rng.permutation(values), 7)):
        part.add(chunk)
    merged = LogSketch()
    for part in parts:
        merged.merge(part)
    assert np.array_equal(merged.quantiles(QS), whole.quantiles(QS))
    assert merged.count == whole.count and merged.max == whole.max and merged.min == whole.min
    assert_within(merged, values, 0.01)
    with pytest.raises(ValueError):
        merged.merge(LogSketch(0.05))


def test_sketch_rejects_what_it_cannot_bound():
    sketch = LogSketch()
    for bad in ([-1.0], [np.nan], [np.inf]):
        with pytest.raises(ValueError):
            sketch.add(bad)
    assert np.isnan(sketch.quantile(0.5)) and sketch.mean is None
    with pytest.raises(ValueError):
        LogSketch(0.0)


def test_grouped_sketch_quantiles_keep_the_bound_per_group():
    rng = np.random.default_rng(11)
    alpha = SERIES_ACCURACY
    gamma = LogSketch(alpha).gamma
    groups = rng.integers(0, 40, 20_000)
    values = np.where(rng.random(20_000) < 0.05, 0.0, rng.lognormal(0, 3, 20_000))
    keys = keys_of(values, gamma)
    got = grouped_quantiles(groups, keys, np.ones(values.size, dtype=np.uint32), 42, (0.5, 0.95, 0.99), gamma)
    assert np.isnan(got[40:]).all()
    for g in range(40):
        exact = np.quantile(values[groups == g], [0.5, 0.95, 0.99])
        assert np.all(np.abs(got[g] - exact) <= alpha * exact * (1 + 1e-12))


def test_grid_maps_times_and_edges_consistently():
    grid = Grid(0.1, split=1.05)  # 1.05 s is off the 0.1 s grid: an extra edge there
    t = np.array([0.0, 0.1, 0.3, 1.0, 1.049, 1.05, 1.1, 2.0])
    k = grid.index(t)
    assert np.all(grid.edge(k) <= t) and np.all(t < grid.edge(k + 1) + 1e-15)
    assert grid.edge(np.array([11]))[0] == 1.05
    bounds = grid.bounds(np.array([0.0, 0.5, 1.0, 1.05]), end_time=3.0)
    assert bounds.tolist() == [0, 5, 10, 11]
    with pytest.raises(FullRecordsRequired, match="records: full"):
        grid.bounds(np.array([0.0, 0.55]), end_time=3.0)


def test_series_rows_are_sorted_distinct_counts_in_any_chunk_order():
    rng = np.random.default_rng(2)
    packed = np.sort(rng.integers(0, 50, 5_000)) << 21 | rng.integers(1, 40, 5_000)
    for chunks in (np.array_split(packed, 9), np.array_split(rng.permutation(packed), 9)):  # in order, shuffled
        rows = streaming.SeriesRows()
        for chunk in chunks:
            rows.add(chunk)
        keys, counts = rows.finish()
        expected_keys, expected_counts = np.unique(packed, return_counts=True)
        assert np.array_equal(keys, expected_keys) and np.array_equal(counts, expected_counts)


# ----------------------------------------------------------------------------- full vs summary


def compare(full: dict, summary: dict, alpha: float, path: str = "") -> None:
    """Every number equal (rel 1e-9), percentiles within *alpha*; same keys everywhere."""
    if isinstance(full, dict):
        assert set(full) == set(summary), (path, set(full) ^ set(summary))
        for key in full:
            compare(full[key], summary[key], alpha, f"{path}.{key}")
    elif isinstance(full, list):
        assert len(full) == len(summary), path
        for i, (a, b) in enumerate(zip(full, summary)):
            compare(a, b, alpha, f"{path}[{i}]")
    elif path == ".records":
        assert (full, summary) == ("full", "summary")
    elif isinstance(full, float) and isinstance(summary, float):
        leaf = path.rsplit(".", 1)[-1]
        if leaf in PERCENTILE_KEYS or path.endswith("wait_s.p99") or _latency_slo(path):
            assert abs(summary - full) <= alpha * abs(full) * (1 + 1e-9), (path, full, summary)
        else:
            assert summary == pytest.approx(full, rel=1e-9, abs=1e-12), path
    else:
        assert full == summary, (path, full, summary)


def _latency_slo(path: str) -> bool:
    return path.startswith(".slos") and path.endswith(".value")  # checked below against the latency keys


def compare_series(full, summary, interval=None, until=None) -> None:
    a, b = full.timeseries_at(interval, until), summary.timeseries_at(interval, until)
    assert len(a) == len(b) and np.allclose(a["time"], b["time"], rtol=0, atol=1e-9)
    for column in ("issued", "ok", "failed"):
        assert np.array_equal(a[column].to_numpy(), b[column].to_numpy()), column
    for column in ("throughput_rps", "goodput_rps", "availability"):
        np.testing.assert_allclose(b[column], a[column], rtol=1e-12, equal_nan=True)
    for column in ("latency_p50", "latency_p95", "latency_p99"):
        x, y = a[column].to_numpy(float), b[column].to_numpy(float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), column
        m = ~np.isnan(x)
        assert np.all(np.abs(y[m] - x[m]) <= SERIES_ACCURACY * x[m] * (1 + 1e-9)), column
    ca, cb = full.component_timeseries_at(interval, until), summary.component_timeseries_at(interval, until)
    assert list(ca["component"]) == list(cb["component"])
    for column in ("utilization", "queue_len", "in_system"):
        np.testing.assert_allclose(cb[column], ca[column], rtol=1e-7, atol=1e-6)
    assert np.array_equal(ca["arrivals"].to_numpy(), cb["arrivals"].to_numpy())  # the offered load, exact
    ta, tb = full.tally_timeseries_at(interval, until), summary.tally_timeseries_at(interval, until)
    assert ta.shape == tb.shape
    if len(ta):
        assert np.array_equal(ta["count"].to_numpy(), tb["count"].to_numpy())
        np.testing.assert_allclose(tb["value"].to_numpy(float), ta["value"].to_numpy(float), equal_nan=True)


def both(path: Path, sets: list[str], **kwargs):
    scenario = load_scenario(path, sets=sets, params=kwargs.pop("params", []))
    return simulate(scenario, records="full", **kwargs), simulate(scenario, records="summary", **kwargs)


def check_pair(full, summary) -> None:
    assert full.records_mode == "full" and summary.records_mode == "summary"
    assert full.events == summary.events and full.end_time == summary.end_time  # the same simulated run
    sa, sb = full.summary(), summary.summary()
    # SLO values on latency metrics are percentiles (or exact means/maxima): bound them all by alpha
    compare(sa, sb, LATENCY_ACCURACY)
    for va, vb in zip(sa["slos"], sb["slos"]):
        if not va["metric"].startswith("latency_p") and va["value"] is not None:
            assert vb["value"] == pytest.approx(va["value"], rel=1e-9)
    step = full.scenario.sample_interval
    compare_series(full, summary)
    compare_series(full, summary, 10 * step, full.scenario.duration)
    compare_series(full, summary, 7 * step)
    assert full.request_counts().equals(summary.request_counts())
    for name, rec in full.components.items():
        assert rec.tally_counts(*full.window) == summary.components[name].tally_counts(*full.window)


BALANCED_CACHED = """
name: balanced-cached
seed: 3
duration: 40s
warmup: 5s
network:
  zones: [edge, app, data]
  local: "lognormal(median=0.15ms, p99=0.5ms)"
  links:
    - {between: [edge, app], latency: "lognormal(median=0.15ms, p99=0.5ms)"}
    - {between: [app, data], latency: "lognormal(median=0.15ms, p99=0.5ms)"}
workload:
  - name: clients
    entry: lb
    zone: edge
    mix: {get: 0.9, put: 0.1}
    keys: "zipf(s=1.0, n=2000)"
    arrivals: {kind: poisson, rate: 150}
    profile: [{at: 12s, rate: 900, for: 12s}]
    timeout: 150ms
components:
  lb:
    kind: load_balancer
    zone: app
    backend: app
    policy: least_request
    workers: 2
    work: 0.03ms
    health_check: {interval: 5s, timeout: 1s, unhealthy_threshold: 2, healthy_threshold: 2}
    outlier_detection: {consecutive_errors: 5, base_ejection_time: 10s, max_ejection_percent: 50}
  app:
    kind: service
    zone: app
    replicas: 3
    workers: 2
    queue: 50
    autoscaling: {min_replicas: 3, max_replicas: 6, metric: utilization, target: 0.3, interval: 5s,
                  provisioning_delay: 5s, scale_down_stabilization: 20s}
    operations:
      get: {work: "exp(2ms)", steps: [{call: cache.read}]}
      put: {work: "exp(3ms)", steps: [{call: cache.write}]}
  cache:
    kind: cache
    zone: data
    origin: db
    origin_read: read
    origin_write: write
    pattern: cache_aside
    policy: lru
    capacity: 300
    workers: 1
    work: exp(20us)
  db:
    kind: database
    zone: data
    connections: 4
    pool_timeout: 50ms
    operations:
      read: {work: "lognormal(median=1ms, p99=8ms)"}
      write: {work: "lognormal(median=3ms, p99=20ms)"}
faults:
  - {kind: crash, target: app, replicas: 1, at: 8s, for: 20s}
  - {kind: slowdown, target: db, factor: 30, at: 30s, for: 4s}
"""


@pytest.fixture(scope="module")
def balanced_cached(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenarios") / "balanced-cached.yaml"
    path.write_text(BALANCED_CACHED)
    return path


SCENARIOS = {
    "mmc": (MMC, MMC_SHORT),
    "mmck-rejections": (ROOT / "scenarios/theory/mmck.yaml", ["duration=400s", "warmup=40s"]),
    "closed": (ROOT / "scenarios/theory/closed.yaml", ["duration=400s", "warmup=40s"]),
    "onepiece": (ROOT / "scenarios/onepiece/microservices.yaml", ["duration=60s", "warmup=10s"]),
    "onepiece-crash": (ROOT / "scenarios/onepiece/experiments/microservices-character-crash.yaml",
                       ["duration=135s", "warmup=15s"]),
    "balanced-cached": (None, []),
}


_PAIRS: dict[str, tuple] = {}


def pair(name: str, balanced_cached: Path):
    """(full, summary) results of one of :data:`SCENARIOS`, computed once per test session."""
    if name not in _PAIRS:
        path, sets = SCENARIOS[name]
        _PAIRS[name] = both(path or balanced_cached, sets)
    return _PAIRS[name]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_summary_records_match_full_records(name, balanced_cached):
    full, summary = pair(name, balanced_cached)
    assert full.summary()["requests"]["issued"] > 500
    check_pair(full, summary)


def test_the_compared_scenarios_exercise_failures_tallies_and_scaling(balanced_cached):
    """The comparisons above cover errors, timeouts, rejections, cache and balancer tallies, resizing."""
    crash = pair("onepiece-crash", balanced_cached)[1].summary()
    assert crash["requests"]["error"] > 100 and crash["availability"] < 0.99
    assert pair("mmck-rejections", balanced_cached)[1].summary()["requests"]["rejected"] > 0
    result = pair("balanced-cached", balanced_cached)[1]
    s = result.summary()
    assert s["requests"]["timeout"] > 0 and s["requests"]["error"] > 0
    assert s["components"]["cache"]["counts"]["hits"] > 0 and 0 < s["components"]["cache"]["hit_ratio"] < 1
    assert any(k.startswith("sent:") and v > 0 for k, v in s["components"]["lb"]["counts"].items())
    assert "capacity_mean" in s["components"]["app"] and result.scaling_events


def test_many_tiny_chunks_give_the_same_aggregates(monkeypatch, balanced_cached):
    """Folding every 7 rows instead of 65,536 changes nothing (chunks add up)."""
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 7)
    full, summary = both(balanced_cached, ["duration=12s", "warmup=2s"])
    check_pair(full, summary)
    assert summary.summary()["requests"]["error"] > 0


FRONT_AND_BACK = """
name: front-and-back
seed: 5
duration: 60s
warmup: 6s
workload:
  - {name: clients, entry: front, operation: get, arrivals: {kind: poisson, rate: 60/s}}
components:
  front:
    kind: service
    workers: 4
    queue: 30
    io: blocking
    operations:
      get: {work: "exp(10ms)", steps: [{call: back.read}, {branch: [{p: 0.5, steps: [{call: back.read}]}, {p: 0.5}]}]}
  back:
    kind: service
    workers: 1
    queue: 1
    operations:
      read: {work: "exp(8ms)"}
faults:
  - {kind: errors, target: back, probability: 0.1, at: 10s, for: 20s}
"""


def test_sojourn_per_visit_and_visits_per_request_match_in_both_modes(monkeypatch, tmp_path):
    """A blocking front holds its worker through 1.5 calls on average to a back end that rejects and
    fails some: the sojourn per visit (its own wait and work) and the visits per request are the
    same with full and summary records, folded every 7 rows, with errors and rejections in."""
    path = tmp_path / "front-and-back.yaml"
    path.write_text(FRONT_AND_BACK)
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 7)
    full, summary = both(path, [])
    check_pair(full, summary)
    sa, sb = full.summary(), summary.summary()
    assert sa["components"]["back"]["rejected"] > 0 and sa["components"]["back"]["errors"] > 0
    for name in ("front", "back"):
        a, b = sa["components"][name], sb["components"][name]
        assert b["visits_per_request"] == a["visits_per_request"] == a["visits"] / sa["requests"]["issued"]
        assert b["sojourn_s"]["mean"] == pytest.approx(a["sojourn_s"]["mean"], rel=1e-9)
        for q in ("p50", "p95", "p99"):
            assert abs(b["sojourn_s"][q] - a["sojourn_s"][q]) <= LATENCY_ACCURACY * a["sojourn_s"][q]
    spans = full.spans
    front = spans[(spans["component"] == "front") & (spans["arrival"] >= 6) & (spans["status"] != "rejected")]
    assert sa["components"]["front"]["sojourn_s"]["mean"] == pytest.approx(float(front["sojourn"].mean()), rel=1e-9)
    assert front["sojourn"].mean() < 0.5 * (front["end"] - front["arrival"]).mean()  # the calls are left out


def test_off_grid_duration_and_a_fine_sample_interval():
    """duration 100.5 s on a 1 s grid gets its own edge; 0.1 s buckets split most spans in two or more."""
    full, summary = both(MMC, ["duration=100.5s", "warmup=10s"])
    check_pair(full, summary)
    compare_series(full, summary, 2.0, 100.5)
    full, summary = both(MMC, ["duration=120s", "warmup=10s", "sample_interval=0.1s"])
    check_pair(full, summary)
    compare_series(full, summary, 0.5, 60.0)


# ----------------------------------------------------------------------------- auto and the estimate


def test_expected_requests_estimate():
    mmc = load_scenario(MMC)
    assert records_mod.expected_requests(mmc) == pytest.approx(9.0 * 5000)
    onepiece = load_scenario(ROOT / "scenarios/onepiece/microservices.yaml")
    # traders: 100/s for 10 min with a 4 min market-open window at 230/s; admins 0.1/s
    assert records_mod.expected_requests(onepiece) == pytest.approx(100 * 600 + 130 * 240 + 0.1 * 600)
    closed = load_scenario(ROOT / "scenarios/theory/closed.yaml")
    assert records_mod.expected_requests(closed) == pytest.approx(10 * 5000 / (1.0 + records_mod.LATENCY_GUESS_S))


def test_auto_switches_to_summary_above_the_threshold(monkeypatch):
    scenario = load_scenario(MMC, sets=MMC_SHORT)
    assert scenario.records == "auto"
    small = simulate(scenario)
    assert small.records_mode == "full" and small.summary()["records"] == "full"
    assert small.records.reason.startswith("full (auto: about 5,400 expected requests ≤ 2,000,000")
    monkeypatch.setenv(records_mod.THRESHOLD_ENV, "5000")
    big = simulate(scenario)
    assert big.records_mode == "summary" and big.summary()["records"] == "summary"
    assert big.records.reason == "summary (auto: about 5,400 expected requests > 5,000)"
    assert simulate(scenario, records="full").records_mode == "full"  # an explicit choice wins
    monkeypatch.setattr(records_mod, "AUTO_THRESHOLD", 10)
    monkeypatch.delenv(records_mod.THRESHOLD_ENV)
    assert simulate(scenario).records_mode == "summary"


def test_the_scenario_field_chooses_and_bad_values_are_rejected():
    scenario = load_scenario(MMC, sets=[*MMC_SHORT, "records=summary"])
    assert simulate(scenario).records_mode == "summary"
    with pytest.raises(ValueError):
        simulate(scenario, records="everything")


# ----------------------------------------------------------------------------- what needs full records


@pytest.fixture(scope="module")
def summarized():
    return simulate(load_scenario(MMC, sets=MMC_SHORT), records="summary")


def test_row_level_questions_raise_a_clear_error(summarized):
    for get in (lambda r: r.requests, lambda r: r.spans, lambda r: r.latencies(), lambda r: r.t_issue,
                lambda r: r.in_window(), lambda r: r.components["station"].arrival,
                lambda r: r.components["station"].tally_time):
        with pytest.raises(FullRecordsRequired, match=r"records: full.*--records full"):
            get(summarized)
    with pytest.raises(FullRecordsRequired, match="records: full"):
        summarized.timeseries_at(1.5)
    with pytest.raises(FullRecordsRequired, match="records: full"):
        summarized.component_timeseries_at(2.0, until=33.3)
    assert summarized.bucket_width(1.5) == 2.0 and summarized.bucket_width(30.0) == 30.0
    assert len(summarized.timeseries_at(summarized.bucket_width(29.5))) == math.ceil(summarized.end_time / 30)


def test_latency_helpers_work_in_both_modes(summarized):
    full = simulate(summarized.scenario, records="full")
    exact = np.quantile(full.latencies(), [0.5, 0.99])
    assert np.array_equal(full.latency_quantiles([0.5, 0.99]), exact)
    assert np.all(np.abs(summarized.latency_quantiles([0.5, 0.99]) - exact) <= LATENCY_ACCURACY * exact)
    values, weights = summarized.latency_distribution()
    assert weights.sum() == full.latencies().size and values.size < weights.sum()
    assert full.latency_distribution()[1] is None
    assert (summarized.latency_accuracy, full.latency_accuracy) == (LATENCY_ACCURACY, 0.0)


# ----------------------------------------------------------------------------- consumers


def test_charts_and_run_out_work_in_summary_mode(summarized, tmp_path):
    from simulator.artifacts import write_run
    from simulator.viz import plot_comparison, plot_distribution

    fig = plot_distribution(summarized)
    assert "sketch" in fig._suptitle.get_text()
    markers = sorted(line.get_xdata()[0] for line in fig.axes[0].get_lines())
    latency = summarized.summary()["latency_s"]
    assert markers == pytest.approx(sorted(latency[k] * 1e3 for k in ("p50", "p95", "p99")))
    plot_comparison({"summary": summarized})
    written = {p.name for p in write_run(summarized, tmp_path, tables="csv")}
    assert {"summary.json", "timeseries.csv", "components.csv", "latency.png", "throughput.png", "components.png",
            "distribution.png", "report.html"} <= written
    assert "requests.csv" not in written
    assert json.loads((tmp_path / "summary.json").read_text())["records"] == "summary"


def test_cli_run_records_option_reports_the_choice():
    from simulator.cli import app

    result = CliRunner().invoke(app, ["run", str(MMC), "--json", "--records", "summary",
                                      *[arg for s in MMC_SHORT for arg in ("--set", s)],
                                      "--param", "slo_mean_latency=60"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["records"] == "summary"
    assert "records: summary (asked for; about 5,400 expected requests)" in result.stderr


def test_sweeps_and_lab_feedback_read_summary_records():
    from simulator.experiments import sweep
    from simulator.labs.feedback import explain_slo_failure

    sets = ("duration=200s", "warmup=20s")
    full = sweep(MMC, {"servers": [10]}, replications=2, workers=1, sets=(*sets, "records=full"))
    summary = sweep(MMC, {"servers": [10]}, replications=2, workers=1, sets=(*sets, "records=summary"))
    for a, b in zip(full.records, summary.records):
        for key in ("issued", "throughput_rps", "availability", "latency_mean", "component.station.utilization"):
            assert b[key] == pytest.approx(a[key], rel=1e-9)
        assert b["latency_p99"] == pytest.approx(a["latency_p99"], rel=LATENCY_ACCURACY)
    overloaded = load_scenario(MMC, sets=[*sets, "records=summary"], params=["arrival_rate=14"])
    result = simulate(overloaded)
    slo = overloaded.slos[0]
    lines = explain_slo_failure(slo, [result], [result.summary()], result.summary()["latency_s"]["mean"])
    assert any("bottleneck: station" in line for line in lines)
    assert any("queue kept growing" in line for line in lines)


def test_series_queries_in_slices_and_pickled_results(monkeypatch, summarized):
    """Long series are answered a slice of rows at a time (same answer); summary results pickle."""
    import pickle

    import pandas as pd

    from simulator.metrics import aggregates

    whole = summarized.timeseries_at(5.0)
    monkeypatch.setattr(aggregates, "QUERY_ROWS", 3)
    pd.testing.assert_frame_equal(summarized.timeseries_at(5.0), whole)
    clone = pickle.loads(pickle.dumps(summarized))
    assert clone.summary() == summarized.summary()
