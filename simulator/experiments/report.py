"""The terminal table of a sweep (rich): one row per point, key metrics as mean ± 95 % half-width."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..present import MISSING, missing, plus_minus

if TYPE_CHECKING:
    from rich.table import Table

    from .sweep import SweepResult

__all__ = ["TABLE_METRICS", "sweep_renderable"]

TABLE_METRICS = (("throughput_rps", "throughput (req/s)", 1.0, ""),
                 ("availability", "availability (%)", 100.0, ""),
                 ("latency_mean", "mean (ms)", 1e3, ""),
                 ("latency_p99", "p99 (ms)", 1e3, ""))
"""(column, header, scale, suffix) of the table."""


def _pm(row: dict[str, Any], metric: str, scale: float, suffix: str) -> str:
    """The cell of *metric*: its mean over the replications ± the half-width of the 95 % interval."""
    mean, low, high = (row.get(f"{metric}.{k}") for k in ("mean", "ci_low", "ci_high"))
    if missing(mean):
        return MISSING
    half = None if missing(low) else (high - low) / 2 * scale
    return plus_minus(mean * scale, half, 3 if metric == "availability" else None) + suffix


def sweep_renderable(result: "SweepResult") -> "Table":
    """Rows = points (parameters first), columns = throughput, availability, mean and p99 latency
    and each headline ratio a kind declares, e.g. a cache's hit ratio (mean ± half-width of the 95 %
    interval), then each SLO as
    replications passing / run."""
    from rich.table import Table

    from ..declared import headline_ratios
    from ..present import number

    n_points = len(result.points)
    title = (f"{result.scenario} · seed {result.seed} · {n_points} point{'s' if n_points != 1 else ''} × "
             f"{result.replications} replication{'s' if result.replications != 1 else ''} · mean ± 95 % CI half-width")
    table = Table(title=title, title_justify="left")
    for name in result.grid:
        table.add_column(name, justify="right", style="bold")
    metrics = [m for m in TABLE_METRICS if m[0] in result.metrics]
    headline = headline_ratios()
    metrics += [(m, f"{m.split('.')[1]} {headline[m.rsplit('.', 1)[1]]} (%)", 100.0, "") for m in result.metrics
                if m.startswith("component.") and m.rsplit(".", 1)[1] in headline]
    for _, header, _, _ in metrics:
        table.add_column(header, justify="right")
    for slo in result.slos:
        table.add_column(f"SLO {slo['name']}", justify="right")
    rows = result.aggregate().to_dict("records")
    for row in rows:
        cells = [number(row[n], 6) if isinstance(row[n], float) else str(row[n]) for n in result.grid]
        cells += [_pm(row, metric, scale, suffix) for metric, _, scale, suffix in metrics]
        for slo in result.slos:
            share = row.get(f"slo.{slo['name']}.passed.mean")
            cells.append(MISSING if missing(share) else f"{round(share * row['n'])}/{row['n']} pass")
        table.add_row(*cells)
    return table
