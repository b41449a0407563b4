"""Parameter sweeps: every point of a grid × R replications, in parallel, resumable, reproducible.

>>> from simulator import sweep                                          # doctest: +SKIP
>>> result = sweep("scenarios/theory/mmc.yaml", {"servers": [10, 11, 12]}, replications=5)
>>> result.aggregate()[["servers", "latency_p99.mean", "latency_p99.ci_low", "latency_p99.ci_high"]]

How it works:

* **Seeds.** Replication *r* runs with seed ``replication_seeds(base, R)[r]`` (base = the
  ``seed`` argument, default the scenario's), and every point uses the *same* R seeds:
  common random numbers across the curve, so neighbouring points differ by the design
  change, not by luck. Replications are independent of each other (``SeedSequence``).
* **Validation first.** Every point is loaded (and its resolved design hashed) before any
  run starts, so a bad value fails at once with the scenario's located problems
  (:class:`~simulator.ScenarioError`).
* **Execution.** All runs go through :func:`~simulator.experiments.executors.run_all`, the
  replication loop compare and the grader use too: submitted to a
  :class:`concurrent.futures.Executor` (:func:`~simulator.experiments.executors.make_executor`:
  a process pool by default) and collected as they complete. Each finished record is
  appended at once to ``out_dir/runs.jsonl`` as one whole JSON line (then flushed and
  fsynced), so a crash or Ctrl-C loses only the runs in flight.
* **Resume.** With ``resume=True`` the records already in ``runs.jsonl`` are reused by
  :attr:`~simulator.experiments.runs.RunSpec.key` and only the missing runs execute; a
  truncated last line (the process died mid-write) and unreadable lines are ignored and
  dropped from the file. Without ``resume`` an existing ``runs.jsonl`` is started afresh.
* **Retries.** A run that raises, or whose worker dies (``BrokenProcessPool``, a dask
  ``KilledWorker``, a lost connection…), is resubmitted up to ``retries`` times; a pool the
  sweep created itself is recreated when broken. Every failure counts against each run it
  took down (a dying pool fails all its queued runs too). Runs still failing raise
  :class:`SweepError` after the others finished (and were saved: resume later).
* **Determinism.** A record depends only on its run (scenario, point, seed), never on the
  executor, the worker count or completion order; records are sorted by (point,
  replication), and fresh records are normalized exactly as a resumed one is read back
  (a JSON round trip), so results are identical bit for bit whatever ran them — except
  the ``wall_time_s`` column, which measures the machine.

Files in ``out_dir``: ``runs.jsonl`` (the log, one record per finished run), and at the
end ``runs.csv`` (one row per run), ``aggregate.csv`` (one row per point) and
``sweep.json`` (:meth:`SweepResult.to_dict`), each written atomically.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from concurrent.futures import BrokenExecutor, Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ..core.rng import replication_seeds
from ..errors import Problem, ScenarioError
from ..stats import mean_interval
from .executors import RunsFailed, make_executor, run_all
from .grid import normalize_grid, param_arguments, points
from .runs import NON_METRICS, RESERVED, RunSpec, design_digest, numeric, run_one

if TYPE_CHECKING:
    import pandas as pd

    from ..scenario.model import Scenario

__all__ = ["HEADLINE_METRICS", "SweepError", "SweepResult", "read_records", "sweep"]

HEADLINE_METRICS = ("latency_p99", "availability", "throughput_rps")
"""The metrics charted by default (one PNG each with ``--out``)."""

_MAX_INVALID_POINTS = 10


class SweepError(RunsFailed):
    """Some runs still failed after their retries. ``failures``: ``[(RunSpec, exception)]``;
    ``records``: the runs that did finish (also saved in ``runs.jsonl`` for a resume)."""

    def __init__(self, failures: list[tuple[RunSpec, BaseException]], records: list[dict[str, Any]], retries: int):
        self.records = records
        super().__init__(failures, records, retries)

    def describe(self, spec: RunSpec) -> str:
        where = ", ".join(f"{n}={v!r}" for n, v in spec.params) or "no parameters"
        return f"point {spec.point} ({where}), replication {spec.replication} (seed {spec.seed})"

    def lines(self) -> list[str]:
        lines = super().lines()
        if all(isinstance(exc, BrokenExecutor) for _, exc in self.failures) and getattr(sys.modules.get("__main__"),
                                                                                         "__file__", None):
            lines.append("worker processes kept dying; if they could not even start, check that the script guards "
                         "its sweep with `if __name__ == \"__main__\":` (spawned workers import the main module)")
        return lines


def slo_column(slo: Mapping[str, Any]) -> str:
    """The record column an SLO is about: ``latency_p99``, ``op.buy.latency_p99``, ``throughput_rps``,
    ``component.db.p_wait`` (:func:`simulator.objectives.record_column`)."""
    from ..objectives import record_column

    return record_column(slo["metric"], slo.get("operation"), slo.get("component"))


@dataclass
class SweepResult:
    """The outcome of :func:`sweep`: one record per run, aggregated per point on demand.

    ``records`` are the flat run records (see :mod:`simulator.experiments.runs`) sorted by
    (point, replication); :attr:`runs` is the same as a pandas DataFrame. ``slos`` lists
    the scenario's objectives with their record ``column`` and ``targets`` (one per point:
    a target may itself be a parameter).
    """

    scenario: str
    path: str
    grid: dict[str, list[Any]]
    replications: int
    seed: int
    seeds: list[int]
    records: list[dict[str, Any]] = field(repr=False)
    slos: list[dict[str, Any]] = field(default_factory=list, repr=False)
    param_descriptions: dict[str, str] = field(default_factory=dict, repr=False)
    executed: int = 0
    reused: int = 0

    @property
    def points(self) -> list[dict[str, Any]]:
        """The grid's points, in point order."""
        return points(self.grid)

    @property
    def runs(self) -> "pd.DataFrame":
        """The tidy table: one row per run, one column per record key."""
        import pandas as pd

        return pd.DataFrame.from_records(self.records)

    @property
    def metrics(self) -> list[str]:
        """Record columns that are metrics (aggregated per point), in record order."""
        skip = set(NON_METRICS) | set(self.grid)
        columns: list[str] = []
        for rec in self.records:
            columns += [k for k in rec if k not in skip and k not in columns]
        return columns

    def aggregate(self) -> "pd.DataFrame":
        """One row per point: ``point``, its parameters, ``n`` (runs) and, for every metric,
        ``<metric>.mean``, ``<metric>.ci_low`` and ``<metric>.ci_high`` (95 % Student t interval
        over the replications; missing values are left out; SLO ``passed`` columns give the
        share of replications that passed)."""
        import pandas as pd

        return pd.DataFrame.from_records(self._aggregate_rows())

    def _aggregate_rows(self) -> list[dict[str, Any]]:
        by_point: dict[int, list[dict[str, Any]]] = {}
        for rec in self.records:
            by_point.setdefault(rec["point"], []).append(rec)
        metrics = self.metrics
        rows = []
        for index, point in enumerate(self.points):
            recs = by_point.get(index, [])
            row: dict[str, Any] = {"point": index, **point, "n": len(recs)}
            for metric in metrics:
                values = [numeric(r.get(metric)) for r in recs]
                ci = mean_interval([v for v in values if v is not None])
                row[f"{metric}.mean"] = ci.mean
                row[f"{metric}.ci_low"] = ci.low
                row[f"{metric}.ci_high"] = ci.high
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready data: metadata, ``aggregate`` rows and ``runs`` records."""
        from ..artifacts import json_safe

        return json_safe({
            "scenario": self.scenario, "path": self.path, "grid": self.grid, "replications": self.replications,
            "seed": self.seed, "seeds": self.seeds, "points": len(self.points), "runs_total": len(self.records),
            "executed": self.executed, "reused": self.reused, "metrics": self.metrics, "slos": self.slos,
            "aggregate": self._aggregate_rows(), "runs": self.records,
        })

    def plot(self, metric: str = "latency_p99", param: str | None = None, **kwargs: Any):
        """:func:`simulator.experiments.charts.plot_sweep` of this result."""
        from .charts import plot_sweep

        return plot_sweep(self, metric, param, **kwargs)

    def write(self, out_dir: str | os.PathLike[str], *, charts: bool = False, svg: bool = False) -> list[Path]:
        """Write ``runs.csv``, ``aggregate.csv``, ``sweep.json`` (and with *charts* one PNG per
        :data:`HEADLINE_METRICS` plotted against the first parameter) into *out_dir*."""
        from ..artifacts import _write_json, _write_table

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = [_write_table(self.runs, out / "runs.csv", "csv"),
                   _write_table(self.aggregate(), out / "aggregate.csv", "csv"),
                   _write_json(out / "sweep.json", self.to_dict())]
        if charts:
            written += self.write_charts(out, svg=svg)
        return written

    def write_charts(self, out_dir: str | os.PathLike[str], *, svg: bool = False,
                     metrics: Sequence[str] = HEADLINE_METRICS) -> list[Path]:
        """``<metric>.png`` for each of *metrics* present (nothing when the grid has no parameter)."""
        from ..artifacts import _save_chart
        from .charts import plot_sweep

        written: list[Path] = []
        if not self.grid:
            return written
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for metric in metrics:
            if metric in self.metrics:
                _save_chart(plot_sweep(self, metric), out, metric.replace("/", "_"), svg, written)
        return written


# ----------------------------------------------------------------------------- runs.jsonl


def read_records(path: str | os.PathLike[str]) -> tuple[dict[str, dict[str, Any]], int, bool]:
    """The records of a ``runs.jsonl`` by key (first wins), how many lines were unusable, and
    whether the file needs rewriting (unusable lines, duplicates or no final newline)."""
    data = Path(path).read_bytes()
    records: dict[str, dict[str, Any]] = {}
    bad = 0
    dirty = bool(data) and not data.endswith(b"\n")
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:  # a truncated line (the writer died mid-line) or garbage
            bad += 1
            continue
        if not isinstance(rec, dict) or not isinstance(rec.get("key"), str):
            bad += 1
            continue
        if rec["key"] in records:
            dirty = True
            continue
        records[rec["key"]] = rec
    return records, bad, dirty or bad > 0


class _Log:
    """Append-only ``runs.jsonl``: each record is one ``os.write`` of a whole line, then fsync."""

    def __init__(self, path: Path):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, allow_nan=False, separators=(",", ":")) + "\n").encode("utf-8")
        view = memoryview(line)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
        os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)


def _rewrite(path: Path, records: list[dict[str, Any]]) -> None:
    from ..artifacts import _write_text

    _write_text(path, "".join(json.dumps(r, allow_nan=False, separators=(",", ":")) + "\n" for r in records))


# ----------------------------------------------------------------------------- the sweep


def _validate(path: Path, text: str, grid: dict[str, list[Any]], sets: tuple[str, ...]
              ) -> tuple[list["Scenario"], list[str]]:
    """Load every point; raise ScenarioError with the (deduplicated) problems of invalid ones."""
    from ..scenario.load import check_scenario

    scenarios, digests, problems, invalid = [], [], [], 0
    for point in points(grid):
        try:
            scenario = check_scenario(path, params=param_arguments(point), sets=sets, text=text)[0]
        except ScenarioError as error:
            invalid += 1
            problems += [p for p in error.problems if p not in problems]
            if invalid >= _MAX_INVALID_POINTS:
                break
            continue
        scenarios.append(scenario)
        digests.append(design_digest(scenario))
    if problems:
        raise ScenarioError(problems)
    return scenarios, digests


def sweep(scenario: str | os.PathLike[str], grid: Mapping[str, Any] | None = None, replications: int = 5, *,
          executor: Executor | None = None, workers: int | None = None, scheduler: str | None = None,
          seed: int | None = None, sets: Sequence[str] = (), out_dir: str | os.PathLike[str] | None = None,
          resume: bool = False, retries: int = 2, progress: Callable[[int, int], None] | None = None,
          first_replication: int = 0) -> SweepResult:
    """Run *scenario* at every point of *grid*, *replications* times each; see the module docstring.

    Args:
        scenario: the scenario file (a path: workers load it themselves).
        grid: ``{param: values}``; values a list, a single value or a spec string such as
            ``"100:2000:100"`` (:mod:`simulator.experiments.grid`). Empty: one point.
        replications: runs per point (R ≥ 1; intervals need R ≥ 2).
        executor: any ``concurrent.futures.Executor`` (never shut down here). Default: one
            made by :func:`make_executor` from *workers* / *scheduler* (a process pool with
            a worker per CPU), owned, recreated if it breaks, shut down at the end.
        seed: base seed (default: the scenario's).
        sets: ``--set`` overrides applied at every point (``"duration=200s"``).
        out_dir: where ``runs.jsonl`` (as runs finish) and the tables go.
        resume: reuse the records already in ``out_dir/runs.jsonl``.
        retries: resubmissions allowed per failing run.
        progress: ``progress(done, total)`` at the start and after every finished run
            (*done* includes reused runs).
        first_replication: run only replications *first_replication* … R − 1 of every point
            (their seeds are those of a full sweep): how a search adds runs to a point whose
            first replications it already has (:mod:`~simulator.experiments.evaluation`).

    Raises:
        ScenarioError: a point is invalid (nothing ran).
        ValueError: a bad grid or argument.
        SweepError: runs still failing after their retries.
    """
    from ..scenario.model import Scenario

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError("sweep() was called while a worker process was importing the main script: put the "
                           "script's sweep under `if __name__ == \"__main__\":` (workers import the main module)")
    if isinstance(scenario, Scenario):
        raise TypeError("sweep needs the scenario's file (workers load it with each point's parameters), "
                        "not a loaded Scenario")
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ValueError(f"replications must be a whole number of at least 1, not {replications!r}")
    if isinstance(first_replication, bool) or not isinstance(first_replication, int) or not (
            0 <= first_replication < replications):
        raise ValueError(f"first_replication must be a whole number in [0, {replications}), not {first_replication!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a whole number of at least 0, not {retries!r}")
    if resume and out_dir is None:
        raise ValueError("resume needs out_dir (where runs.jsonl is)")
    if executor is not None and (workers is not None or scheduler is not None):
        raise ValueError("give an executor, or workers/scheduler to make one, not both")
    grid = normalize_grid(grid)
    clash = sorted(set(grid) & RESERVED)
    if clash:
        raise ValueError(f"cannot sweep a parameter named {clash[0]!r}: the run records use that name")
    sets = tuple(sets)
    path = Path(scenario)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError([Problem(str(path), None, None, "", f"cannot read the file: {exc.strerror or exc}")]) \
            from None
    except UnicodeDecodeError:
        raise ScenarioError([Problem(str(path), None, None, "", "the file is not UTF-8 text")]) from None

    scenarios, digests = _validate(path, text, grid, sets)
    base = scenarios[0]
    base_seed = base.seed if seed is None else int(seed)
    seeds = replication_seeds(base_seed, replications)
    location = str(path.resolve())
    specs = [RunSpec(location, tuple(point.items()), sets, seeds[r], i, r, text, digests[i])
             for i, point in enumerate(points(grid)) for r in range(first_replication, replications)]

    done: dict[str, dict[str, Any]] = {}
    log = None
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        log_path = out / "runs.jsonl"
        if resume and log_path.exists():
            existing, _bad, dirty = read_records(log_path)
            if dirty:  # drop the truncated/garbled lines so appending starts on a clean line
                _rewrite(log_path, list(existing.values()))
            for spec in specs:
                rec = existing.get(spec.key)
                if rec is not None:
                    done[spec.key] = {**rec, "point": spec.point, "replication": spec.replication}
        elif log_path.exists():
            log_path.write_bytes(b"")
        log = _Log(log_path)
    reused = len(done)
    total = len(specs)
    if progress is not None:
        progress(len(done), total)

    def finished(spec: RunSpec, rec: dict[str, Any]) -> None:
        rec = json.loads(json.dumps(rec, allow_nan=False))  # exactly what a resume would read back
        done[spec.key] = rec
        if log is not None:
            log.append(rec)
        if progress is not None:
            progress(len(done), total)

    pending = [s for s in specs if s.key not in done]
    failures: list[tuple[RunSpec, BaseException]] = []
    try:
        run_all(run_one, pending, executor=(lambda: make_executor(workers, scheduler)) if executor is None else executor,
                retries=retries, on_done=finished)
    except RunsFailed as failed:
        failures = failed.failures
    finally:
        if log is not None:
            log.close()
    records = [done[s.key] for s in specs if s.key in done]
    if failures:
        raise SweepError(failures, records, retries)

    slos = []
    for i, slo in enumerate(base.slos):
        targets = [sc.slos[i].target if i < len(sc.slos) else None for sc in scenarios]
        entry = {"name": slo.name, "metric": slo.metric, "operation": slo.operation,
                 "bound": "max" if slo.max is not None else "min", "target": slo.target, "targets": targets}
        entry["column"] = slo_column(entry)
        slos.append(entry)
    result = SweepResult(scenario=base.name, path=str(path), grid=grid, replications=replications, seed=base_seed,
                         seeds=seeds, records=records, slos=slos,
                         param_descriptions={n: p.description for n, p in base.params.items() if p.description},
                         executed=len(records) - reused, reused=reused)
    if out_dir is not None:
        result.write(out_dir)
    return result

