"""Charts of message brokers: consumer lag over time, per group and per partition.

:func:`plot_consumer_lag` draws, for every component whose records have a
``consumer_lag`` table (a broker: one row per group each ``sample_interval``), the lag
of each group in messages (above) and in seconds — the age of the oldest message the
group has not taken yet — (below), warm-up and faults shaded. An outage of the
consumers shows as a ramp (messages pile up at the produce rate), the recovery as a
slope down at consume − produce rate (golden G8.4).

:func:`plot_partition_lag` draws one group's lag per partition (the ``partition_lag``
table): a hot partition key shows as one line climbing while the others stay flat.

Group names come from the component's spec (``group_keys()``: ``(topic, group)`` per
code); a component without it is labelled by group code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from .charts import _figure, _legend, _shade, _t_end, _time_axis
from .style import CYCLE, no_data, style_axes, time_scale, title_for

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..metrics.result import Result

TABLE = "consumer_lag"


def _lag_axes(result: "Result", figsize, show_drain: bool):
    """A figure with the lag in messages (above) and in seconds (below), warm-up and faults shaded:
    ``(fig, top, bottom, (t_end, time scale, time unit))``."""
    fig = _figure(figsize)
    top, bottom = fig.subplots(2, 1, sharex=True)
    t_end = _t_end(result, show_drain)
    tscale, tunit = time_scale(t_end)
    for ax in (top, bottom):
        _shade(ax, result, tscale, t_end, label=ax is top)
        style_axes(ax)
    return fig, top, bottom, (t_end, tscale, tunit)


def _label_lag_axes(top, bottom, t_end: float, tscale: float, tunit: str) -> None:
    top.set_ylabel("lag (messages)")
    bottom.set_ylabel("oldest not taken (s)")
    for ax in (top, bottom):
        ax.set_ylim(bottom=0)
    _time_axis(top, t_end, tscale, tunit, label=False)
    _time_axis(bottom, t_end, tscale, tunit)


def _with_lag(result: "Result") -> list[str]:
    return [name for name, rec in result.components.items() if TABLE in rec.tables]


def plot_consumer_lag(result: "Result", components: Sequence[str] | None = None, *, figsize=(10, 5.5),
                      title: str | None = None, show_drain: bool = True) -> "Figure":
    """Consumer lag of every group of *components* (default: every component that records it):
    messages visible and not taken yet (above), age of the oldest of them in seconds (below)."""
    fig, top, bottom, (t_end, tscale, tunit) = _lag_axes(result, figsize, show_drain)
    names = list(components) if components is not None else _with_lag(result)
    colour = 0
    for name in names:
        frame = result.components[name].table(TABLE)
        keys = getattr(result.scenario.components[name], "group_keys", lambda: [])()
        for code, rows in frame.groupby("group", sort=True):
            code = int(code)
            label = f"{name}: {keys[code][0]}/{keys[code][1]}" if code < len(keys) else f"{name}: group {code}"
            rows = rows[rows["time"] <= t_end]
            c = CYCLE[colour % len(CYCLE)]
            colour += 1
            top.step(rows["time"] / tscale, rows["lag"], where="post", color=c, lw=1.3, label=label)
            bottom.step(rows["time"] / tscale, rows["lag_seconds"], where="post", color=c, lw=1.3, label=label)
    if colour == 0:
        no_data(top, "no consumer group")
    _label_lag_axes(top, bottom, t_end, tscale, tunit)
    _legend(top, title=f"sampled every {result.scenario.sample_interval:g} s")
    fig.suptitle(title_for(result, title or "consumer lag"), fontsize=11, x=0.01, ha="left")
    return fig


def plot_partition_lag(result: "Result", component: str, group: str | None = None, *, figsize=(10, 5.5),
                       title: str | None = None, show_drain: bool = True) -> "Figure":
    """Lag of each partition read by *group* (``topic/group`` or ``group``; default: the component's
    first group) of broker *component*: messages (above) and age of the oldest in seconds (below)."""
    keys = result.scenario.components[component].group_keys()
    names = [f"{t}/{g}" for t, g in keys]
    if group is None:
        code = 0
    else:
        matches = [i for i, (t, g) in enumerate(keys) if group in (g, f"{t}/{g}")]
        if len(matches) != 1:
            raise ValueError(f"broker {component!r}: {'no' if not matches else 'more than one'} group {group!r} "
                             f"(its groups: {', '.join(names)})")
        code = matches[0]
    fig, top, bottom, (t_end, tscale, tunit) = _lag_axes(result, figsize, show_drain)
    frame = result.components[component].table("partition_lag") if keys else None
    rows = frame[(frame["group"] == code) & (frame["time"] <= t_end)] if frame is not None else None
    if rows is None or rows.empty:
        no_data(top, "no lag per partition (a topic of more than 100 partitions keeps only its total)")
    else:
        for i, (partition, part) in enumerate(rows.groupby("partition", sort=True)):
            c = CYCLE[i % len(CYCLE)]
            top.step(part["time"] / tscale, part["lag"], where="post", color=c, lw=1.2, label=f"p{int(partition)}")
            bottom.step(part["time"] / tscale, part["lag_seconds"], where="post", color=c, lw=1.2)
    _label_lag_axes(top, bottom, t_end, tscale, tunit)
    if rows is not None and not rows.empty and rows["partition"].nunique() <= 24:
        _legend(top, title="partition")
    label = names[code] if keys else "no group"
    fig.suptitle(title_for(result, title or f"consumer lag per partition · {component}: {label}"), fontsize=11,
                 x=0.01, ha="left")
    return fig
