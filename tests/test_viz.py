"""Charts (simulator.viz): what each figure must show, checked on the Figure objects themselves.

Specification, per chart:

* every function returns a fresh ``matplotlib.figure.Figure`` (no pyplot state) with a
  fixed number of data axes;
* the title names the scenario and the seed (``"<scenario> · seed <seed> — …"``);
* every axis label carries a unit in parentheses;
* the legend names what is drawn (p50/p95/p99, throughput/goodput, designs …);
* the warm-up and each fault interval are shaded (a patch spanning exactly the interval,
  tagged with a gid) and named in the legend (``"crash: svc"``);
* a run without successful requests still draws, with a "no data" note;
* long runs are drawn with merged buckets whose counts add up to the per-interval ones.
"""

from __future__ import annotations

import struct
import sys

import numpy as np
import pytest
from helpers import scenario, service
from matplotlib.figure import Figure

from simulator import load_scenario, present, simulate
from simulator.viz import (plot_comparison, plot_components, plot_distribution, plot_latency, plot_throughput,
                           plot_topology)
from simulator.viz import style
from simulator.viz.charts import _timeseries

FAULT = (100.0, 120.0)


@pytest.fixture(scope="module")
def mmc():
    return simulate(load_scenario("scenarios/theory/mmc.yaml", sets=["duration=300s", "warmup=30s"]))


@pytest.fixture(scope="module")
def faulty():
    spec = scenario({"svc": service("20ms", workers=2, steps=[{"call": "db.read"}]),
                     "db": {"kind": "database", "connections": 4, "operations": {"read": {"work": "5ms"}}}},
                    rate="40/s", duration="300s", warmup="30s",
                    faults=[{"kind": "crash", "target": "svc", "at": f"{FAULT[0]:g}s", "for": f"{FAULT[1] - FAULT[0]:g}s"}])
    return simulate(spec)


@pytest.fixture(scope="module")
def dead():
    """Nothing succeeds: the only service is down for the whole run."""
    spec = scenario({"svc": service("10ms")}, rate="5/s", duration="60s", warmup="10s",
                    faults=[{"kind": "crash", "target": "svc", "at": "0s", "for": "120s"}])
    return simulate(spec)


# ----------------------------------------------------------------------------- helpers


def data_axes(fig: Figure) -> list:
    """Axes holding data (colorbars and the like excluded)."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def titles(fig: Figure) -> str:
    parts = [fig.get_suptitle()] + [ax.get_title(loc) for ax in fig.axes for loc in ("left", "center", "right")]
    return " | ".join(p for p in parts if p)


def legend_texts(fig: Figure) -> list[str]:
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return [t.get_text() for legend in legends for t in legend.get_texts()]


def assert_named(fig: Figure, name: str, seed: int) -> None:
    text = titles(fig)
    assert name in text and f"seed {seed}" in text, text


def assert_units(fig: Figure) -> None:
    """Every data axis has a y label with a unit, and a bottom x label with a unit where labelled."""
    axes = data_axes(fig)
    for ax in axes:
        assert "(" in ax.get_ylabel() and ")" in ax.get_ylabel(), f"y label without unit: {ax.get_ylabel()!r}"
        if ax.get_xlabel():
            assert "(" in ax.get_xlabel(), f"x label without unit: {ax.get_xlabel()!r}"
    assert any(ax.get_xlabel() for ax in axes)


def spans(ax, gid_prefix: str) -> list[tuple[float, float]]:
    """x intervals (data units) of the patches whose gid starts with *gid_prefix*."""
    out = []
    for patch in ax.patches:
        if (patch.get_gid() or "").startswith(gid_prefix):
            out.append((patch.get_x(), patch.get_x() + patch.get_width()))
    return out


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def has_no_data_note(fig: Figure) -> bool:
    return any(t.get_gid() == "no-data" for ax in fig.axes for t in ax.texts)


# ----------------------------------------------------------------------------- style


def test_style_palette_titles_and_scales():
    """Roles use Okabe–Ito colours; titles name scenario and seed; units switch for long spans / slow systems."""
    palette = set(style.OKABE_ITO.values())
    for role in ("p50", "p95", "p99", "throughput", "goodput", "ok", "failed", "fault"):
        assert style.ROLES[role] in palette
    assert len({style.ROLES[r] for r in ("p50", "p95", "p99")}) == 3
    assert style.UTILIZATION_CMAP == "cividis"
    assert style.chart_title("mmc", 7, "latency percentiles") == "mmc · seed 7 — latency percentiles"
    assert style.time_scale(300) == (1.0, "s") and style.time_scale(5000) == (60.0, "min")
    assert style.latency_scale(0.2) == (1e3, "ms") and style.latency_scale(5.0) == (1.0, "s")
    assert present.latency(0.0123, up_to="s") == "12.3 ms"  # chart labels: simulator.present


# ----------------------------------------------------------------------------- charts


def test_latency_chart(mmc):
    """One axis; p50/p95/p99 lines; time in s, latency in s (mmc is slow); warm-up shaded over [0, 30)."""
    fig = plot_latency(mmc)
    assert isinstance(fig, Figure)
    (ax,) = data_axes(fig)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["p50", "p95", "p99"]
    assert {"p50", "p95", "p99"} <= set(legend_texts(fig))
    assert ax.get_xlabel() == "simulated time (s)"
    assert ax.get_ylabel() in ("latency (s)", "latency (ms)")
    assert spans(ax, "warmup") == [(0.0, 30.0)]
    assert ax.get_xlim() == (0.0, 300.0)
    assert_named(fig, "mmc", 1)
    assert_units(fig)


def test_latency_chart_into_given_axes_and_custom_title(mmc):
    """With ax=, the chart draws there and returns that figure; title= replaces only the description."""
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_latency(mmc, ax=ax, title="steady state") is fig
    assert ax.get_title(loc="left") == "mmc · seed 1 — steady state"


def test_fault_is_shaded_and_named_on_time_charts(faulty):
    """The crash interval [100, 120) s is a shaded patch on every time panel and 'crash: svc' is in a legend."""
    for fig in (plot_latency(faulty), plot_throughput(faulty), plot_components(faulty)):
        for ax in data_axes(fig):
            assert spans(ax, "fault:crash:svc") == [FAULT], ax.get_title()
            assert spans(ax, "warmup") == [(0.0, 30.0)]
        assert "crash: svc" in legend_texts(fig)
        assert_named(fig, "test", 1)
        assert_units(fig)


def test_throughput_chart(faulty):
    """Two panels sharing x: rates in req/s with throughput and goodput; availability on a 0–100 % axis."""
    fig = plot_throughput(faulty)
    top, bottom = data_axes(fig)
    assert top.get_shared_x_axes().joined(top, bottom)
    assert top.get_ylabel() == "rate (req/s)" and bottom.get_ylabel() == "availability (%)"
    assert bottom.get_ylim()[0] == 0 and 100 <= bottom.get_ylim()[1] <= 110
    texts = legend_texts(fig)
    assert any(t.startswith("throughput") for t in texts) and any(t.startswith("goodput") for t in texts)
    availability = bottom.get_lines()[0].get_ydata()
    assert np.nanmin(availability) == 0.0 and np.nanmax(availability) == 100.0  # down during the crash


def test_components_chart_busiest_first_and_capped(faulty):
    """One row per component, two columns (utilization %, queue requests), busiest first; max_components caps."""
    summary = faulty.summary()["components"]
    fig = plot_components(faulty)
    axes = data_axes(fig)
    assert len(axes) == 2 * len(summary)
    order = [ax.get_title(loc="left").split(" ")[0] for ax in axes[::2]]
    assert order == sorted(summary, key=lambda c: -summary[c]["utilization"])
    assert all(ax.get_ylabel() == "utilization (%)" for ax in axes[::2])
    assert all(ax.get_ylabel() == "queue (requests)" for ax in axes[1::2])
    capped = plot_components(faulty, max_components=1)
    assert len(data_axes(capped)) == 2
    assert "1 of 2 shown" in titles(capped)


def test_distribution_chart_marks_summary_percentiles(mmc):
    """Histogram + CDF on log ms axes; p50/p95/p99 markers sit at the summary's values and say them."""
    fig = plot_distribution(mmc)
    hist, cdf = data_axes(fig)
    assert hist.get_xscale() == cdf.get_xscale() == "log"
    assert "ms" in hist.get_xlabel() and "ms" in cdf.get_xlabel()
    latency = mmc.summary()["latency_s"]
    texts = legend_texts(fig)
    for name in ("p50", "p95", "p99"):
        assert any(t.startswith(f"{name} = ") for t in texts), texts
        markers = [line.get_xdata()[0] for line in hist.get_lines() if line.get_label().startswith(name)]
        assert markers == [pytest.approx(latency[name] * 1e3)]
    cdf_y = cdf.get_lines()[0].get_ydata()
    assert cdf_y[0] == 0 and cdf_y[-1] == pytest.approx(100)
    n = mmc.summary()["requests"]["ok"]
    assert sum(p.get_height() for p in hist.patches) == pytest.approx(100.0)  # shares of n requests
    assert f"{n:,}" in titles(fig)
    assert_named(fig, "mmc", 1)
    assert_units(fig)


def test_comparison_chart(mmc, faulty):
    """Two panels (p99 over time, CDFs), one colour per design, designs named in the legend."""
    fig = plot_comparison({"ten servers": mmc, "crashy": faulty})
    left, right = data_axes(fig)
    texts = legend_texts(fig)
    assert any(t.startswith("ten servers") for t in texts) and any(t.startswith("crashy") for t in texts)
    assert {line.get_label() for line in left.get_lines()} == {"ten servers", "crashy"}
    assert right.get_xscale() == "log"
    text = titles(fig)
    assert "mmc · seed 1" in text and "test · seed 1" in text
    assert_units(fig)
    same = plot_comparison({"a": mmc, "b": mmc}, title="A vs B")
    assert same.get_suptitle() == "mmc · seed 1 — A vs B"


def test_no_successful_requests_draws_notes(dead):
    """Every chart survives a run where nothing succeeds and says so."""
    assert dead.summary()["requests"]["ok"] == 0
    for fig in (plot_latency(dead), plot_distribution(dead), plot_comparison({"dead": dead}), plot_throughput(dead)):
        assert isinstance(fig, Figure)
        fig.savefig(__import__("io").BytesIO(), format="png")  # draws without error
    assert has_no_data_note(plot_latency(dead))
    assert has_no_data_note(plot_distribution(dead))
    assert has_no_data_note(plot_comparison({}))


def test_result_methods_delegate(mmc):
    """Result.plot_* are the viz functions."""
    for name in ("latency", "throughput", "components", "distribution"):
        fig = getattr(mmc, f"plot_{name}")(title="x")
        assert isinstance(fig, Figure) and "mmc · seed 1 — x" in titles(fig)


def test_no_pyplot_state(mmc):
    """Charts are built without pyplot: no pyplot figure is opened."""
    before = sys.modules["matplotlib.pyplot"].get_fignums() if "matplotlib.pyplot" in sys.modules else []
    plot_latency(mmc), plot_throughput(mmc), plot_distribution(mmc)
    after = sys.modules["matplotlib.pyplot"].get_fignums() if "matplotlib.pyplot" in sys.modules else []
    assert after == before


def test_saved_png_is_substantial(mmc, tmp_path):
    """A chart saved at the style's DPI is a real picture: > 10 kB and at least 800×400 pixels."""
    path = tmp_path / "latency.png"
    plot_latency(mmc).savefig(path, dpi=style.DPI)
    data = path.read_bytes()
    width, height = png_size(data)
    assert len(data) > 10_000 and width >= 800 and height >= 400


def test_topology_is_reexported(mmc):
    fig = plot_topology(mmc.scenario, utilization={"station": 0.5})
    assert isinstance(fig, Figure)


# ----------------------------------------------------------------------------- bucketing


def test_timeseries_matches_a_brute_force_count(faulty):
    """Result.timeseries (vectorised) equals a bucket-by-bucket recount from the request table."""
    ts = faulty.timeseries
    req = faulty.requests
    step = faulty.scenario.sample_interval
    for k in (0, 45, 105, 110, 200, len(ts) - 1):
        lo, hi = k * step, (k + 1) * step
        ended = req[(req.t_end >= lo) & (req.t_end < hi)]
        ok = ended[ended.status == "ok"]
        assert ts.loc[k, "issued"] == ((req.t_issue >= lo) & (req.t_issue < hi)).sum()
        assert ts.loc[k, "ok"] == len(ok) and ts.loc[k, "failed"] == len(ended) - len(ok)
        assert ts.loc[k, "throughput_rps"] == pytest.approx((ended.status != "timeout").sum() / step)
        if len(ok):
            np.testing.assert_allclose(ts.loc[k, ["latency_p50", "latency_p95", "latency_p99"]].to_numpy(float),
                                       np.quantile(ok.latency, [0.5, 0.95, 0.99]))
        else:
            assert np.isnan(ts.loc[k, "latency_p99"])


def test_long_runs_merge_buckets_to_round_widths(mmc):
    """Past max_points buckets, intervals merge into round widths; counts are preserved."""
    fine, _ = _timeseries(mmc, 300.0, max_points=10**6)
    coarse, bucket = _timeseries(mmc, 300.0, max_points=40)
    assert bucket == 10.0 and len(coarse) == 30
    assert coarse["ok"].sum() == fine["ok"].sum() and coarse["issued"].sum() == fine["issued"].sum()
    assert coarse["throughput_rps"].mean() == pytest.approx(fine["throughput_rps"].mean())
    fig = plot_latency(mmc, max_points=40)
    assert "per 10 s bucket" in legend_texts(fig) or any(
        ax.get_legend().get_title().get_text() == "per 10 s bucket" for ax in fig.axes)
