"""Charts of a sweep: a metric against a parameter, with its 95 % confidence band.

:func:`plot_sweep` draws the per-point mean of *metric* against one swept parameter, a
shaded band from the 95 % t interval over the replications, and one line per combination
of the other parameters (colours from :data:`simulator.viz.style.CYCLE`). When the
scenario has an SLO on that metric the objective is drawn as a dashed line. Latency is
shown in ms, rates in req/s; the title names the scenario, base seed and replications:
``"mmc · seed 1 · 5 replications — latency p99 vs servers"``.

A parameter whose values are positive and evenly spaced on a log scale (``log:1:1000:7``)
gets a log x axis; text values are placed evenly in grid order.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..declared import ratio_labels
from ..viz.style import CYCLE, ROLES, new_figure, style_axes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .sweep import SweepResult

__all__ = ["metric_label", "plot_sweep"]

_LABELS = {"throughput_rps": "throughput", "goodput_rps": "goodput", "availability": "availability",
           "utilization": "utilization", "p_wait": "P(wait)", "wait_mean": "mean wait",
           "queue_len_mean": "mean queue length", "issued": "requests issued"}


def _is_latency(metric: str) -> bool:
    last = metric.rsplit(".", 1)[-1]
    return last.startswith("latency_") or last == "wait_mean" or (metric.startswith("slo.") and "latency" in metric)


def metric_label(metric: str, slo_metric: str | None = None) -> tuple[str, float]:
    """(axis label with unit, multiplier from record units): ``("latency p99 (ms)", 1000.0)``."""
    parts = metric.split(".")
    last = parts[-1]
    scope = f"{parts[1]} " if len(parts) >= 3 and parts[0] in ("op", "component", "slo") else ""
    if last == "passed":
        return f"SLO {parts[1]!r}: share of replications passing", 1.0
    if last == "value" and slo_metric:
        inner, scale = metric_label(_SLO_UNITS.get(slo_metric, slo_metric))
        return f"SLO {parts[1]!r}: {inner}", scale
    if _is_latency(metric):
        name = _LABELS.get(last, last.replace("latency_", "latency ").replace("p999", "p99.9"))
        return f"{scope}{name} (ms)", 1e3
    if last.endswith("_rps"):
        return f"{scope}{_LABELS.get(last, last.removesuffix('_rps'))} (req/s)", 1.0
    if last == "availability":
        return f"{scope}availability (ok / issued)", 1.0
    if last == "utilization":
        return f"{scope}utilization (busy / workers)", 1.0
    ratios = ratio_labels() if parts[0] == "component" else {}
    if last in ratios:
        return f"{scope}{ratios[last]}", 1.0
    return f"{scope}{_LABELS.get(last, last)}", 1.0


_SLO_UNITS = {"throughput": "throughput_rps", "goodput": "goodput_rps", "error_rate": "error_rate"}


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _log_spaced(values: list[float]) -> bool:
    xs = sorted(set(values))
    if len(xs) < 3 or xs[0] <= 0 or xs[-1] / xs[0] < 4:
        return False
    logs = [math.log(x) for x in xs]
    steps = [b - a for a, b in zip(logs, logs[1:])]
    return max(steps) - min(steps) <= 0.05 * max(steps)


def _slo_for(result: "SweepResult", metric: str, slo: Any) -> dict[str, Any] | None:
    if slo is False:
        return None
    if isinstance(slo, (int, float)) and not isinstance(slo, bool):
        return {"name": "target", "bound": None, "targets": [float(slo)] * len(result.points)}
    if isinstance(slo, str):
        found = [s for s in result.slos if s["name"] == slo]
        if not found:
            raise ValueError(f"no SLO named {slo!r} (the scenario has: {', '.join(s['name'] for s in result.slos) or 'none'})")
        return found[0]
    if metric.startswith("slo.") and metric.endswith(".value"):
        return next((s for s in result.slos if f"slo.{s['name']}.value" == metric), None)
    return next((s for s in result.slos if s["column"] == metric), None)


def plot_sweep(result: "SweepResult", metric: str = "latency_p99", param: str | None = None, slo: Any = None, *,
               figsize: tuple[float, float] = (8, 4.5)) -> "Figure":
    """*metric* (a record column, e.g. ``latency_p99``, ``availability``, ``op.buy.latency_p99``,
    ``component.db.utilization``) against *param* (default: the first parameter with more than
    one value) with 95 % CI bands, one line per combination of the other parameters.

    *slo*: ``None`` draws the scenario's SLO on this metric if it has one, ``False`` none,
    an SLO name that SLO, a number a target line at that value (in record units: seconds
    for latency).
    """
    if not result.grid:
        raise ValueError("the sweep has no parameters to plot against (it only replicated one point)")
    if metric not in result.metrics:
        raise ValueError(f"no metric {metric!r} in this sweep (expected one of: {', '.join(result.metrics)})")
    if param is None:
        param = next((n for n, v in result.grid.items() if len(v) > 1), next(iter(result.grid)))
    if param not in result.grid:
        raise ValueError(f"{param!r} is not a swept parameter (swept: {', '.join(result.grid)})")
    others = [n for n in result.grid if n != param]
    xs_all = result.grid[param]
    numeric = _numeric(xs_all)
    position = {v: i for i, v in enumerate(xs_all)} if not numeric else None

    target = _slo_for(result, metric, slo)
    label, scale = metric_label(metric, target.get("metric") if target else None)

    fig = new_figure(figsize=figsize, layout="constrained")
    ax = style_axes(fig.add_subplot())
    rows = result.aggregate().to_dict("records")
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[n] for n in others), []).append(row)

    targets = _targets(result, target, scale)
    constant = len({t for t in targets.values() if t is not None}) == 1
    sign = {"max": "≤ ", "min": "≥ "}.get(target.get("bound"), "") if target else ""
    if target is not None and constant:
        value = next(t for t in targets.values() if t is not None)
        ax.axhline(value, color=ROLES["failed"], linestyle="--", linewidth=1.2,
                   label=f"SLO {target['name']}: {sign}{value:.4g}")

    for g, (combo, members) in enumerate(groups.items()):
        members = sorted(members, key=lambda r: r[param] if numeric else position[r[param]])
        x = [r[param] if numeric else position[r[param]] for r in members]
        mean = [_scaled(r[f"{metric}.mean"], scale) for r in members]
        low = [_scaled(r[f"{metric}.ci_low"], scale) for r in members]
        high = [_scaled(r[f"{metric}.ci_high"], scale) for r in members]
        color = CYCLE[g % len(CYCLE)]
        name = ", ".join(f"{n}={v:g}" if isinstance(v, float) else f"{n}={v}" for n, v in zip(others, combo))
        ax.plot(x, mean, marker="o", markersize=3.5, linewidth=1.6, color=color, label=name or "mean")
        if result.replications > 1:
            ax.fill_between(x, low, high, color=color, alpha=0.2, linewidth=0,
                            label="95 % CI" if not others else None)
        if target is not None and not constant:  # the target is itself a parameter: one target line per line
            line = [targets.get(r["point"]) for r in members]
            ax.plot(x, [math.nan if t is None else t for t in line], color=color, linestyle="--", linewidth=1.1,
                    label=f"SLO {target['name']}: {sign}target" if g == 0 else None)

    if numeric and _log_spaced([float(v) for v in xs_all]):
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        ax.set_xscale("log")
        if len(xs_all) <= 12:  # label the swept values themselves: 1, 2, 4, 8, 16
            ax.set_xticks(sorted(xs_all))
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_formatter(NullFormatter())
    if not numeric:
        ax.set_xticks(range(len(xs_all)), [str(v) for v in xs_all])
    description = result.param_descriptions.get(param)
    if numeric and all(isinstance(v, int) for v in xs_all) and ax.get_xscale() == "linear":
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"{param} — {description}" if description else param)
    ax.set_ylabel(label)
    ax.set_title(f"{result.scenario} · seed {result.seed} · {result.replications} replication"
                 f"{'s' if result.replications != 1 else ''} — {label.split(' (')[0]} vs {param}",
                 fontsize=11, loc="left")
    handles, labels = ax.get_legend_handles_labels()
    if labels:
        title = "mean, 95 % CI band" if result.replications > 1 else "one replication"
        ax.legend(frameon=False, fontsize=8.5, title=title, title_fontsize=8.5,
                  **({"loc": "upper left", "bbox_to_anchor": (1.01, 1.0)} if others else {"loc": "best"}))
    return fig


def _scaled(value: Any, scale: float) -> float:
    return float("nan") if value is None or value != value else float(value) * scale


def _targets(result: "SweepResult", slo: dict[str, Any] | None, scale: float) -> dict[int, float | None]:
    """Point → SLO target in axis units (targets may differ per point when they are parameters)."""
    if slo is None:
        return {}
    return {i: None if t is None else t * scale for i, t in enumerate(slo["targets"])}
