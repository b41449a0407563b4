"""Charts of what components did besides queueing: replicas over time, cache hit ratio, traffic shares.

Same conventions as :mod:`simulator.viz.charts` (fresh figures, titles naming the run,
warm-up and faults shaded, autoscaler decisions dotted).

* :func:`plot_replicas` — offered load above, ready replicas of each autoscaled (or
  otherwise resized) component below: how an autoscaler reacts to a spike, cold starts
  included;
* :func:`plot_hit_ratio` — each cache's hit ratio (and stale share) over time: the cold
  start, a crash that empties it, a TTL that expires the hot keys;
* :func:`plot_shares` — how a balancer spread its requests over the replicas, or a
  sharded database its requests over the shards (hot shards, slow replicas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..declared import declared
from ..metrics.descriptors import Share
from .charts import MAX_POINTS, _bucket_text, _bucketing, _figure, _legend, _mark_scaling, _shade, _t_end, _time_axis
from .style import CYCLE, ROLES, no_data, style_axes, time_scale, title_for

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..metrics.result import Result


def _resized(result: "Result") -> list[str]:
    return [name for name, rec in result.components.items() if rec.capacity_steps.shape[0] > 1]


def plot_replicas(result: "Result", components: Sequence[str] | None = None, *, figsize=(10, 5.5),
                  title: str | None = None, show_drain: bool = False, max_points: int = MAX_POINTS) -> "Figure":
    """Offered load (requests issued per second) above; ready replicas per component below, as steps.

    *components* defaults to every component whose replica count changed during the run.
    Replicas count from the moment service discovery lists them (after the provisioning
    delay), so the gap between a decision (dotted line) and the step is the cold start.
    """
    fig = _figure(figsize)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 3])
    t_end = _t_end(result, show_drain)
    _, bucket = _bucketing(result, t_end, max_points)
    ts = result.timeseries_at(bucket, until=t_end)
    tscale, tunit = time_scale(t_end)
    for ax in (top, bottom):
        _shade(ax, result, tscale, t_end, label=ax is top)
        _mark_scaling(ax, result, tscale, t_end, label=ax is top)
        style_axes(ax)
    if not ts.empty:
        top.step(ts["time"] / tscale, ts["issued"] / bucket, where="post", color=ROLES["throughput"], lw=1.0,
                 label="offered load (issued)")
        top.set_ylim(bottom=0)
    top.set_ylabel("req/s")
    names = list(components) if components is not None else _resized(result)
    if not names:
        no_data(bottom, "no component changed its replica count")
    for i, name in enumerate(names):
        steps = result.replicas_over_time(name)
        x = np.append(steps["time"].to_numpy(), t_end) / tscale
        y = np.append(steps["replicas"].to_numpy(), steps["replicas"].iloc[-1])
        bottom.step(x, y, where="post", color=CYCLE[i % len(CYCLE)], lw=1.4, label=f"{name}: ready replicas")
    bottom.set_ylim(bottom=0)
    bottom.set_ylabel("ready replicas")
    _time_axis(top, t_end, tscale, tunit, label=False)
    _time_axis(bottom, t_end, tscale, tunit)
    _legend(top, title=f"per {_bucket_text(bucket)} bucket")
    _legend(bottom)
    fig.suptitle(title_for(result, title or "autoscaling: load and replicas"), fontsize=11, x=0.01, ha="left")
    return fig


def plot_hit_ratio(result: "Result", components: Sequence[str] | None = None, *, figsize=(10, 4.5),
                   title: str | None = None, show_drain: bool = False, max_points: int = MAX_POINTS) -> "Figure":
    """Hit ratio (%) of each cache over time, with the share of hits that served stale data dashed."""
    fig = _figure(figsize)
    ax = fig.add_subplot()
    t_end = _t_end(result, show_drain)
    _, bucket = _bucketing(result, t_end, max_points)
    tscale, tunit = time_scale(t_end)
    _shade(ax, result, tscale, t_end)
    _mark_scaling(ax, result, tscale, t_end)
    names = list(components) if components is not None else [n for n, r in result.components.items()
                                                             if "hit_ratio" in r.ratios]
    tallies = result.tally_timeseries_at(bucket, until=t_end)
    drawn = False
    for i, name in enumerate(names):
        colour = CYCLE[i % len(CYCLE)]
        for ratio, style, what in (("hit_ratio", "-", "hit ratio"), ("stale_ratio", "--", "stale hits")):
            rows = tallies[(tallies["component"] == name) & (tallies["name"] == ratio)]
            if rows.empty or not np.isfinite(rows["value"].to_numpy(dtype=float)).any():
                continue
            ax.step(rows["time"] / tscale, rows["value"] * 100.0, where="post", color=colour, ls=style, lw=1.2,
                    label=f"{name}: {what}")
            drawn = True
    if not drawn:
        no_data(ax, "no cache look-ups")
    ax.set_ylim(0, 105)
    ax.set_ylabel("% of look-ups (stale: % of hits)")
    _time_axis(ax, t_end, tscale, tunit)
    style_axes(ax)
    _legend(ax, title=f"per {_bucket_text(bucket)} bucket")
    ax.set_title(title_for(result, title or "cache hit ratio"), fontsize=11, loc="left")
    return fig


def plot_shares(result: "Result", component: str, *, figsize=(8, 4), title: str | None = None) -> "Figure":
    """Share of *component*'s requests over what its kind declares a :class:`~simulator.metrics.descriptors.Share`
    of (a balancer's replicas, a sharded database's shards), in the window.

    The dashed line is an even split, so a hot shard or a starved slow replica stands out.
    """
    fig = _figure(figsize)
    ax = fig.add_subplot()
    rec = result.components[component]
    counts = rec.tally_counts(*result.window)
    shares = declared(rec.kind, Share) or [Share("shard", over="shard")]
    share_of = next((s for s in shares if s.items(counts)), shares[0])
    items = share_of.items(counts)
    what = share_of.over
    total = sum(v for _, v in items)
    if not items or total == 0:
        no_data(ax, f"{component} recorded no per-{what} counts")
    else:
        x = [i for i, _ in items]
        share = [100.0 * v / total for _, v in items]
        ax.bar(x, share, color=ROLES["utilization"], width=0.7)
        ax.axhline(100.0 / len(items), color=ROLES["scaling"], ls="--", lw=0.9, label="even split")
        ax.set_xticks(x)
        _legend(ax, outside=False)
    ax.set_xlabel(what)
    ax.set_ylabel("% of requests")
    style_axes(ax)
    ax.set_title(title_for(result, title or f"{component}: requests per {what}"), fontsize=11, loc="left")
    return fig
