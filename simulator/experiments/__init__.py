"""Experiments at scale: parameter sweeps with replications, on one core, a pool or a cluster.

* :mod:`~simulator.experiments.grid` — value specs (``1,2,4``, ``100:2000:100``,
  ``log:1:1000:7``) and the cartesian grid of points;
* :mod:`~simulator.experiments.runs` — :class:`RunSpec` and :func:`run_one`, the picklable
  unit of work and its flat record;
* :mod:`~simulator.experiments.executors` — :func:`make_executor`: serial, process pool or
  a ``distributed`` cluster (any ``concurrent.futures.Executor`` works), and ``run_all``,
  the one replication loop (retries, a broken pool replaced) of sweeps, compare and the grader;
* :mod:`~simulator.experiments.sweep` — :func:`sweep` → :class:`SweepResult` (tidy runs,
  per-point means and 95 % intervals, resumable ``runs.jsonl``);
* :mod:`~simulator.experiments.planning` — :func:`knee` (the load at which an SLO breaks)
  and :func:`plan` (the cheapest configuration of monotone knobs that meets the SLOs),
  verdicts on confidence bounds;
* :mod:`~simulator.experiments.evaluation` — one configuration run R times and judged
  against the objectives, and what it costs (what knee and plan search over);
* :mod:`~simulator.experiments.charts` — :func:`plot_sweep`; :mod:`~simulator.experiments.report`
  — the terminal table of ``sdsim sweep``.

A sweep's workers need the ``simulator`` package (this sdsim, same version) installed where
they run; scripts that sweep on a process pool guard their entry point with
``if __name__ == "__main__":`` (see :mod:`~simulator.experiments.executors`).
"""

from .executors import SerialExecutor, make_executor
from .grid import parse_grid, parse_values, points
from .runs import RunSpec, run_one
from .sweep import SweepError, SweepResult, sweep
from .planning import knee, plan


def plot_sweep(*args, **kwargs):
    """:func:`simulator.experiments.charts.plot_sweep` (imported on first use: matplotlib is heavy)."""
    from .charts import plot_sweep as plot

    return plot(*args, **kwargs)


__all__ = ["knee", "plan", "RunSpec", "SerialExecutor", "SweepError", "SweepResult", "make_executor", "parse_grid", "parse_values",
           "plot_sweep", "points", "run_one", "sweep"]
