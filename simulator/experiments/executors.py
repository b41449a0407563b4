"""Where runs execute (sweeps, the grader, compare): this process, a local process pool, or a dask cluster.

:func:`run_all` is the one loop that drives a batch of runs on an executor (submit, collect
as they complete, retry, replace a broken pool of its own); sweeps call it with their
:class:`~simulator.experiments.runs.RunSpec` s, and :func:`replicate` (compare, the grader)
with one scenario's seeds.

:func:`make_executor` returns a :class:`concurrent.futures.Executor`:

=========================================  ===================================================
``make_executor()``                        a :class:`~concurrent.futures.ProcessPoolExecutor`
                                           with one worker per CPU (``os.cpu_count()``)
``make_executor(workers=4)``               the same with 4 worker processes
``make_executor(workers=1)``               :class:`SerialExecutor`: runs each call right here,
                                           synchronously (debuggers, profilers, tiny sweeps)
``make_executor(scheduler="tcp://h:8786")``  a ``distributed`` cluster (``dask://h:8786`` is the
                                           same): ``Client(address).get_executor()``
=========================================  ===================================================

:func:`simulator.sweep` accepts any ``concurrent.futures.Executor`` instead (a pool you
configured, ``distributed.Client(...).get_executor()``, ``mpi4py``'s ``MPIPoolExecutor``…);
one it did not create it never shuts down.

Process pools (:func:`process_context`): on Linux, a process with no other thread running
forks its workers (instant start, nothing re-imported). Forking a process that runs threads
(a progress bar on a terminal, a dask client, a notebook kernel) can deadlock the child, so
then — and on every other platform — workers start from a clean interpreter: ``forkserver``
(preloaded with the simulator, so each worker forks from it ready to run; about a second
once per process for the server to import sdsim) where available, else ``spawn``. Everything
a worker runs is importable — :func:`simulator.experiments.runs.run_one` is module-level,
:class:`~simulator.experiments.runs.RunSpec` pickles — so any start method works; a *script*
that sweeps should guard its entry point, as with any ``multiprocessing`` code (spawned
workers import the main module)::

    if __name__ == "__main__":
        simulator.sweep("scenarios/theory/mmc.yaml", {"servers": [8, 10, 12]})

A dask cluster's workers need the ``simulator`` package installed (the same version) and
``pip install "sdsim[distributed]"`` on the submitting side.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import sys
import threading
from concurrent.futures import (FIRST_COMPLETED, BrokenExecutor, CancelledError, Executor, Future, ProcessPoolExecutor,
                                wait)
from typing import Any, Callable, Sequence

__all__ = ["ClusterExecutor", "RunsFailed", "SerialExecutor", "default_workers", "make_executor", "process_context",
           "replicate", "run_all"]


class SerialExecutor(Executor):
    """Runs every ``submit`` at once, in the calling thread; returns an already-finished future."""

    def __init__(self) -> None:
        self._shutdown = False
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
        future: Future = Future()
        future.set_running_or_notify_cancel()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt, SystemExit: stop now
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True


class ClusterExecutor(Executor):
    """A ``distributed`` client's executor that also closes the client on :meth:`shutdown`."""

    def __init__(self, client: Any) -> None:
        self.client = client
        # pure=False: a retried run must execute again, not be deduplicated by its arguments
        self._executor = client.get_executor(pure=False)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            self._executor.shutdown(wait=wait and not cancel_futures)
        finally:
            self.client.close()

    def __repr__(self) -> str:
        return f"ClusterExecutor({self.client.scheduler.address if self.client.scheduler else '?'})"


def process_context() -> multiprocessing.context.BaseContext:
    """How pool workers start: ``fork`` on Linux when this process runs no other thread (safe and
    instant), else ``forkserver`` (preloading the simulator) where available, else ``spawn``."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["simulator.experiments.runs"])
        return context
    return multiprocessing.get_context("spawn")


def _cluster_address(scheduler: str) -> str:
    address = scheduler.strip()
    if address.startswith("dask://"):
        address = "tcp://" + address.removeprefix("dask://")
    if "://" not in address:
        raise ValueError(f"scheduler {scheduler!r}: expected tcp://HOST:PORT or dask://HOST:PORT")
    return address


def make_executor(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """An executor for sweep runs (see the module docstring). The caller shuts it down."""
    if scheduler is not None:
        if workers is not None:
            raise ValueError("give either workers (a local pool) or scheduler (a cluster), not both")
        address = _cluster_address(scheduler)
        try:
            from distributed import Client
        except ImportError:
            raise ImportError('running on a dask cluster needs the distributed package: pip install '
                              '"sdsim[distributed]"') from None
        try:
            client = Client(address)
        except OSError as exc:
            raise ConnectionError(f"cannot reach the dask scheduler at {address}: {exc}") from exc
        return ClusterExecutor(client)
    if workers is None:
        workers = os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number of at least 1, not {workers!r}")
    if workers == 1:
        return SerialExecutor()
    return ProcessPoolExecutor(max_workers=workers, mp_context=process_context())


def default_workers(runs: int) -> int:
    """Processes for *runs* runs of about equal length: one each when there are at most 4 per
    core (the cores share them evenly: 5 runs on 2 cores take 2.5 runs' time, not the 3 of a
    2-process pool), else one per core."""
    cores = os.cpu_count() or 1
    return runs if runs <= 4 * cores else cores


class RunsFailed(RuntimeError):
    """Some runs still failed after their retries (:func:`run_all`).

    ``failures``: ``[(job, exception)]`` in job order; ``results``: the results of the runs that
    did finish, in job order; ``retries``: the resubmissions each run was allowed.
    """

    def __init__(self, failures: list[tuple[Any, BaseException]], results: list[Any], retries: int):
        self.failures = failures
        self.results = results
        self.retries = retries
        super().__init__("\n".join(self.lines()))

    def describe(self, job: Any) -> str:
        """How the message names a failed run's *job*."""
        return f"run {job!r}"

    def lines(self) -> list[str]:
        """The message: how many failed, then the first five failures, one a line."""
        total = len(self.failures) + len(self.results)
        retries = self.retries
        lines = [f"{len(self.failures)} of {total} runs failed after {retries} retr{'y' if retries == 1 else 'ies'}:"]
        for job, exc in self.failures[:5]:
            lines.append(f"  {self.describe(job)}: {type(exc).__name__}: {exc}")
        if len(self.failures) > 5:
            lines.append(f"  … and {len(self.failures) - 5} more")
        return lines


def run_all(fn: Callable[[Any], Any], jobs: Sequence[Any], *,
            executor: Executor | Callable[[], Executor] | None = None, workers: int | None = None,
            scheduler: str | None = None, retries: int = 0, on_done: Callable[[Any, Any], None] | None = None,
            keep_going: bool = True) -> list[Any]:
    """``fn(job)`` for every job, wherever the executor runs it; the results in job order.

    The one replication loop of sweeps, compare and the grader. Every job is submitted at
    once and collected as it completes:

    * **Where.** *executor* is a ``concurrent.futures.Executor`` (the caller's: never shut
      down, never replaced) or a function of no argument that makes one; without it the
      loop makes ``make_executor(workers, scheduler)``. An executor the loop made is its
      own: made only when there is a job, replaced when it breaks, shut down at the end
      (waiting for nothing that was cancelled). *fn* and the jobs must pickle for a process
      pool or a cluster (*fn* module-level, or a ``functools.partial`` of one).
    * **Retries.** A run that raises, or whose worker dies (``BrokenProcessPool``, a dask
      ``KilledWorker``, a lost connection…), is resubmitted up to *retries* times. When a
      pool of the loop's own breaks, it is replaced once (not once per run it took down) and
      the runs resubmitted there; every failure counts against each run it took down.
    * **As each finishes.** ``on_done(job, result)`` is called once per job, in this
      thread, as soon as its result is here (before the slower runs finish; several that
      complete together are taken in job order). A serial executor's run is taken at its
      submission.
    * **Failures.** With *keep_going* (the default) every other run still finishes, then
      :class:`RunsFailed` lists the runs that never succeeded; without it the first run
      out of retries cancels the runs not started yet and :class:`RunsFailed` is raised at
      once. ``KeyboardInterrupt`` cancels what has not started and propagates: only the
      runs in flight are lost.
    """
    jobs = list(jobs)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a whole number of at least 0, not {retries!r}")
    if executor is None:
        make: Callable[[], Executor] | None = lambda: make_executor(workers, scheduler)  # noqa: E731
    elif callable(getattr(executor, "submit", None)):
        if workers is not None or scheduler is not None:
            raise ValueError("give an executor, or workers/scheduler to make one, not both")
        make = None
    elif callable(executor):
        make = executor
    else:
        raise TypeError(f"executor must be a concurrent.futures.Executor or a function making one, not "
                        f"{type(executor).__name__}")
    if not jobs:
        return []
    return _Loop(fn, jobs, executor if make is None else make(), make, retries, on_done, keep_going).run()


class _Loop:
    """One :func:`run_all`: the futures in flight, the attempts of each job, what finished."""

    def __init__(self, fn: Callable[[Any], Any], jobs: list[Any], pool: Executor, make: Callable[[], Executor] | None,
                 retries: int, on_done: Callable[[Any, Any], None] | None, keep_going: bool):
        self.fn, self.jobs, self.pool, self.make = fn, jobs, pool, make
        self.retries, self.on_done, self.keep_going = retries, on_done, keep_going
        self.generation = 0  # bumped when an owned pool is replaced: its old futures' failures replace nothing
        self.attempts = [0] * len(jobs)
        self.results: dict[int, Any] = {}
        self.failures: dict[int, BaseException] = {}
        self.futures: dict[Future, tuple[int, int]] = {}  # future -> (job index, pool generation)

    def run(self) -> list[Any]:
        try:
            for index in range(len(self.jobs)):
                if self.stopped:
                    break
                self.submit(index)
            while self.futures and not self.stopped:
                complete, _ = wait(list(self.futures), return_when=FIRST_COMPLETED)
                for future in sorted(complete, key=lambda f: self.futures[f][0]):
                    if future in self.futures and not self.stopped:
                        self.collect(future)
        finally:
            for future in self.futures:
                future.cancel()
            if self.make is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)
        if self.failures:
            order = sorted(self.results)
            raise RunsFailed([(self.jobs[i], self.failures[i]) for i in sorted(self.failures)],
                             [self.results[i] for i in order], self.retries)
        return [self.results[i] for i in range(len(self.jobs))]

    @property
    def stopped(self) -> bool:
        return bool(self.failures) and not self.keep_going

    def submit(self, index: int) -> None:
        generation = self.generation
        try:
            future = self.pool.submit(self.fn, self.jobs[index])
        except Exception as exc:  # e.g. a pool that broke before this submission
            self.failed(index, generation, exc)
            return
        self.futures[future] = (index, generation)
        if future.done():  # a serial executor ran it already: take it now, not after the whole batch
            self.collect(future)

    def collect(self, future: Future) -> None:
        index, generation = self.futures.pop(future)
        error = CancelledError("the run was cancelled") if future.cancelled() else future.exception()
        if error is not None:
            self.failed(index, generation, error)
            return
        result = future.result()
        self.results[index] = result
        if self.on_done is not None:
            self.on_done(self.jobs[index], result)

    def failed(self, index: int, generation: int, error: BaseException) -> None:
        self.attempts[index] += 1
        if self.attempts[index] > self.retries:
            self.failures[index] = error
            return
        if self.make is not None and isinstance(error, BrokenExecutor) and generation == self.generation:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self.make()
            self.generation += 1
        self.submit(index)


def _simulate(scenario: Any, seed: int) -> Any:
    from ..simulation import simulate

    return simulate(scenario, seed)


def replicate(scenario: Any, seeds: Sequence[int], executor: Executor | None = None, *, workers: int | None = None,
              scheduler: str | None = None, run: Callable[[Any, int], Any] | None = None,
              retries: int = 0) -> list[Any]:
    """``run(scenario, seed)`` (default :func:`simulator.simulate`) for every seed, in seed order.

    :func:`run_all` over the seeds, for compare and the grader. Each run depends only on
    (scenario, seed), so the results are the same wherever they run:

    * *executor*: any ``concurrent.futures.Executor`` (not shut down here);
    * else *scheduler*: a dask cluster (:func:`make_executor`);
    * else *workers* local processes (default :func:`default_workers`); ``1`` runs them here,
      one after the other. *run* must be a module-level function for a process pool.

    A failed run is resubmitted *retries* times (none by default: a run that fails once fails
    again with the same seed, unless its worker died). The replications are all or nothing,
    so the first run out of retries stops the others and its own exception is raised (a
    :class:`~simulator.errors.SimulationStalled` stays one, as callers tell errors apart by type).
    """
    seeds = list(seeds)
    if executor is None and scheduler is None:
        workers = min(default_workers(len(seeds)) if workers is None else workers, len(seeds))
        workers = max(workers, 1)
    try:
        where = {"executor": executor} if executor is not None else {"workers": workers, "scheduler": scheduler}
        return run_all(functools.partial(_simulate if run is None else run, scenario), seeds, retries=retries,
                       keep_going=False, **where)
    except RunsFailed as failed:
        error = failed.failures[0][1]
    raise error  # outside the handler: the run's own exception, not chained to RunsFailed
