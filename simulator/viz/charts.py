"""Charts of one run (or several designs): pure functions from a :class:`~simulator.Result` to a Figure.

Every function builds a fresh :class:`matplotlib.figure.Figure` with the object-oriented
API — no pyplot state, nothing leaks between calls, no display needed — and returns it.
Save it with ``fig.savefig(path)``; in a notebook, display it with ``display(fig)``.

Conventions shared by all charts:

* The title always names the run, ``"<scenario> · seed <seed> — <what>"``; a ``title``
  argument replaces only the ``<what>`` part.
* Simulated time on x in seconds, or minutes / hours for long runs; latency in ms, or s
  when the values are large; every axis label carries its unit.
* The warm-up interval (not measured) is shaded grey, every fault interval in its kind's
  colour and labelled ``"<kind>: <target>"`` in the legend; every autoscaler decision is
  a dotted vertical line.
* Time series use the run's ``sample_interval`` buckets; when a run has more than
  ``max_points`` of them, neighbouring buckets are merged (the legend says the bucket
  width) so long runs stay readable. Latency percentiles of merged buckets are recomputed
  from the requests, not averaged (with ``records: summary``: from the merged per-bucket
  sketches, within their stated relative error).
* With ``records: summary`` the latency histogram and CDFs are drawn from the latency
  sketch (bucket values and counts, each value within 1 % of the latencies it stands
  for); the title says so.
* By default the time axis stops at ``duration`` (no new requests after it); pass
  ``show_drain=True`` to include the drain in which the last requests finish.
* Panels without data (no successful requests, no components) show a "no data" note.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from .. import present
from .style import (CYCLE, new_figure, FAULT_ALPHA, ROLES, WARMUP_ALPHA, chart_title, fault_color, latency_scale,
                    no_data, style_axes, time_scale, title_for)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..metrics.result import Result

MAX_POINTS = 300
"""Default most time buckets drawn per series (more are merged)."""

PERCENTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))

__all__ = ["plot_comparison", "plot_components", "plot_distribution", "plot_latency", "plot_throughput"]


# ----------------------------------------------------------------------------- plumbing


def _figure(figsize: tuple[float, float]) -> "Figure":
    return new_figure(figsize=figsize, layout="constrained")


def _t_end(result: "Result", show_drain: bool) -> float:
    return float(max(result.end_time, result.scenario.duration)) if show_drain else float(result.scenario.duration)


NICE_FACTORS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400)


def _bucketing(result: "Result", t_end: float, max_points: int) -> tuple[int, float]:
    """(factor, bucket width s): merge *factor* sample intervals (a round number of them) so at most
    *max_points* buckets remain."""
    step = result.scenario.sample_interval
    n = max(1, math.ceil(t_end / step - 1e-9))
    need = max(1, math.ceil(n / max(1, max_points)))
    factor = next((f for f in NICE_FACTORS if f >= need), need)
    return factor, step * factor


def _timeseries(result: "Result", t_end: float, max_points: int) -> tuple["pd.DataFrame", float]:
    """``result.timeseries_at`` cut at *t_end*, merged to at most *max_points* round-width buckets."""
    _, bucket = _bucketing(result, t_end, max_points)
    return result.timeseries_at(bucket, until=t_end), bucket


def _component_timeseries(result: "Result", t_end: float, max_points: int) -> tuple["pd.DataFrame", float]:
    """``result.component_timeseries_at`` on the same buckets as :func:`_timeseries`."""
    _, bucket = _bucketing(result, t_end, max_points)
    return result.component_timeseries_at(bucket, until=t_end), bucket


def _bucket_text(bucket: float) -> str:
    if bucket >= 3600 and bucket % 3600 == 0:
        return f"{bucket / 3600:g} h"
    if bucket >= 60 and bucket % 60 == 0:
        return f"{bucket / 60:g} min"
    return f"{bucket:g} s" if bucket >= 1 else present.latency(bucket, up_to="s")


def _fault_label(kind: str, target: str, detail: Any) -> str:
    label = f"{kind}: {target}"
    if isinstance(detail, str) and detail and detail != "all replicas":
        label += f" ({detail})"
    return label


def _shade(ax: "Axes", result: "Result", scale: float, t_end: float, *, label: bool = True,
           breakers: bool = True) -> None:
    """Shade the warm-up and every fault interval (clipped to *t_end*) on *ax*, and hatch every
    interval a circuit breaker was open (:func:`simulator.viz.breakers.hatch_open`)."""
    warmup = result.scenario.warmup
    if warmup > 0:
        ax.axvspan(0, min(warmup, t_end) / scale, color=ROLES["warmup"], alpha=WARMUP_ALPHA, lw=0, zorder=0,
                   label="warm-up (not measured)" if label else None, gid="warmup")
    for fault in result.faults.itertuples(index=False):
        start = float(fault.start)
        end = float(fault.end) if fault.end is not None and fault.end == fault.end else t_end
        if start >= t_end:
            continue
        ax.axvspan(start / scale, min(end, t_end) / scale, color=fault_color(fault.kind), alpha=FAULT_ALPHA, lw=0,
                   zorder=0, label=_fault_label(fault.kind, fault.target, fault.detail) if label else None,
                   gid=f"fault:{fault.kind}:{fault.target}")
    if breakers:
        from .breakers import hatch_open  # it draws with this module's helpers

        hatch_open(ax, result, scale, t_end, label=label)


def _mark_scaling(ax: "Axes", result: "Result", scale: float, t_end: float, *, label: bool = True,
                  component: str | None = None) -> None:
    """A dotted vertical line at every autoscaler decision (of *component*, or any) before *t_end*."""
    first = True
    for event in result.scaling_events:
        if event["time"] >= t_end or (component is not None and event["component"] != component):
            continue
        ax.axvline(event["time"] / scale, color=ROLES["scaling"], lw=0.8, ls=":", zorder=1,
                   label="autoscaler decision" if label and first else None,
                   gid=f"scaling:{event['component']}:{event['current']}->{event['desired']}")
        first = False


def _legend(ax: "Axes", *, title: str | None = None, outside: bool = True, **kwargs: Any) -> None:
    """A legend without duplicate labels; outside the plot on the right by default."""
    handles, labels = ax.get_legend_handles_labels()
    seen: dict[str, Any] = {}
    for handle, text in zip(handles, labels):
        seen.setdefault(text, handle)
    if not seen:
        return
    where = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0)} if outside else {"loc": "best"}
    legend = ax.legend(list(seen.values()), list(seen), frameon=False, fontsize=8.5, title=title,
                       title_fontsize=8.5, **{**where, **kwargs})
    legend._legend_box.align = "left"


def _time_axis(ax: "Axes", t_end: float, scale: float, unit: str, *, label: bool = True) -> None:
    ax.set_xlim(0, t_end / scale)
    if label:
        ax.set_xlabel(f"simulated time ({unit})")


def _log_ms_axis(ax: "Axes") -> None:
    """Log x axis in ms with plain-number tick labels (1, 10, 100 …, and 2, 5 on short ranges)."""
    from matplotlib import ticker

    ax.set_xscale("log")
    plain = ticker.FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    lo, hi = ax.get_xlim()
    if hi / lo < 300:  # up to ~2.5 decades: label 2× and 5× too
        ax.xaxis.set_minor_locator(ticker.LogLocator(subs=(2.0, 5.0)))
        ax.xaxis.set_minor_formatter(plain)
    else:
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def _log_bins(ms: np.ndarray, bins: int) -> np.ndarray:
    lo, hi = float(ms.min()), float(ms.max())
    if hi <= lo * 1.0001:
        lo, hi = lo / 1.5, hi * 1.5
    edges = np.logspace(math.log10(lo), math.log10(hi), bins + 1)
    edges[0], edges[-1] = min(edges[0], lo), max(edges[-1], hi)  # log/exp round-off must not drop the extremes
    return edges


def _cdf(ax: "Axes", ms: np.ndarray, weights: np.ndarray | None = None, **kwargs: Any) -> None:
    if weights is None:
        x = np.sort(ms)
        y = np.arange(1, x.size + 1) / x.size * 100.0
    else:  # sketch buckets: values with counts
        order = np.argsort(ms, kind="stable")
        x, w = ms[order], np.asarray(weights, dtype=float)[order]
        y = np.cumsum(w) / w.sum() * 100.0
    ax.step(np.concatenate([[x[0]], x]), np.concatenate([[0.0], y]), where="post", **kwargs)


# ----------------------------------------------------------------------------- charts


def plot_latency(result: "Result", *, ax: "Axes | None" = None, figsize: tuple[float, float] = (10, 4.5),
                 title: str | None = None, show_drain: bool = False, max_points: int = MAX_POINTS) -> "Figure":
    """Latency percentiles p50/p95/p99 of successful requests over simulated time.

    One panel (or *ax*, if given): one line per percentile, by completion-time bucket; the
    warm-up and every fault interval shaded and named in the legend. y in ms (s for slow
    systems), x in s (min/h for long runs). Returns the figure holding the panel.
    """
    fig = _figure(figsize) if ax is None else ax.figure
    ax = fig.add_subplot() if ax is None else ax
    t_end = _t_end(result, show_drain)
    ts, bucket = _timeseries(result, t_end, max_points)
    tscale, tunit = time_scale(t_end)
    cols = [f"latency_{name}" for name, _ in PERCENTILES]
    values = ts[cols].to_numpy(dtype=float) if not ts.empty else np.zeros((0, 3))
    peak = float(np.nanmax(values)) if np.isfinite(values).any() else float("nan")
    lscale, lunit = latency_scale(peak)
    _shade(ax, result, tscale, t_end)
    _mark_scaling(ax, result, tscale, t_end)
    if np.isfinite(values).any():
        x = ts["time"].to_numpy() / tscale
        for j, (name, _) in enumerate(PERCENTILES):
            ax.step(x, values[:, j] * lscale, where="post", color=ROLES[name], lw=1.3 if name == "p99" else 1.1,
                    label=name, zorder=3)
        ax.set_ylim(bottom=0)
    else:
        no_data(ax, "no successful requests")
    _time_axis(ax, t_end, tscale, tunit)
    ax.set_ylabel(f"latency ({lunit})")
    style_axes(ax)
    _legend(ax, title=f"per {_bucket_text(bucket)} bucket")
    ax.set_title(title_for(result, title or "latency percentiles (successful requests)"), fontsize=11, loc="left")
    return fig


def plot_throughput(result: "Result", *, figsize: tuple[float, float] = (10, 6), title: str | None = None,
                    show_drain: bool = False, max_points: int = MAX_POINTS) -> "Figure":
    """Throughput and goodput (req/s) above, availability (%, 0–100 axis) below, sharing simulated time.

    Per bucket, by completion time, as in ``Result.timeseries``: throughput counts every
    request that ended (ok, error, rejected or timed out), goodput only the ok ones, the
    band between them is the failures; availability is ok / ended. (The summary's
    throughput leaves timeouts out and its availability is ok / issued.) Warm-up and faults
    are shaded on both panels.
    """
    fig = _figure(figsize)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    t_end = _t_end(result, show_drain)
    ts, bucket = _timeseries(result, t_end, max_points)
    tscale, tunit = time_scale(t_end)
    x = ts["time"].to_numpy() / tscale if not ts.empty else np.zeros(0)
    _shade(top, result, tscale, t_end)
    _shade(bottom, result, tscale, t_end, label=False)
    _mark_scaling(top, result, tscale, t_end)
    _mark_scaling(bottom, result, tscale, t_end, label=False)
    if not ts.empty and (ts["ok"].sum() + ts["failed"].sum()) > 0:
        thr, good = ts["throughput_rps"].to_numpy(dtype=float), ts["goodput_rps"].to_numpy(dtype=float)
        top.fill_between(x, good, thr, step="post", color=ROLES["failed"], alpha=0.35, lw=0, zorder=2,
                         label="failed (error, timeout, rejected)")
        top.step(x, thr, where="post", color=ROLES["throughput"], lw=1.0, label="throughput (all outcomes)", zorder=3)
        top.step(x, good, where="post", color=ROLES["goodput"], lw=1.0, label="goodput (ok)", zorder=4)
        top.set_ylim(bottom=0)
    else:
        no_data(top, "no answered requests")
    if not ts.empty and np.isfinite(ts["availability"].to_numpy(dtype=float)).any():
        bottom.step(x, ts["availability"] * 100.0, where="post", color=ROLES["availability"], lw=1.1,
                    label="availability", zorder=3)
    else:
        no_data(bottom)
    bottom.set_ylim(0, 105)
    bottom.set_yticks([0, 25, 50, 75, 100])
    top.set_ylabel("rate (req/s)")
    bottom.set_ylabel("availability (%)")
    _time_axis(top, t_end, tscale, tunit, label=False)
    _time_axis(bottom, t_end, tscale, tunit)
    for ax in (top, bottom):
        style_axes(ax)
    _legend(top, title=f"per {_bucket_text(bucket)} bucket")
    _legend(bottom)
    fig.suptitle(title_for(result, title or "throughput, goodput and availability"), fontsize=11, x=0.01,
                 ha="left")
    return fig


def plot_components(result: "Result", *, max_components: int = 12, figsize: tuple[float, float] | None = None,
                    title: str | None = None, show_drain: bool = False,
                    max_points: int = MAX_POINTS) -> "Figure":
    """Small multiples: one row per component, busiest (mean utilization in the window) first.

    Left column utilization (%, 0–100 axis: busy workers / workers), right column mean queue
    length (requests waiting for a worker). At most *max_components* rows; the title says
    how many were left out. Warm-up and faults shaded in every panel.
    """
    t_end = _t_end(result, show_drain)
    cts, bucket = _component_timeseries(result, t_end, max_points)
    if cts.empty:
        fig = _figure(figsize or (10, 4.5))
        ax = fig.add_subplot()
        no_data(ax, "no components")
        ax.set_xlabel("simulated time (s)")
        ax.set_ylabel("utilization (%)")
        style_axes(ax)
        ax.set_title(title_for(result, title or "components"), fontsize=11, loc="left")
        return fig
    lo, hi = result.window
    in_window = cts[(cts["time"] >= lo) & (cts["time"] < hi)]
    stats = (in_window if not in_window.empty else cts).groupby("component", sort=False)[
        ["utilization", "queue_len"]].mean()
    order = sorted(stats.index, key=lambda name: (-stats.loc[name, "utilization"], str(name)))
    shown = order[:max(1, max_components)]
    n = len(shown)
    fig = _figure(figsize or (10, max(4.2, 1.55 * n + 1.5)))
    axes = fig.subplots(n, 2, sharex=True, squeeze=False)
    tscale, tunit = time_scale(t_end)
    kinds = {name: rec.kind for name, rec in result.components.items()}
    for row, name in enumerate(shown):
        data = cts[cts["component"] == name]
        x = data["time"].to_numpy() / tscale
        left, right = axes[row]
        for ax in (left, right):
            _shade(ax, result, tscale, t_end, label=row == 0)
            _mark_scaling(ax, result, tscale, t_end, label=row == 0, component=name)
            _time_axis(ax, t_end, tscale, tunit, label=row == n - 1)
            style_axes(ax)
        left.step(x, data["utilization"] * 100.0, where="post", color=ROLES["utilization"], lw=1.0, zorder=3,
                  label="utilization")
        left.set_ylim(0, 105)
        left.set_yticks([0, 50, 100])
        left.set_ylabel("utilization (%)", fontsize=8.5)
        right.step(x, data["queue_len"], where="post", color=ROLES["queue"], lw=1.0, zorder=3, label="queue length")
        right.set_ylim(bottom=0, top=max(1.0, float(np.nanmax(data["queue_len"].to_numpy(dtype=float), initial=0))
                                         * 1.08))
        right.set_ylabel("queue (requests)", fontsize=8.5)
        kind = f" ({kinds[name]})" if name in kinds else ""
        utilization = present.percent(stats.loc[name, "utilization"], 1, present.CHART)
        left.set_title(f"{name}{kind} — mean utilization {utilization}", loc="left", fontsize=9)
        right.set_title(f"{name} — mean queue {stats.loc[name, 'queue_len']:.3g}", loc="left", fontsize=9)
    handles, labels = axes[0][0].get_legend_handles_labels()
    extra_h, extra_l = axes[0][1].get_legend_handles_labels()
    seen: dict[str, Any] = {}
    for handle, text in zip(handles + extra_h, labels + extra_l):
        seen.setdefault(text, handle)
    fig.legend(list(seen.values()), list(seen), loc="outside lower center", ncols=min(len(seen), 5),
               frameon=False, fontsize=8.5, title=f"per {_bucket_text(bucket)} bucket", title_fontsize=8.5)
    what = title or "components, busiest first"
    if len(order) > n:
        what += f" ({n} of {len(order)} shown)"
    fig.suptitle(title_for(result, what), fontsize=11, x=0.01, ha="left")
    return fig


def plot_distribution(result: "Result", *, figsize: tuple[float, float] = (10, 4.5), title: str | None = None,
                      bins: int = 60) -> "Figure":
    """Latency histogram (log-spaced bins) and CDF on a log ms axis, p50/p95/p99 marked with their values.

    Only successful requests issued in the measurement window — the same set the summary's
    ``latency_s`` describes, so the marked values equal the summary's percentiles.
    """
    fig = _figure(figsize)
    hist_ax, cdf_ax = fig.subplots(1, 2)
    latency, weights = result.latency_distribution()  # weights: sketch counts (summary records), else None
    counts = np.ones(latency.size) if weights is None else np.asarray(weights, dtype=float)
    total = int(counts.sum())
    positive, positive_counts = latency[latency > 0], counts[latency > 0]
    sketched = ("" if weights is None
                else f"; drawn from a {present.percent(result.latency_accuracy, 0)} sketch, records: summary")
    what = title or f"latency distribution ({total:,} successful requests in the window{sketched})"
    if positive.size:
        ms = positive * 1e3
        hist_ax.hist(ms, bins=_log_bins(ms, bins), weights=positive_counts * (100.0 / total),
                     color=ROLES["histogram"], edgecolor="white", linewidth=0.3, zorder=2)
        _cdf(cdf_ax, latency * 1e3 if latency.size == positive.size else np.maximum(latency * 1e3, ms.min()),
             weights, color=ROLES["cdf"], lw=1.4, zorder=3, label="CDF")
        qs = result.latency_quantiles([q for _, q in PERCENTILES])
        for (name, _), value in zip(PERCENTILES, qs):
            for ax in (hist_ax, cdf_ax):
                ax.axvline(max(value * 1e3, ms.min()), color=ROLES[name], ls="--", lw=1.1, zorder=4,
                           label=f"{name} = {present.latency(value)}")
        for ax in (hist_ax, cdf_ax):
            _log_ms_axis(ax)
        cdf_ax.set_ylim(0, 102)
        cdf_ax.set_yticks([0, 25, 50, 75, 90, 100])
        handles, labels = hist_ax.get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False, fontsize=9)
        if total > int(positive_counts.sum()):
            what += f"; {total - int(positive_counts.sum())} of zero latency not on the log axis"
    else:
        no_data(hist_ax, "no successful requests")
        no_data(cdf_ax, "no successful requests")
    hist_ax.set_xlabel("latency (ms, log scale)")
    hist_ax.set_ylabel("share of requests (%)")
    cdf_ax.set_xlabel("latency (ms, log scale)")
    cdf_ax.set_ylabel("requests at or below (%)")
    hist_ax.set_title("histogram", loc="left", fontsize=9.5)
    cdf_ax.set_title("cumulative distribution", loc="left", fontsize=9.5)
    for ax in (hist_ax, cdf_ax):
        style_axes(ax)
    fig.suptitle(title_for(result, what), fontsize=11, x=0.01, ha="left")
    return fig


def comparison_title(results: Mapping[str, "Result"], what: str) -> str:
    """Title for several designs: ``"<scenario> · seed <seed> — <what>"`` if they share both, else each named."""
    runs = {(r.scenario.name, r.seed) for r in results.values()}
    if len(runs) == 1:
        (name, seed), = runs
        return chart_title(name, seed, what)
    parts = " vs ".join(f"{label}: {r.scenario.name} · seed {r.seed}" for label, r in results.items())
    return f"{parts} — {what}"


def plot_comparison(results: Mapping[str, "Result"], *, title: str | None = None,
                    figsize: tuple[float, float] = (11, 5), show_drain: bool = False,
                    max_points: int = 200) -> "Figure":
    """Overlay of designs: p99 latency over simulated time (left) and latency CDFs (right, log ms).

    One colour per design, labelled with its key in *results* and its p99 over the
    measurement window (successful requests only) in a legend shared by both panels. The
    title names scenario and seed (each design's, when they differ).
    """
    from matplotlib.lines import Line2D

    fig = _figure(figsize)
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    items = list(results.items())
    t_end = max((_t_end(r, show_drain) for _, r in items), default=1.0)
    tscale, tunit = time_scale(t_end)
    series = [(name, *_timeseries(result, t_end, max_points)) for name, result in items]
    peaks = [float(np.nanmax(ts["latency_p99"])) for _, ts, _ in series
             if np.isfinite(ts["latency_p99"].to_numpy(dtype=float)).any()]
    lscale, lunit = latency_scale(max(peaks) if peaks else float("nan"))
    warmups = {r.scenario.warmup for _, r in items}
    handles: list[Any] = []
    if len(warmups) == 1 and (w := warmups.pop()) > 0:
        handles.append(left.axvspan(0, w / tscale, color=ROLES["warmup"], alpha=WARMUP_ALPHA, lw=0, zorder=0,
                                    label="warm-up", gid="warmup"))
    drawn_any = False
    for i, ((name, ts, bucket), (_, result)) in enumerate(zip(series, items)):
        color = CYCLE[i % len(CYCLE)]
        latency, weights = result.latency_distribution()
        p99 = (present.latency(float(result.latency_quantiles([0.99])[0])) if latency.size
               else present.MISSING)
        label = f"{name} (p99 {p99})"
        handles.append(Line2D([], [], color=color, lw=1.6, label=label))
        if np.isfinite(ts["latency_p99"].to_numpy(dtype=float)).any():
            left.step(ts["time"] / tscale, ts["latency_p99"] * lscale, where="post", color=color, lw=1.2,
                      label=str(name), zorder=3)
        positive = latency[latency > 0]
        if positive.size:
            drawn_any = True
            _cdf(right, np.maximum(latency, positive.min()) * 1e3, weights, color=color, lw=1.4, zorder=3,
                 label=label)
    if peaks:
        left.set_ylim(bottom=0)
    else:
        no_data(left, "no successful requests")
    if drawn_any:
        _log_ms_axis(right)
        right.set_ylim(0, 102)
        right.set_yticks([0, 25, 50, 75, 90, 99])
        right.axhline(99, color="#777777", lw=0.7, ls=":", zorder=1)
    else:
        no_data(right, "no successful requests")
    _time_axis(left, t_end, tscale, tunit)
    left.set_ylabel(f"p99 latency ({lunit})")
    left.set_title("p99 latency over time" + (f" (per {_bucket_text(series[0][2])} bucket)" if series else ""),
                   loc="left", fontsize=9.5)
    right.set_xlabel("latency (ms, log scale)")
    right.set_ylabel("requests at or below (%)")
    right.set_title("latency CDF (successful requests in the window)", loc="left", fontsize=9.5)
    for ax in (left, right):
        style_axes(ax)
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), frameon=False,
                   fontsize=9)
    if title is None:
        title = ("design comparison" if len({(r.scenario.name, r.seed) for _, r in items}) > 1
                 else "design comparison: " + " vs ".join(str(k) for k in results))
    fig.suptitle(comparison_title(results, title) if results else title, fontsize=11, x=0.01, ha="left")
    return fig
