"""Where runs execute (sweeps, the grader, compare): this process, a local process pool, or a dask cluster.

:func:`replicate` runs one scenario once per seed through the same seam.

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

import multiprocessing
import os
import sys
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, Callable

__all__ = ["ClusterExecutor", "SerialExecutor", "default_workers", "make_executor", "process_context", "replicate"]


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


def _simulate(scenario: Any, seed: int) -> Any:
    from ..simulation import simulate

    return simulate(scenario, seed)


def replicate(scenario: Any, seeds: list[int], executor: Executor | None = None, *, workers: int | None = None,
              scheduler: str | None = None, run: Callable[[Any, int], Any] | None = None) -> list[Any]:
    """``run(scenario, seed)`` (default :func:`simulator.simulate`) for every seed, in seed order.

    The one replication loop of compare and the grader (a sweep runs its grid's points the
    same way, through :func:`make_executor`, with resume and retries of its own). Each run
    depends only on (scenario, seed), so the results are the same wherever they run:

    * *executor*: any ``concurrent.futures.Executor`` (not shut down here);
    * else *scheduler*: a dask cluster (:func:`make_executor`);
    * else *workers* local processes (default :func:`default_workers`); ``1`` runs them here,
      one after the other. *run* must be a module-level function for a process pool.
    """
    run = _simulate if run is None else run
    if executor is None and scheduler is None:
        workers = min(default_workers(len(seeds)) if workers is None else workers, len(seeds))
        if workers <= 1:
            return [run(scenario, seed) for seed in seeds]
    owned = executor is None
    pool = make_executor(workers, scheduler) if owned else executor
    try:
        futures = [pool.submit(run, scenario, seed) for seed in seeds]
        return [f.result() for f in futures]
    finally:
        if owned:
            pool.shutdown()
