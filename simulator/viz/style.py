"""One look for every chart: a colour-blind-safe palette with named roles, axis styling, titles, units.

The palette is Okabe & Ito's eight colours ("Color Universal Design", 2008), distinguishable
under the common forms of colour blindness and in greyscale by lightness. Charts never pick
colours themselves: they ask for a *role* (``ROLES["p99"]``) so the same quantity has the
same colour in every chart and in the HTML report.

Utilization (0..1) is drawn with a perceptually uniform sequential colormap,
:data:`UTILIZATION_CMAP` (``"cividis"``, readable with deuteranopia and in greyscale).

Titles always carry the scenario name and seed (:func:`chart_title`), so a PNG lifted out
of a report still says which run it shows: ``"mmc · seed 7 — latency percentiles"``.
"""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
"""The Okabe–Ito palette by name."""

CYCLE: list[str] = [OKABE_ITO[k] for k in ("blue", "orange", "bluish_green", "vermillion", "reddish_purple",
                                            "sky_blue", "black", "yellow")]
"""Order for categorical series (designs in a comparison): strongest contrast first, yellow last."""

GREY = "#999999"

ROLES: dict[str, str] = {
    "p50": OKABE_ITO["blue"],
    "p95": OKABE_ITO["orange"],
    "p99": OKABE_ITO["vermillion"],
    "throughput": OKABE_ITO["blue"],
    "goodput": OKABE_ITO["bluish_green"],
    "availability": OKABE_ITO["black"],
    "ok": OKABE_ITO["bluish_green"],
    "failed": OKABE_ITO["vermillion"],
    "utilization": OKABE_ITO["blue"],
    "queue": OKABE_ITO["orange"],
    "histogram": OKABE_ITO["sky_blue"],
    "cdf": OKABE_ITO["blue"],
    "fault": OKABE_ITO["reddish_purple"],
    "warmup": GREY,
    "replicas": OKABE_ITO["bluish_green"],
    "scaling": OKABE_ITO["black"],
    "hit_ratio": OKABE_ITO["blue"],
    "stale": OKABE_ITO["vermillion"],
}
"""Colour of each quantity, the same in every chart."""

FAULT_COLORS: dict[str, str] = {
    "crash": OKABE_ITO["reddish_purple"],
    "slowdown": OKABE_ITO["yellow"],
    "latency": OKABE_ITO["sky_blue"],
}
"""Shading colour per fault kind; unknown kinds use ``ROLES["fault"]``."""

FAULT_ALPHA = 0.22
WARMUP_ALPHA = 0.18
UTILIZATION_CMAP = "cividis"
"""Sequential colormap name for utilization 0..1 (topology pictures, heat maps)."""

DPI = 120
"""Resolution used when charts are written to files."""


def fault_color(kind: str) -> str:
    """The shading colour of a fault kind."""
    return FAULT_COLORS.get(kind, ROLES["fault"])


def chart_title(scenario: str, seed: int | str, what: str) -> str:
    """``"<scenario> · seed <seed> — <what>"``: every chart title names its run."""
    return f"{scenario} · seed {seed} — {what}"


def title_for(result: Any, what: str) -> str:
    """:func:`chart_title` for a :class:`~simulator.Result`."""
    return chart_title(result.scenario.name, result.seed, what)


def style_axes(ax: "Axes", *, grid: bool = True) -> "Axes":
    """Consistent look: light major grid behind the data, no top/right spines, small ticks."""
    if grid:
        ax.grid(True, which="major", color="#d9d9d9", linewidth=0.6)
        ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#555555")
    ax.tick_params(labelsize=8.5, colors="#333333")
    ax.xaxis.label.set_size(9.5)
    ax.yaxis.label.set_size(9.5)
    return ax


def no_data(ax: "Axes", message: str = "no data") -> None:
    """Mark an empty panel instead of drawing nothing (or crashing)."""
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", fontsize=11, color=GREY,
            style="italic", gid="no-data")


def time_scale(span_s: float) -> tuple[float, str]:
    """(divisor, unit) for a simulated-time axis: seconds, minutes past 30 min, hours past 36 h."""
    if span_s > 36 * 3600:
        return 3600.0, "h"
    if span_s > 1800:
        return 60.0, "min"
    return 1.0, "s"


def latency_scale(max_s: float) -> tuple[float, str]:
    """(multiplier, unit) for a linear latency axis: ms below 2 s, s above."""
    if max_s == max_s and max_s >= 2.0:
        return 1.0, "s"
    return 1e3, "ms"


@functools.lru_cache(maxsize=None)
def _figure_class() -> type:
    from matplotlib.figure import Figure

    class NotebookFigure(Figure):
        """A Figure that Jupyter renders on its own: a PNG repr, no pyplot state needed."""

        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
            return buffer.getvalue()

    return NotebookFigure


def new_figure(**kwargs: Any) -> "Figure":
    """A matplotlib figure that notebooks display by themselves (no pyplot, no ``%matplotlib``)."""
    return _figure_class()(**kwargs)
