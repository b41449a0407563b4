"""Sliders over a scenario's ``params``, for notebooks: move one and the run and chart redo.

>>> from simulator.interactive import explore
>>> explore("scenarios/theory/mmc.yaml", ["arrival_rate", "servers"])   # doctest: +SKIP

:func:`explore` builds an ipywidgets ``VBox``: one slider per parameter, a one-line summary
(p50/p99 latency, availability, throughput) and the chosen chart. Every change re-loads the
scenario file with the slider values as ``--param`` overrides and runs it again with the same
seed, so two settings differ only by the parameters moved (common random numbers).

The pure part, :func:`run_and_summarise`, needs no widgets and is what the tests and any
other front end call. ipywidgets is imported only inside :func:`explore`; it comes with
``pip install "sdsim[notebooks]"``.
"""

from __future__ import annotations

import html
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from . import present
from .errors import ScenarioError
from .present import NOTEBOOK
from .scenario import load_scenario
from .scenario.model import Param, Scenario
from .units import parse_duration

if TYPE_CHECKING:
    from .metrics.result import Result

__all__ = ["PLOTS", "explore", "run_and_summarise", "run_sets", "slider_bounds", "summary_line"]

#: chart name accepted by :func:`explore` → what it draws, ``result.plot.<name>()`` (:mod:`simulator.viz`)
PLOTS = {"latency": "latency percentiles over time", "throughput": "throughput and availability over time",
         "components": "utilization and queue per component", "distribution": "latency histogram and CDF",
         "replicas": "ready replicas and autoscaler decisions", "hit_ratio": "each cache's hit ratio over time",
         "consumer_lag": "each broker group's consumer lag over time"}

_INSTALL_HINT = 'explore() needs ipywidgets: pip install "sdsim[notebooks]" (or pip install ipywidgets)'


# ----------------------------------------------------------------------------- the pure part

def run_sets(path: str | Path, sets: Iterable[str] | None = None, duration: str | float | None = None) -> list[str]:
    """The ``--set`` overrides for a run of *path* shortened (or lengthened) to *duration*.

    The warmup keeps its share of the run (a 5000 s run with 500 s warmup cut to 600 s gets a
    60 s warmup) unless *sets* sets ``warmup`` itself.
    """
    sets = list(sets or [])
    if duration is None:
        return sets
    seconds = parse_duration(duration)
    if not any(s.partition("=")[0].strip() == "warmup" for s in sets):
        base = load_scenario(path, sets=sets)
        sets.append(f"warmup={base.warmup * seconds / base.duration:.6g}s")  # a bare number is refused
    sets.append(f"duration={seconds:.6g}s")
    return sets


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.10g}" if math.isfinite(value) else repr(value)
    return str(value)


def summary_line(summary: Mapping[str, Any]) -> str:
    """One line for a :meth:`Result.summary` dict: p50/p99 latency (ms; s from 10 s), availability,
    throughput, in the notebook's typography (:data:`simulator.present.NOTEBOOK`)."""
    latency = summary["latency_s"]
    return (f"p50 {present.fixed_latency(latency['p50'], NOTEBOOK)}"
            f" · p99 {present.fixed_latency(latency['p99'], NOTEBOOK)}"
            f" · availability {present.percent(summary['availability'], 2, NOTEBOOK)}"
            f" · throughput {present.rate(summary['throughput_rps'], 2, NOTEBOOK)}")


def run_and_summarise(path: str | Path, values: Mapping[str, Any] | None = None, *, seed: int | None = None,
                      sets: Iterable[str] | None = None, duration: str | float | None = None) -> tuple["Result", str]:
    """Load *path* with *values* as ``--param`` overrides, run it, return the result and :func:`summary_line`.

    Args:
        path: the scenario YAML file.
        values: ``{param: value}`` overrides of the file's declared ``params``.
        seed: run seed (default: the scenario's own).
        sets: ``dotted.path=value`` overrides of any field, as for :func:`load_scenario`.
        duration: run length (``"600s"``, ``"10m"`` or seconds); the warmup keeps its share.

    Raises:
        ScenarioError: the combination does not make a valid scenario.
    """
    from .simulation import simulate

    params = [f"{name}={_format_value(value)}" for name, value in (values or {}).items()]
    scenario = load_scenario(path, params=params, sets=run_sets(path, sets, duration))
    result = simulate(scenario, seed=seed)
    return result, summary_line(result.summary())


def _nice_step(span: float) -> float:
    """About a hundredth of *span*, rounded to 1, 2 or 5 times a power of ten."""
    if span <= 0 or not math.isfinite(span):
        return 0.1
    raw = span / 100
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw * 0.999)


def slider_bounds(param: Param) -> tuple[float, float, float] | tuple[int, int, int]:
    """``(min, max, step)`` for a numeric parameter: its declared bounds, else a range around the default.

    Integers get step 1 and, without bounds, ``[max(1, d // 4), max(3d, d + 10)]`` (or
    ``[d - 10, d + 10]`` for ``d < 1``); floats ``[d / 10, 3 d]`` (``[0, 1]`` for zero) and a
    step of about a hundredth of the range. The default always lies inside.
    """
    d = param.default
    if isinstance(d, bool) or not isinstance(d, (int, float)):
        raise TypeError(f"parameter default {d!r} is not a number: no slider for it")
    if isinstance(d, int):
        lo = int(math.ceil(param.min)) if param.min is not None else (max(1, d // 4) if d >= 1 else d - 10)
        hi = int(math.floor(param.max)) if param.max is not None else (max(3 * d, d + 10) if d >= 1 else d + 10)
        lo, hi = min(lo, d), max(hi, d, lo + 1)
        return lo, hi, 1
    if param.min is not None:
        lo = float(param.min)
    else:
        lo = 0.0 if d == 0 else (d / 10 if d > 0 else 3 * d)
    if param.max is not None:
        hi = float(param.max)
    else:
        hi = 1.0 if d == 0 else (3 * d if d > 0 else d / 10)
    lo, hi = min(lo, d), max(hi, d)
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    return lo, hi, _nice_step(hi - lo)


# ----------------------------------------------------------------------------- the widget

def _png(figure: Any) -> Any:
    """The figure as an IPython PNG image: shows in any frontend, whatever matplotlib backend is active."""
    from IPython.display import Image

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return Image(data=buffer.getvalue(), format="png")


def _close(figure: Any) -> None:
    """Release a figure pyplot keeps track of (the charts build bare Figures, which need nothing)."""
    if getattr(getattr(figure, "canvas", None), "manager", None) is not None:
        import matplotlib.pyplot as plt

        plt.close(figure)


def _numeric_params(scenario: Scenario) -> list[str]:
    return [name for name, p in scenario.params.items()
            if isinstance(p.default, (int, float)) and not isinstance(p.default, bool) and p.choices is None]


def _choice_params(scenario: Scenario) -> list[str]:
    return [name for name, p in scenario.params.items() if p.choices is not None]


def explore(scenario: str | Path, params: list[str] | None = None, *, plot: str = "latency",
            seed: int | None = None, sets: list[str] | None = None, duration: str | float | None = None):
    """An ipywidgets ``VBox`` with sliders over *scenario*'s params; each change re-runs and redraws.

    Args:
        scenario: path to the scenario YAML file (the file is re-read on every change, since
            params are substituted in the YAML text before validation).
        params: which declared params get a slider (default: every numeric one, and a drop-down
            for every one with ``choices``). Bounds are the param's ``min``/``max``, or a range
            around the default (:func:`slider_bounds`).
        plot: the chart under the sliders: ``"latency"``, ``"throughput"``, ``"components"``,
            ``"distribution"``, ``"replicas"``, ``"hit_ratio"`` or ``"consumer_lag"``.
        seed: run seed, the same for every setting (default: the scenario's own).
        sets: extra ``dotted.path=value`` overrides applied to every run.
        duration: run length for every run (``"600s"``); shorter runs redraw faster. The
            warmup keeps its share of the run unless *sets* sets it.

    The returned box has attributes ``sliders`` (``{param: slider}``), ``summary`` (the HTML
    line), ``output`` (the ``Output`` holding the chart), ``rerun()`` and ``result`` (the latest
    :class:`~simulator.Result`, ``None`` after an error). A setting that makes an invalid
    scenario shows the problem as text in the box instead of raising.

    Raises:
        ImportError: ipywidgets is not installed.
        ScenarioError: the file itself cannot be loaded.
        ValueError: unknown *plot*, or a name in *params* the file does not declare or that is not numeric.
    """
    try:
        import ipywidgets as widgets
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    from IPython.display import display

    if plot not in PLOTS:
        raise ValueError(f"unknown plot {plot!r} (expected one of: {', '.join(PLOTS)})")
    if isinstance(scenario, Scenario):
        raise TypeError("explore() needs the scenario's file path (params are applied to the YAML text), "
                        "not a loaded Scenario")
    path = Path(scenario)
    base_sets = list(sets or [])
    base = load_scenario(path, sets=base_sets)
    numeric = _numeric_params(base)
    choice = _choice_params(base)
    chosen = list(params) if params is not None else numeric + choice
    for name in chosen:
        if name not in base.params:
            raise ValueError(f"{path}: no parameter {name!r} (declared: {', '.join(base.params) or 'none'})")
        if name not in numeric and name not in choice:
            raise ValueError(f"{path}: parameter {name!r} is not numeric and has no choices "
                             f"(default {base.params[name].default!r})")
    run_with = run_sets(path, base_sets, duration)

    sliders: dict[str, Any] = {}
    for name in chosen:
        spec = base.params[name]
        if name in choice:  # a drop-down of the declared values
            sliders[name] = widgets.Dropdown(options=list(spec.choices), value=spec.default, description=name,
                                             tooltip=spec.description or name, style={"description_width": "initial"},
                                             layout=widgets.Layout(width="460px"))
            continue
        lo, hi, step = slider_bounds(spec)
        common = dict(value=spec.default, min=lo, max=hi, step=step, description=name,
                      tooltip=spec.description or name, continuous_update=False,
                      style={"description_width": "initial"}, layout=widgets.Layout(width="460px"))
        if isinstance(spec.default, int):
            sliders[name] = widgets.IntSlider(**common)
        else:
            decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
            sliders[name] = widgets.FloatSlider(readout_format=f".{decimals}f", **common)
    summary = widgets.HTML()
    output = widgets.Output()
    box = widgets.VBox([*sliders.values(), summary, output])

    def rerun(_change: Any = None) -> None:
        values = {name: slider.value for name, slider in sliders.items()}
        try:
            result, line = run_and_summarise(path, values, seed=seed, sets=run_with)
        except Exception as exc:  # shown, not raised: a callback's exception would vanish in a log
            box.result = None
            text = str(exc) if isinstance(exc, ScenarioError) else f"{type(exc).__name__}: {exc}"
            summary.value = f"<pre style='color:#b00020'>{html.escape(text)}</pre>"
            output.clear_output()
            return
        box.result = result
        summary.value = html.escape(line)
        with output:
            output.clear_output(wait=True)
            figure = getattr(result.plot, plot)()
            try:
                display(_png(figure))
            finally:
                _close(figure)

    for slider in sliders.values():
        slider.observe(rerun, names="value")
    box.sliders, box.summary, box.output, box.rerun, box.result = sliders, summary, output, rerun, None
    rerun()
    return box
