"""Chart of circuit breakers: when each one was open, half-open or closed.

:func:`plot_breakers` draws, for every component whose records have a ``breaker_states``
table (a ``circuit_breaker:`` on one of its calls, :mod:`simulator.steps.breaker`), one lane
per breaker on the run's time axis: its **open** intervals as solid bars, its **half_open**
ones as light bars (closed is the empty lane), with the warm-up and every fault interval
shaded as on the other time-series charts, so a callee's outage and the breaker's answer to
it read side by side. The table is kept in both records modes.

:func:`hatch_open` marks the same open intervals on every time-series chart of the run
(latency, throughput, …: :func:`~simulator.viz.charts._shade` calls it), hatched and labelled
``"breaker open: <breaker>"``.

Breaker names come from the component's ``breakers`` table (its summary entry, by code), e.g.
``web->db.read``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from .charts import _figure, _legend, _shade, _t_end, _time_axis
from .style import OKABE_ITO, no_data, style_axes, time_scale, title_for

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..metrics.result import Result

TABLE = "breaker_states"
COLOURS = {1: OKABE_ITO["vermillion"], 2: OKABE_ITO["orange"]}
LABELS = {1: "open (calls rejected)", 2: "half_open (trial calls)"}


def intervals(frame, code: int, t_end: float) -> list[tuple[float, float, int]]:
    """``(start, end, state)`` of every open (1) or half-open (2) stretch of breaker *code*, clipped to *t_end*."""
    rows = frame[frame["breaker"] == code].sort_values("time", kind="stable")
    out = []
    for start, end, state in zip(rows["time"], [*rows["time"][1:], t_end], rows["to_state"]):
        if int(state) in COLOURS and start < t_end:
            out.append((float(start), float(min(end, t_end)), int(state)))
    return out


def hatch_open(ax, result: "Result", scale: float, t_end: float, *, label: bool = True) -> None:
    """Hatch every interval a breaker of the run was open (clipped to *t_end*) on *ax*."""
    for name in _with_breakers(result):
        frame = result.components[name].table(TABLE)
        names = _names(result, name)
        for code in sorted({int(c) for c in frame["breaker"]}):
            breaker = names[code] if code < len(names) else f"{name}: breaker {code}"
            for start, end, state in intervals(frame, code, t_end):
                if state == 1:
                    ax.axvspan(start / scale, end / scale, facecolor="none", edgecolor=COLOURS[1], hatch="///",
                               lw=0, alpha=0.5, zorder=0, label=f"breaker open: {breaker}" if label else None,
                               gid=f"breaker-open:{breaker}")


def _names(result: "Result", component: str) -> list[str]:
    """The breaker names of *component* by code (its ``breakers`` table's summary entry lists them in code order)."""
    table = result.components[component].tables.get("breakers")
    return list((table.entries or {}).get("breakers", {})) if table is not None else []


def _with_breakers(result: "Result") -> list[str]:
    return [name for name, rec in result.components.items() if TABLE in rec.tables]


def plot_breakers(result: "Result", components: Sequence[str] | None = None, *, figsize=(10, 3.5),
                  title: str | None = None, show_drain: bool = True) -> "Figure":
    """The state of every circuit breaker of *components* (default: every component that has one) over time."""
    fig = _figure(figsize)
    ax = fig.subplots()
    t_end = _t_end(result, show_drain)
    tscale, tunit = time_scale(t_end)
    _shade(ax, result, tscale, t_end, breakers=False)
    style_axes(ax)
    lanes: list[str] = []
    for name in (list(components) if components is not None else _with_breakers(result)):
        frame = result.components[name].table(TABLE)
        names = _names(result, name)
        for code in sorted({int(c) for c in frame["breaker"]}):
            lane = len(lanes)
            lanes.append(names[code] if code < len(names) else f"{name}: breaker {code}")
            for start, end, state in intervals(frame, code, t_end):
                ax.broken_barh([(start / tscale, (end - start) / tscale)], (lane - 0.35, 0.7), color=COLOURS[state],
                               label=LABELS[state], gid=f"breaker:{lanes[-1]}:{state}")
    if not lanes:
        no_data(ax, "no circuit breaker changed state")
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_ylim(-0.6, max(len(lanes), 1) - 0.4)
    _time_axis(ax, t_end, tscale, tunit)
    _legend(ax)
    fig.suptitle(title_for(result, title or "circuit breakers"), fontsize=11, x=0.01, ha="left")
    return fig
