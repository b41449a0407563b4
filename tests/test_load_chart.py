"""Offered load over time (issue 16): the ``arrivals`` columns of ``Result.component_timeseries_at``
and the ``load`` chart (``result.plot.load()``, ``load.png`` of ``sdsim run --out``).

* The arrivals per bucket are the spans' arrival times counted under the bucket rule
  (:mod:`simulator.metrics.grid`): checked against a count written here from the spans,
  on the sample interval and on intervals off it.
* Summary records give exactly the counts of full records on multiples of the
  ``sample_interval`` (``tests/test_streaming.py`` checks the column on its scenarios too).
* Golden §15 (metastable failure, ``scenarios/resilience/metastable.yaml``: μ = 100/s,
  λ = 70/s, τ = 1 s, k = 3, capacity halved for [60, 80) s): once every attempt times out the
  offered load is k·λ = 210/s and the goodput < 5 % of λ for the rest of the run — the
  offered load over [100, 300) s, R = 10 seeds, within 3 SE of 210 (``tests/bands.py``).
* The chart draws what the frames hold: its offered line is the frame's ``arrivals_rps``,
  its goodput line ``timeseries_at``'s ``goodput_rps``, its stacked refusals the tallies
  (``expired`` during the deadline variant's trigger, ``throttled`` at the gateway while the
  scraper runs), and the totals counted without times (a breaker's rejections) are written
  in the panel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bands import assert_replications_within_3se
from typer.testing import CliRunner

from simulator import load_scenario, simulate
from simulator.artifacts import optional_charts
from simulator.cli import app
from simulator.viz import RESULT_CHARTS, plot_load
from simulator.viz.load import load_components, shows_load

ROOT = Path(__file__).resolve().parents[1]
RESILIENCE = ROOT / "scenarios" / "resilience"
SCRAPER = ROOT / "scenarios" / "gateway" / "scraper.yaml"
MMC = ROOT / "scenarios" / "theory" / "mmc.yaml"
LAMBDA, K = 70.0, 3


@pytest.fixture(scope="module")
def runs():
    """Full and summary records of each scenario the chart must show, run once."""
    cache = {}

    def get(path: Path, records: str = "full"):
        key = (path, records)
        if key not in cache:
            cache[key] = simulate(load_scenario(path), records=records)
        return cache[key]

    return get


def arrivals_by_hand(spans, component: str, edges: np.ndarray, end_time: float) -> np.ndarray:
    """Visits of *component* arriving in each bucket: half-open, the last closed when it reaches the end."""
    times = spans.loc[spans["component"] == component, "arrival"].to_numpy()
    out = []
    for j, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        last = j == len(edges) - 2 and hi >= end_time
        out.append(int(((times >= lo) & ((times <= hi) if last else (times < hi))).sum()))
    return np.array(out)


def panel(fig, component: str):
    """The axes of *component*'s panel."""
    found = [ax for ax in fig.axes for line in ax.lines if line.get_gid() == f"offered:{component}"]
    assert len(found) == 1, [line.get_gid() for ax in fig.axes for line in ax.lines]
    return found[0]


def line(ax, gid: str) -> np.ndarray:
    (found,) = [ln for ln in ax.lines if ln.get_gid() == gid]
    return np.asarray(found.get_ydata(), dtype=float)


def stacked_heights(ax, gid: str) -> np.ndarray:
    """Top minus bottom of a ``fill_between(step="post")`` area, one value per bucket."""
    (area,) = [c for c in ax.collections if c.get_gid() == gid]
    y = area.get_paths()[0].vertices[:, 1]
    n = (len(y) - 1) // 4  # a start point, the lower edge (2n - 1 points), the upper one back (2n), a close
    lower, upper = y[1:2 * n][::2], y[2 * n:4 * n][::-1][::2]  # a post step repeats every value twice
    return upper - lower


# ----------------------------------------------------------------------------- the column


@pytest.mark.parametrize("interval, until", [(None, None), (10.0, 300.0), (7.0, 123.4), (0.5, 75.0)])
def test_arrivals_are_the_spans_counted_per_bucket(runs, interval, until):
    result = runs(RESILIENCE / "metastable-deadline.yaml")
    frame = result.component_timeseries_at(interval, until)
    edges = np.append(frame["time"].unique(), result.end_time if until is None else until)
    width = np.diff(edges)
    spans = result.spans
    for component in result.components:
        rows = frame[frame["component"] == component]
        expected = arrivals_by_hand(spans, component, edges, result.end_time)
        assert np.array_equal(rows["arrivals"].to_numpy(), expected), component
        np.testing.assert_allclose(rows["arrivals_rps"].to_numpy(), expected / width, rtol=1e-12)
    if until is None:  # the buckets cover the run, drain included: every visit is counted once
        assert frame["arrivals"].sum() == len(spans)


def test_every_attempt_is_an_arrival_and_the_old_columns_stay(runs):
    result = runs(RESILIENCE / "metastable.yaml")
    frame = result.component_timeseries
    assert list(frame.columns) == ["time", "component", "utilization", "queue_len", "in_system", "arrivals",
                                   "arrivals_rps"]
    server = frame[frame["component"] == "server"]["arrivals"].sum()
    site = result.summary()["components"]["client"]["retry_sites"]["server.handle"]
    # the client's calls in the window made site["attempts"]; the server saw those and the ones outside it
    assert server >= site["attempts"] > site["calls"]
    assert server == len(result.spans.query("component == 'server'"))


@pytest.mark.parametrize("path", [RESILIENCE / "metastable.yaml", RESILIENCE / "metastable-deadline.yaml",
                                  RESILIENCE / "breaker.yaml", SCRAPER])
@pytest.mark.parametrize("interval, until", [(None, None), (None, 100.0)])
def test_summary_records_count_the_arrivals_of_full_records(runs, path, interval, until):
    scenario = load_scenario(path)
    interval = 2 * scenario.sample_interval if interval is None else interval
    full = runs(path).component_timeseries_at(interval, until)
    summary = runs(path, "summary").component_timeseries_at(interval, until)
    assert list(full["component"]) == list(summary["component"])
    assert np.array_equal(full["arrivals"].to_numpy(), summary["arrivals"].to_numpy())
    np.testing.assert_allclose(summary["arrivals_rps"], full["arrivals_rps"], rtol=1e-12)


def test_offered_load_is_k_lambda_once_every_attempt_times_out(golden_zscores):
    """Golden §15 (a): λ = 70, k = 3: after the trigger every attempt times out, so the server is
    offered k·λ = 210/s and the goodput stays below 5 % of λ; 10 seeds, summary records."""
    scenario = load_scenario(RESILIENCE / "metastable.yaml")
    offered = []
    for seed in range(1, 11):
        result = simulate(scenario, seed=seed, records="summary")
        frame = result.component_timeseries_at(100.0, until=300.0)
        offered.append(float(frame[frame["component"] == "server"]["arrivals_rps"].iloc[1:].mean()))
        goodput = result.timeseries_at(10.0, until=300.0)
        assert (goodput.loc[goodput["time"] >= 80.0, "goodput_rps"] < 0.05 * LAMBDA).all(), seed
    assert_replications_within_3se(golden_zscores, offered, K * LAMBDA,
                                   "golden §15 metastable: offered load at the server after the trigger (k·λ)")


# ----------------------------------------------------------------------------- the chart


@pytest.mark.parametrize("records", ["full", "summary"])
def test_the_metastable_chart_draws_offered_three_lambda_against_zero_goodput(runs, records):
    result = runs(RESILIENCE / "metastable.yaml", records)
    assert load_components(result) == ["server"]  # the target of the retries
    fig = result.plot.load()
    ax = panel(fig, "server")
    frame = result.component_timeseries_at(10.0, until=300.0)
    offered = frame[frame["component"] == "server"]["arrivals_rps"].to_numpy()
    assert np.array_equal(line(ax, "offered:server"), offered)
    goodput = result.timeseries_at(10.0, until=300.0)["goodput_rps"].to_numpy()
    assert np.array_equal(line(ax, "goodput:server"), goodput)
    after = frame[frame["component"] == "server"]["time"].to_numpy() >= 80.0
    # ≈ kλ in every bucket: k attempts per Poisson request, so a 10-s count has variance k²·λ·10
    assert np.all(np.abs(offered[after] - K * LAMBDA) < 4 * np.sqrt(K * K * LAMBDA * 10) / 10)
    assert np.all(goodput[after] == 0)
    assert any((p.get_gid() or "") == "fault:slowdown:server" for p in ax.patches)
    (totals,) = [t for t in ax.texts if t.get_gid() == "totals:server"]
    retries = result.summary()["components"]["client"]["retries_sent"]
    assert f"{retries:,} retries" in totals.get_text()


def test_the_deadline_chart_stacks_the_expired_attempts_during_the_trigger(runs):
    result = runs(RESILIENCE / "metastable-deadline.yaml")
    ax = panel(result.plot.load(), "server")
    tallies = result.tally_timeseries_at(10.0, until=300.0)
    expired = tallies[(tallies["component"] == "server") & (tallies["name"] == "expired")]
    heights = stacked_heights(ax, "refused:server:expired")
    np.testing.assert_allclose(heights, expired["value"].to_numpy(), rtol=1e-12, atol=1e-12)
    times = expired["time"].to_numpy()
    assert np.all(expired["count"].to_numpy()[(times >= 60) & (times < 80)] > 0)  # the trigger
    assert np.all(expired["count"].to_numpy()[(times < 60) | (times >= 100)] == 0)


def test_the_scraper_chart_stacks_the_gateways_429s_while_the_scraper_runs(runs):
    result = runs(SCRAPER, "summary")
    assert "gateway" in load_components(result)
    ax = panel(result.plot.load(), "gateway")
    frame = result.component_timeseries_at(1.0, until=300.0)
    assert np.array_equal(line(ax, "offered:gateway"), frame[frame["component"] == "gateway"]["arrivals_rps"])
    tallies = result.tally_timeseries_at(1.0, until=300.0)
    throttled = tallies[(tallies["component"] == "gateway") & (tallies["name"] == "throttled")]
    np.testing.assert_allclose(stacked_heights(ax, "refused:gateway:throttled"), throttled["value"], atol=1e-12)
    times, count = throttled["time"].to_numpy(), throttled["count"].to_numpy()
    scraping = (times >= 121) & (times < 239)  # the scraper's profile: 1,500/s in [2 min, 4 min)
    assert count[scraping].min() > 0 and count[(times < 119) | (times >= 241)].sum() == 0
    # refusals are part of what was offered
    offered = frame[frame["component"] == "gateway"]["arrivals"].to_numpy()
    assert np.all(count <= offered)


def test_the_breaker_chart_shows_the_callee_starved_while_the_breaker_is_open(runs):
    result = runs(RESILIENCE / "breaker.yaml")
    assert load_components(result) == ["recommendations"]
    ax = panel(result.plot.load(), "recommendations")
    hatched = [p for p in ax.patches if p.get_gid() == "breaker-open:shop->recommendations.suggest"]
    assert hatched
    (totals,) = [t for t in ax.texts if t.get_gid() == "totals:recommendations"]
    rejected = result.summary()["components"]["shop"]["breaker_rejected"]
    assert rejected > 0 and f"{rejected:,} rejected by its breaker" in totals.get_text()
    frame = result.component_timeseries_at(1.0, until=180.0)
    rows = frame[frame["component"] == "recommendations"]
    offered = line(ax, "offered:recommendations")
    assert np.array_equal(offered, rows["arrivals_rps"].to_numpy())
    before = offered[(rows["time"] >= 10) & (rows["time"] < 60)].mean()  # λ = 50/s reaches the callee
    starts = rows["time"].to_numpy()
    states = result.components["shop"].table("breaker_states")
    assert before == pytest.approx(50, rel=0.1)
    # while open (2 s after each opening, before the 10-s wait ends) no call reaches the callee
    for t in states.loc[states["to_state"] == 1, "time"]:
        inside = (starts >= t + 1) & (starts < t + 9)
        assert offered[inside].sum() == 0, t


def test_without_a_mechanism_the_busiest_components_are_drawn_and_no_file_is_written():
    result = simulate(load_scenario(MMC, sets=["duration=120s", "warmup=10s"]))
    assert not shows_load(result) and "load" not in optional_charts(result)
    busiest = load_components(result)
    assert busiest and busiest[0] in result.components
    fig = plot_load(result)
    assert panel(fig, busiest[0]) is not None


def test_the_chart_is_registered_and_refuses_an_unknown_component(runs):
    result = runs(RESILIENCE / "metastable.yaml")
    assert RESULT_CHARTS["load"] is plot_load and "load" in dir(result.plot)
    with pytest.raises(ValueError, match=r"no component 'nope' \(components: client, server\)"):
        result.plot.load(["nope"])
    fig = result.plot.load(["client", "server"])
    assert panel(fig, "client") is not panel(fig, "server")


def test_run_out_writes_load_png_and_the_report_shows_it(tmp_path):
    out = tmp_path / "run"
    done = CliRunner().invoke(app, ["run", str(RESILIENCE / "metastable-deadline.yaml"), "--out", str(out)])
    assert done.exit_code == 0, done.stderr
    assert (out / "load.png").stat().st_size > 10_000
    assert 'alt="load chart"' in (out / "report.html").read_text()
    (table,) = [out / f"components.{ext}" for ext in ("csv", "parquet") if (out / f"components.{ext}").exists()]
    frame = pd.read_parquet(table) if table.suffix == ".parquet" else pd.read_csv(table)
    assert {"arrivals", "arrivals_rps"} <= set(frame.columns) and frame["arrivals"].sum() > 0
