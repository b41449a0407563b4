"""Monitoring: a run scraped as Prometheus would (simulator.monitoring), exported as OpenMetrics.

Exact where the run is deterministic: one closed-loop user with a constant think time of
80 ms and constant work of 20 ms sends exactly 10 requests/s, each taking exactly 20 ms,
and keeps the one worker busy 20 % of the time (utilization law U = X·S). Scraped every
15 s over 60 s, every counter reads 150, 300, 450, 600. The export is read back by
``prometheus_client``'s OpenMetrics parser and by ``promtool`` (Debian's ``prometheus``
package, which ``.ci/run`` installs): blocks built from it hold the same values.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from bands import assert_replications_within_3se
from helpers import located_problems, service
from simulator import check_scenario, load_scenario, simulate
from simulator.errors import ScenarioError
from simulator.monitoring.openmetrics import exposition, render
from simulator.monitoring.queries import histogram_quantile, increase, rate
from simulator.monitoring.scrape import scrape_times
from simulator.monitoring.series import FAMILIES
from simulator.monitoring.spec import DEFAULT_BUCKETS, Monitoring

ROOT = Path(__file__).resolve().parents[1]
SCRAPES = [15.0, 30.0, 45.0, 60.0]
PROMTOOL = shutil.which("promtool")
NO_PROMTOOL = ("promtool is not on PATH: install Debian's `prometheus` package (apt-get install prometheus; "
               ".ci/run does) to check the export with real Prometheus tooling")


def deterministic(tmp_path: Path, **extra) -> Path:
    """10 requests/s of exactly 20 ms for 60 s; one worker; scraped every 15 s."""
    doc = {"name": "det", "duration": "60s", "sample_interval": "5s", "monitoring": {"scrape_interval": "15s"},
           "workload": [{"name": "users", "entry": "api", "operation": "get",
                         "arrivals": {"kind": "closed", "users": 1, "think": "const(80ms)"}}],
           "components": {"api": {"kind": "service", "operations": {"get": {"work": "const(20ms)"}}}}, **extra}
    path = tmp_path / "det.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def det(tmp_path_factory):
    return simulate(load_scenario(deterministic(tmp_path_factory.mktemp("det"))))


def values(scraped, metric, **labels) -> list[float]:
    rows = scraped.select(metric, **labels)
    assert list(rows["time"]) == pytest.approx(list(scraped.times)), rows
    return list(rows["value"])


# -- what a scrape reads, exactly ---------------------------------------------------------------------------

def test_scrape_times_are_multiples_of_the_interval_then_the_end():
    assert list(scrape_times(15.0, 60.0)) == SCRAPES
    assert list(scrape_times(15.0, 61.5)) == [*SCRAPES, 61.5]
    assert list(scrape_times(15.0, 60.0004)) == [15.0, 30.0, 45.0, 60.0004]  # within a millisecond: merged
    assert list(scrape_times(15.0, 10.0)) == [10.0]


def test_counters_are_cumulative_at_each_scrape(det):
    scraped = det.scrape()
    assert list(scraped.times) == pytest.approx(SCRAPES)
    ok = [150, 300, 450, 600]
    assert values(scraped, "sdsim_client_requests_total", workload="users", operation="get", status="ok") == ok
    for status in ("error", "timeout", "rejected"):
        assert values(scraped, "sdsim_client_requests_total", workload="users", status=status) == [0] * 4
    assert values(scraped, "sdsim_requests_total", component="api", operation="get", status="ok") == ok
    assert det.summary()["requests"]["ok"] == 600


def test_histogram_buckets_hold_every_20ms_request_from_le_25ms(det):
    scraped = det.scrape()
    bounds = [repr(float(b)) for b in DEFAULT_BUCKETS]
    for name in ("sdsim_client_request_duration_seconds", "sdsim_request_duration_seconds"):
        for le in bounds:
            expected = [0] * 4 if float(le) < 0.02 else [150, 300, 450, 600]
            assert values(scraped, f"{name}_bucket", operation="get", le=le) == expected, (name, le)
        assert values(scraped, f"{name}_bucket", operation="get", le="+Inf") == [150, 300, 450, 600]
        assert values(scraped, f"{name}_count", operation="get") == [150, 300, 450, 600]
        assert values(scraped, f"{name}_sum", operation="get") == pytest.approx([3.0, 6.0, 9.0, 12.0])


def test_use_gauges_are_averages_over_the_scrape_interval(det):
    scraped = det.scrape()
    assert values(scraped, "sdsim_utilization_ratio", component="api") == pytest.approx([0.2] * 4)  # U = 10/s · 20 ms
    assert values(scraped, "sdsim_queue_length", component="api") == pytest.approx([0.0] * 4)
    assert values(scraped, "sdsim_in_flight", component="api") == pytest.approx([0.2] * 4)  # Little: 10/s · 20 ms
    assert values(scraped, "sdsim_workers", component="api") == pytest.approx([1.0] * 4)


def test_queries_read_the_series_as_promql_does(det):
    scraped = det.scrape()
    ok = [s for s in scraped.series if s.family.name == "sdsim_client_requests" and ("status", "ok") in s.labels][0]
    assert list(increase(ok.values)) == [150] * 4
    assert list(rate(ok.values, scraped.times)) == pytest.approx([10.0] * 4)
    hist = [h for h in scraped.histograms if h.family.name == "sdsim_client_request_duration_seconds"][0]
    per_interval = np.diff(hist.buckets, axis=0, prepend=0)
    # every observation lies in (10 ms, 25 ms]: the median is interpolated halfway through that bucket
    assert list(histogram_quantile(0.5, hist.bounds, per_interval)) == pytest.approx([0.0175] * 4)


def test_histogram_quantile_follows_prometheus():
    bounds = np.array([1.0, 2.0, 4.0])
    buckets = np.array([[10, 20, 20, 20], [0, 0, 0, 5], [0, 0, 0, 0]])
    assert histogram_quantile(0.5, bounds, buckets)[0] == pytest.approx(1.0)  # rank 10 ends the first bucket
    assert histogram_quantile(0.75, bounds, buckets)[0] == pytest.approx(1.5)  # halfway through (1, 2]
    assert histogram_quantile(0.5, bounds, buckets)[1] == 4.0  # in +Inf: the highest finite bound
    assert math.isnan(histogram_quantile(0.5, bounds, buckets)[2])  # no observations


def test_scraped_utilization_matches_the_utilization_law(golden_zscores):
    """Poisson 50/s into exp(10 ms) work: the mean of the scraped utilization gauge is λ·S = 0.5
    (within 3 SE over 10 seeds); the client counter's last value is every answered request."""
    doc = {"name": "mm1", "duration": "300s", "monitoring": {"scrape_interval": "30s"},
           "workload": [{"name": "w", "entry": "svc", "operation": "op", "arrivals": {"kind": "poisson", "rate": "50/s"}}],
           "components": {"svc": service("exp(10ms)")}}
    from simulator import Scenario

    scenario = Scenario.model_validate(doc)
    means = []
    for seed in range(1, 11):
        result = simulate(scenario, seed)
        scraped = result.scrape()
        gauge = scraped.select("sdsim_utilization_ratio", component="svc")
        full = gauge[gauge["time"] <= 300.0]
        means.append(float(full["value"].mean()))
        counts = scraped.select("sdsim_client_requests_total")
        assert counts.groupby("status")["value"].last().sum() == result.summary()["requests"]["issued"]
    assert_replications_within_3se(golden_zscores, means, 0.5, "scraped utilization gauge vs λS (M/M/1)")


# -- both records modes ------------------------------------------------------------------------------------

def test_gauges_and_tallied_events_are_identical_in_both_records_modes():
    scenario = load_scenario(ROOT / "scenarios/cache/zipf-lru.yaml", sets=["duration=60s", "warmup=10s"])
    monitoring = Monitoring(scrape_interval=10.0)
    full = simulate(scenario, 3, records="full").scrape(monitoring)
    summary = simulate(scenario, 3, records="summary").scrape(monitoring)
    assert summary.missing == [f.name for f in FAMILIES if f.needs_full] and not full.missing
    kept = [f.name for f in FAMILIES if not f.needs_full]
    a, b = (s.frame[s.frame["metric"].str.replace("_total", "").isin(kept)] for s in (full, summary))
    assert len(a) == len(b) > 0
    assert (a["metric"] == "sdsim_component_events_total").any() and (a["event"] == "hits").any()
    pd_cols = ["time", "metric", "component", "event"]
    assert a[pd_cols].reset_index(drop=True).equals(b[pd_cols].reset_index(drop=True))
    events = (a["metric"] == "sdsim_component_events_total").to_numpy()
    assert np.array_equal(a["value"].to_numpy()[events], b["value"].to_numpy()[events])  # counts: exact
    # time averages: equal up to float summation order (the tolerance of tests/test_streaming.py)
    np.testing.assert_allclose(b["value"].to_numpy()[~events], a["value"].to_numpy()[~events], rtol=1e-7, atol=1e-6)


# -- the OpenMetrics text ----------------------------------------------------------------------------------

def test_openmetrics_text_is_grouped_in_time_order_and_ends_with_eof(det):
    text = render(det.scrape())
    lines = text.splitlines()
    assert lines[-1] == "# EOF" and text.endswith("\n")
    types = [line.split()[2] for line in lines if line.startswith("# TYPE")]
    assert len(types) == len(set(types))  # each family once: never interleaved
    assert "# UNIT sdsim_request_duration_seconds seconds" in lines
    epoch = Monitoring().epoch_s
    assert epoch == 1767225600.0  # 2026-01-01T00:00:00Z
    stamps: dict[str, list[float]] = {}
    for line in lines:
        if not line.startswith("#"):
            name_labels, _, stamp = line.rsplit(" ", 2)
            stamps.setdefault(name_labels, []).append(float(stamp))
    for series, times in stamps.items():
        assert times == sorted(times) and len(times) == 4, series
        assert [t - epoch for t in times] == pytest.approx(SCRAPES)


def test_openmetrics_round_trips_through_prometheus_client(det):
    """Every sample parses back with its labels, value and timestamp, one scrape per document:
    prometheus_client's parser (0.26) drops the second and later points of a histogram with
    timestamps (a point's samples after the first are taken for duplicates of the previous
    point's, the group being the same), so the whole file is checked by promtool below."""
    parser = pytest.importorskip("prometheus_client.openmetrics.parser")
    scraped = det.scrape()
    frame = scraped.frame
    parsed = []
    for i in range(scraped.times.size):
        families = {f.name: f for f in parser.text_string_to_metric_families(render(scraped, [i]))}
        assert set(families) == {f.name for f, _ in scraped.families()}
        assert families["sdsim_request_duration_seconds"].type == "histogram"
        assert families["sdsim_request_duration_seconds"].unit == "seconds"
        parsed += [(s.name, s.labels, s.value, float(s.timestamp) - scraped.epoch_s)
                   for f in families.values() for s in f.samples]
    assert len(parsed) == len(frame)
    for name, labels, value, time in parsed:
        row = frame[(frame["metric"] == name) & np.isclose(frame["time"], time)]
        for label, wanted in labels.items():
            row = row[row[label] == wanted]
        assert len(row) == 1 and row["value"].iloc[0] == pytest.approx(value), (name, labels, time)


@pytest.mark.skipif(PROMTOOL is None, reason=NO_PROMTOOL)
def test_promtool_backfills_the_export_and_reads_the_summary_counts_back(det, tmp_path):
    path = det.export_openmetrics(tmp_path / "metrics.om")
    blocks = tmp_path / "tsdb"
    made = subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(path), str(blocks)],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    (blocks / "wal").mkdir(exist_ok=True)  # `tsdb dump` opens the head's WAL; backfilled blocks have none
    dumped = subprocess.run([PROMTOOL, "tsdb", "dump", str(blocks)], capture_output=True, text=True, timeout=120)
    assert dumped.returncode == 0, dumped.stderr
    samples = re.findall(r'^\{__name__="sdsim_client_requests_total", (.*)\} (\S+) (\d+)$', dumped.stdout, re.M)
    ok = sorted((int(ts), float(v)) for labels, v, ts in samples if 'status="ok"' in labels)
    epoch_ms = int(Monitoring().epoch_s * 1000)
    assert [ts - epoch_ms for ts, _ in ok] == [15000, 30000, 45000, 60000]
    assert ok[-1][1] == det.summary()["requests"]["ok"] == 600
    utilization = re.findall(r'^\{__name__="sdsim_utilization_ratio", .*\} (\S+) \d+$', dumped.stdout, re.M)
    assert [float(u) for u in utilization] == pytest.approx([0.2] * 4)


@pytest.mark.skipif(PROMTOOL is None, reason=NO_PROMTOOL)
def test_promtool_accepts_one_scrape_as_exposition_text(det):
    text = exposition(det.scrape())
    assert 'sdsim_client_requests_total{operation="get",status="ok",workload="users"} 600' in text
    checked = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


# -- the scenario section, the command line, the README ----------------------------------------------------

@pytest.mark.parametrize("monitoring, extra, where, message", [
    ({"scrape_interval": "7s"}, {"sample_interval": "5s"}, "monitoring.scrape_interval",
     "must be a whole multiple of sample_interval 5s"),
    ({"buckets": ["10ms", "5ms"]}, {}, "monitoring.buckets", "strictly increasing"),
    ({"scrape_interval": 15}, {}, "monitoring.scrape_interval", "unit"),
    ({"epoch": "2026-01-01T00:00:00"}, {}, "monitoring.epoch", "timezone"),
    ({"interval": "15s"}, {}, "monitoring.interval", "unknown field"),
])
def test_bad_monitoring_is_located(monitoring, extra, where, message):
    found = located_problems({"svc": service()}, entry="svc", monitoring=monitoring, **extra)
    assert any(f": {where}: " in p and message in p for p in found), found


def test_run_writes_metrics_om_and_the_dashboard(tmp_path):
    from typer.testing import CliRunner

    from simulator.cli import app

    out, om = tmp_path / "run", tmp_path / "alone.om"
    done = CliRunner().invoke(app, ["run", str(deterministic(tmp_path)), "--out", str(out), "--openmetrics", str(om)])
    assert done.exit_code == 0, done.output
    assert (out / "monitoring.png").stat().st_size > 0
    text = (out / "metrics.om").read_text()
    assert text == om.read_text() and text.endswith("# EOF\n")
    assert "monitoring chart" in (out / "report.html").read_text()


@pytest.mark.parametrize("path, sets", [
    ("scenarios/monitoring/alerts.yaml", []),
    ("scenarios/onepiece/microservices.yaml", ["duration=97s", "warmup=5s", "monitoring={scrape_interval: 10s}"]),
])
def test_summary_records_fold_the_request_families_into_the_same_scrape(path, sets):
    """With summary records the run folds every request and visit family per scrape interval: each counter
    and histogram bucket equals the full-records scrape's exactly (sums up to float rounding), the last,
    drained scrape included (97 s is no multiple of 10 s), and the alerts fire at the same evaluations."""
    scenario = load_scenario(ROOT / path, sets=sets)
    full, summary = (simulate(scenario, 3, records=mode) for mode in ("full", "summary"))
    a, b = full.scrape(), summary.scrape()
    assert not b.missing and [s.labels for s in a.series] == [s.labels for s in b.series]
    counters = [(x, y) for x, y in zip(a.series, b.series) if x.family.type == "counter"]
    assert len(counters) > 20 and all(np.array_equal(x.values, y.values) for x, y in counters)
    assert len(a.histograms) == len(b.histograms) > 5
    for x, y in zip(a.histograms, b.histograms):
        assert x.labels == y.labels and np.array_equal(x.buckets, y.buckets) and np.array_equal(x.count, y.count)
        np.testing.assert_allclose(y.sum, x.sum, rtol=1e-12, atol=1e-12)
    if scenario.monitoring.rules:
        assert full.alerts().equals(summary.alerts()) and full.alert_scores().equals(summary.alert_scores())
    other = Monitoring(scrape_interval=scenario.monitoring.scrape_interval * 2)  # not what the run folded
    assert summary.scrape(other).missing == [f.name for f in FAMILIES if f.needs_full]


def test_run_with_summary_records_exports_the_same_metrics(tmp_path):
    from typer.testing import CliRunner

    from simulator.cli import app

    out, full = tmp_path / "run", tmp_path / "full"
    done = CliRunner().invoke(app, ["run", str(deterministic(tmp_path)), "--records", "summary", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert CliRunner().invoke(app, ["run", str(deterministic(tmp_path)), "--records", "full", "--out",
                                    str(full)]).exit_code == 0
    text = (out / "metrics.om").read_text()

    def counted(om: str) -> list[str]:  # counters and bucket counts: exact (averages and sums: float rounding)
        return [line for line in om.splitlines() if re.match(r"\w+(_total|_bucket|_count)\{", line)]

    assert counted(text) == counted((full / "metrics.om").read_text())  # the request families were folded
    assert "sdsim_client_requests_total" in text and "sdsim_request_duration_seconds_bucket" in text
    utilization = re.findall(r'^sdsim_utilization_ratio\{component="api"\} (\S+) ', text, re.M)
    assert [float(u) for u in utilization] == pytest.approx([0.2] * 4) and text.endswith("# EOF\n")


def test_run_without_monitoring_writes_no_metrics(tmp_path):
    from typer.testing import CliRunner

    from simulator.cli import app

    path = tmp_path / "plain.yaml"
    doc = yaml.safe_load(deterministic(tmp_path).read_text())
    del doc["monitoring"]
    path.write_text(yaml.safe_dump(doc))
    done = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "run")])
    assert done.exit_code == 0, done.output
    assert not (tmp_path / "run" / "metrics.om").exists() and not (tmp_path / "run" / "monitoring.png").exists()


def test_readme_monitoring_example_validates_and_runs(tmp_path):
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- monitoring-example -->\s*```yaml\n(.+?)\n```", text, re.S)
    assert match, "README has no monitoring-example block"
    path = tmp_path / "readme-monitoring.yaml"
    path.write_text(match.group(1))
    scenario, _ = check_scenario(path)
    assert scenario.monitoring is not None
    result = simulate(scenario)
    frame = result.scrape().frame
    last = frame[(frame["metric"] == "sdsim_client_requests_total") & (frame["time"] == frame["time"].max())]
    assert last["value"].sum() == result.summary()["requests"]["issued"]


def test_the_monitored_scenario_loads():
    scenario = load_scenario(ROOT / "scenarios/monitoring/red-use.yaml")
    assert scenario.monitoring.scrape_interval == 15.0
    assert list(scenario.monitoring.buckets) == list(DEFAULT_BUCKETS)


def test_scenario_error_type_is_the_located_one():
    with pytest.raises(ScenarioError):
        check_scenario("m.yaml", text="name: m\nduration: 10s\nmonitoring: {scrape_interval: 0s}\n"
                                      "workload: [{name: w, entry: s, operation: op, arrivals: {kind: poisson, "
                                      "rate: 1/s}}]\ncomponents: {s: {kind: service, operations: {op: {}}}}\n")


def test_a_scrape_interval_too_small_for_the_run_is_refused_before_it_starts(tmp_path):
    from typer.testing import CliRunner

    from simulator.cli import app

    path = tmp_path / "tiny.yaml"
    path.write_text("""
name: tiny
duration: 30h
sample_interval: 1s
monitoring: {scrape_interval: 1s}
workload:
  - {name: w, entry: svc, operation: op, arrivals: {kind: poisson, rate: 1/s}}
components:
  svc: {kind: service, operations: {op: {work: 1ms}}}
""")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 3 and "Traceback" not in result.stderr
    assert "monitoring.scrape_interval" in result.stderr and "108,000 scrapes" in result.stderr
    assert "use at least 1.08s" in result.stderr


def test_a_duration_on_a_bucket_bound_counts_in_that_bucket_despite_float_rounding():
    """t_end − t_issue of a 100 ms request is 0.1 only up to float rounding (20.3 − 20.2 is a hair above
    0.1): every such request belongs in le=0.1, as a client library observing 0.1 would put it."""
    import numpy as np

    from simulator.monitoring.scrape import _histogram

    issues = np.array([10.0, 20.2, 1000.7, 12345.6])
    ends = issues + 0.1
    durations = ends - issues
    assert (durations > 0.1).any() and (durations < 0.1).any()  # the rounding this test is about
    bounds = np.array([0.05, 0.1, 0.25])
    edges = np.array([0.0, 20_000.0])
    hist = _histogram(None, (), ends, durations, bounds, edges, 20_000.0)
    assert hist.buckets.tolist() == [[0, 4, 4, 4]]
