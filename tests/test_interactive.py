"""simulator.interactive: the pure run-and-summarise step and the slider widget built on it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from simulator import ScenarioError, load_scenario
from simulator.interactive import PLOTS, _png, explore, run_and_summarise, run_sets, slider_bounds, summary_line
from simulator.scenario.model import Param

widgets = pytest.importorskip("ipywidgets")

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "theory" / "mmc.yaml"
SHORT = "300s"  # keeps every re-run to a few hundredths of a second


@pytest.fixture
def mmc_with_zero_servers_allowed(tmp_path: Path) -> Path:
    """mmc.yaml whose servers slider reaches 0, which the model rejects (workers must be >= 1)."""
    text = MMC.read_text().replace("servers: {default: 10, min: 1,", "servers: {default: 10, min: 0,")
    assert "min: 0," in text
    path = tmp_path / "mmc.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def drawn(monkeypatch) -> list:
    """Skip the PNG encoding of each redraw (the slowest step); collect the figures instead."""
    figures: list = []
    monkeypatch.setattr("simulator.interactive._png", lambda figure: figures.append(figure) or "figure")
    return figures


# ----------------------------------------------------------------------------- the pure part

def test_run_and_summarise_applies_params_and_duration():
    result, line = run_and_summarise(MMC, {"servers": 12, "arrival_rate": 5.0}, duration=SHORT, seed=3)
    scenario = result.scenario
    assert scenario.params["servers"].default == 12
    assert scenario.params["arrival_rate"].default == 5.0
    assert scenario.components["station"].workers == 12
    assert (scenario.duration, scenario.warmup) == (300.0, 30.0)  # the warmup keeps its 10 % share
    assert result.seed == 3
    summary = result.summary()
    assert summary["throughput_rps"] == pytest.approx(5.0, rel=0.2)
    assert line == summary_line(summary)
    assert line.startswith("p50 ") and " p99 " in line and "availability 100.00%" in line and "req/s" in line


def test_run_and_summarise_same_inputs_same_result():
    (a, line_a), (b, line_b) = (run_and_summarise(MMC, {"servers": 11}, duration=SHORT) for _ in range(2))
    assert line_a == line_b
    assert a.summary() == b.summary()


def test_run_sets_keeps_an_explicit_warmup_and_passes_other_sets():
    assert run_sets(MMC, ["warmup=10s", "seed=4"], "100s") == ["warmup=10s", "seed=4", "duration=100s"]
    assert run_sets(MMC, ["seed=4"], None) == ["seed=4"]
    assert run_sets(MMC, None, "10m") == ["warmup=60s", "duration=600s"]  # with the unit: a bare 600 is refused


def test_run_and_summarise_raises_scenario_error_for_a_bad_combination(mmc_with_zero_servers_allowed):
    with pytest.raises(ScenarioError, match="workers"):
        run_and_summarise(mmc_with_zero_servers_allowed, {"servers": 0}, duration=SHORT)


def test_summary_line_handles_no_successful_requests_and_long_latencies():
    summary = {"latency_s": {"p50": None, "p99": None}, "availability": None, "throughput_rps": 0.0}
    assert summary_line(summary) == "p50 n/a · p99 n/a · availability n/a · throughput 0.00 req/s"
    summary = {"latency_s": {"p50": 0.0123, "p99": 42.0}, "availability": 0.5, "throughput_rps": 1234.5}
    assert summary_line(summary) == "p50 12.3 ms · p99 42.0 s · availability 50.00% · throughput 1,234.50 req/s"


@pytest.mark.parametrize(("param", "expected"), [
    (Param(default=9.0, min=0.5, max=9.9), (0.5, 9.9, 0.1)),
    (Param(default=1.0), (0.1, 3.0, 0.05)),
    (Param(default=0.0), (0.0, 1.0, 0.01)),
    (Param(default=10, min=1, max=40), (1, 40, 1)),
    (Param(default=10), (2, 30, 1)),
    (Param(default=0), (-10, 10, 1)),
])
def test_slider_bounds(param, expected):
    assert slider_bounds(param) == pytest.approx(expected)


def test_a_default_outside_its_bounds_never_reaches_a_slider():
    """Once the slider widened itself to reach such a default; the scenario now refuses it."""
    with pytest.raises(ValueError, match="outside the declared range"):
        Param(default=50, min=1, max=40)


def test_slider_bounds_refuses_non_numbers():
    for default in ("fast", True):
        with pytest.raises(TypeError):
            slider_bounds(Param(default=default))


# ----------------------------------------------------------------------------- the widget

def test_explore_builds_the_requested_sliders(drawn):
    box = explore(MMC, ["arrival_rate", "servers"], duration=SHORT)
    assert isinstance(box, widgets.VBox)
    assert list(box.sliders) == ["arrival_rate", "servers"]
    rate, servers = box.sliders["arrival_rate"], box.sliders["servers"]
    assert isinstance(rate, widgets.FloatSlider) and isinstance(servers, widgets.IntSlider)
    declared = load_scenario(MMC).params  # the sliders take the bounds the scenario declares
    assert (rate.min, rate.max, rate.value) == (declared["arrival_rate"].min, declared["arrival_rate"].max, 9.0)
    assert (servers.min, servers.max, servers.value, servers.step) == (declared["servers"].min,
                                                                       declared["servers"].max, 10, 1)
    assert rate.description == "arrival_rate" and not rate.continuous_update
    assert box.children[:2] == (rate, servers)
    assert box.summary in box.children and box.output in box.children
    assert box.summary.value.startswith("p50 ")  # the first run happened
    assert box.result.scenario.duration == 300.0


def test_explore_defaults_to_every_numeric_param(drawn):
    box = explore(MMC, duration=SHORT)
    assert list(box.sliders) == list(load_scenario(MMC).params)


def test_moving_a_slider_reruns_and_redraws(drawn):
    box = explore(MMC, ["servers"], duration=SHORT)
    before = box.summary.value
    assert len(drawn) == 1
    box.sliders["servers"].value = 12
    assert box.summary.value != before
    assert box.result.scenario.components["station"].workers == 12
    assert box.summary.value == summary_line(box.result.summary())
    assert len(drawn) == 2


def test_a_bad_value_shows_an_error_instead_of_raising(mmc_with_zero_servers_allowed, drawn):
    box = explore(mmc_with_zero_servers_allowed, ["servers"], duration=SHORT)
    assert box.sliders["servers"].min == 0
    box.sliders["servers"].value = 0  # must not raise
    assert box.result is None
    assert "workers" in box.summary.value and "greater than or equal to 1" in box.summary.value
    box.sliders["servers"].value = 11  # and it recovers
    assert box.result is not None and box.summary.value.startswith("p50 ")
    assert len(drawn) == 2  # the first run and the recovery; nothing drawn for the error


@pytest.mark.parametrize("plot", list(PLOTS))
def test_every_plot_kind_draws_and_leaks_no_figure(plot):
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    box = explore(MMC, ["servers"], plot=plot, duration=SHORT)
    box.sliders["servers"].value = 11
    assert box.result is not None
    assert plt.get_fignums() == open_before


def test_the_chart_is_a_png_image():
    from IPython.display import Image

    result, _ = run_and_summarise(MMC, duration=SHORT)
    image = _png(result.plot_latency())
    assert isinstance(image, Image) and image.format == "png" and image.data.startswith(b"\x89PNG")


def test_explore_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown plot"):
        explore(MMC, ["servers"], plot="pie")
    with pytest.raises(ValueError, match="no parameter 'nope'"):
        explore(MMC, ["nope"])
    text_param = tmp_path / "named.yaml"
    text_param.write_text(MMC.read_text().replace("params:\n", "params:\n  label: {default: fast}\n"))
    with pytest.raises(ValueError, match="not numeric"):
        explore(text_param, ["label"])
    with pytest.raises(TypeError, match="file path"):
        explore(load_scenario(MMC), ["servers"])
    with pytest.raises(ScenarioError):
        explore(tmp_path / "missing.yaml")


def test_explore_without_ipywidgets_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # makes `import ipywidgets` raise ImportError
    with pytest.raises(ImportError, match=r'pip install "sdsim\[notebooks\]"'):
        explore(MMC)


def test_a_pyplot_figure_is_closed_after_display(monkeypatch, drawn):
    """Should a chart come from pyplot (which keeps every figure open), explore() closes it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simulator import Result

    monkeypatch.setattr(Result, "plot_latency", lambda self, **kwargs: plt.figure())
    open_before = plt.get_fignums()
    box = explore(MMC, ["servers"], duration=SHORT)
    box.sliders["servers"].value = 11
    assert len(drawn) == 2
    assert plt.get_fignums() == open_before
