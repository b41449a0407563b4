"""The one replication loop (``run_all``) and its wrapper ``replicate``: order, retries, pools, callbacks.

Jobs here are small numbers and the work is arithmetic (or a sleep, to force a completion
order), so every case runs in milliseconds; executors are the library's own, a thread pool,
or fakes that fail the way a dying process pool does.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pytest

from simulator.experiments.executors import RunsFailed, SerialExecutor, replicate, run_all


def square(x: int) -> int:
    return x * x


class Recording(SerialExecutor):
    """A serial executor that remembers each submitted job and whether it was shut down."""

    def __init__(self) -> None:
        super().__init__()
        self.submitted: list = []
        self.shut = False

    def submit(self, fn, /, *args, **kwargs):
        self.submitted.append(args[0])
        return super().submit(fn, *args, **kwargs)

    def shutdown(self, wait=True, *, cancel_futures=False):
        self.shut = True
        super().shutdown(wait, cancel_futures=cancel_futures)


class BreaksAtSubmit(Executor):
    """A pool whose worker dies at the *n*-th submission: every future it handed out fails with
    BrokenProcessPool, and so does every later submission (as a ProcessPoolExecutor does)."""

    def __init__(self, n: int) -> None:
        self.n, self.futures, self.broken, self.shut = n, [], False, False

    def submit(self, fn, /, *args, **kwargs):
        if self.broken:
            raise BrokenProcessPool("the pool is broken (injected)")
        self.futures.append(Future())
        if len(self.futures) == self.n:
            self.broken = True
            for future in self.futures:
                future.set_exception(BrokenProcessPool("a worker died (injected)"))
        return self.futures[-1]

    def shutdown(self, wait=True, *, cancel_futures=False):
        self.shut = True


def flaky(failing: dict[int, int]):
    """A job function that raises for job j while ``failing[j]`` attempts remain (thread-safe)."""
    lock = threading.Lock()

    def fn(job: int) -> int:
        with lock:
            if failing.get(job, 0) > 0:
                failing[job] -= 1
                raise ValueError(f"boom {job}")
        return square(job)

    return fn


# ----------------------------------------------------------------------------- order and callbacks


def test_results_come_back_in_job_order_and_on_done_as_each_finishes():
    """Later jobs finish first (shorter sleeps) on a thread pool: the results are in job order, and
    on_done saw each job once, with its own result, in completion order."""
    seen = []

    def slow_square(job: int) -> int:
        time.sleep(0.03 * (4 - job))
        return square(job)

    with ThreadPoolExecutor(max_workers=5) as pool:
        results = run_all(slow_square, range(5), executor=pool, on_done=lambda job, r: seen.append((job, r)))
    assert results == [0, 1, 4, 9, 16]
    assert sorted(seen) == [(j, j * j) for j in range(5)]
    assert [job for job, _ in seen] == [4, 3, 2, 1, 0]


def test_the_serial_path_runs_here_in_order_and_reports_each_run_before_the_next():
    """workers=1: every run in the calling thread, in job order, each on_done before the next run
    starts (a sweep's log line is written before the next run, not after the whole batch)."""
    events = []

    def fn(job: int) -> int:
        events.append(("run", job, threading.get_ident()))
        return square(job)

    results = run_all(fn, [3, 1, 2], workers=1, on_done=lambda job, r: events.append(("done", job, r)))
    assert results == [9, 1, 4]
    here = threading.get_ident()
    assert events == [("run", 3, here), ("done", 3, 9), ("run", 1, here), ("done", 1, 1), ("run", 2, here),
                      ("done", 2, 4)]


def test_a_process_pool_gives_the_serial_results():
    assert run_all(square, range(6), workers=2) == run_all(square, range(6), workers=1) == [0, 1, 4, 9, 16, 25]


def test_no_jobs_make_no_executor():
    made = []
    assert run_all(square, [], executor=lambda: made.append(1) or SerialExecutor()) == [] and made == []


# ----------------------------------------------------------------------------- retries and failures


def test_a_failing_run_is_retried_and_reported_once():
    """Job 2 fails twice; with retries=2 it is tried three times, succeeds, and on_done sees it once."""
    failing = {2: 2}
    pool = Recording()
    done = []
    results = run_all(flaky(failing), range(4), executor=pool, retries=2, on_done=lambda job, r: done.append(job))
    assert results == [0, 1, 4, 9]
    assert pool.submitted.count(2) == 3 and len(pool.submitted) == 6
    assert sorted(done) == [0, 1, 2, 3]
    assert not pool.shut  # a caller's executor is left running


def test_runs_out_of_retries_are_listed_after_the_others_finished():
    """With retries=1 a job failing every time is tried twice; the others finish (on_done, results),
    then RunsFailed lists the failures in job order with their exceptions."""
    failing = {1: 99, 3: 99}
    done = []
    with pytest.raises(RunsFailed) as caught:
        run_all(flaky(failing), range(5), workers=1, retries=1, on_done=lambda job, r: done.append(job))
    error = caught.value
    assert [job for job, _ in error.failures] == [1, 3]
    assert [str(exc) for _, exc in error.failures] == ["boom 1", "boom 3"]
    assert error.results == [0, 4, 16] and done == [0, 2, 4]
    assert failing == {1: 97, 3: 97}  # two attempts each
    assert str(error).splitlines() == ["2 of 5 runs failed after 1 retry:", "  run 1: ValueError: boom 1",
                                       "  run 3: ValueError: boom 3"]


def test_without_keep_going_the_first_run_out_of_retries_stops_the_rest():
    """Serially, job 1 fails: job 2 and later are never started, and RunsFailed names job 1 only."""
    ran = []

    def fn(job: int) -> int:
        ran.append(job)
        if job == 1:
            raise ValueError("boom")
        return job

    with pytest.raises(RunsFailed) as caught:
        run_all(fn, range(5), workers=1, keep_going=False)
    assert ran == [0, 1] and [job for job, _ in caught.value.failures] == [1] and caught.value.results == [0]


def test_an_interrupt_stops_the_loop_and_shuts_its_own_pool_down():
    """Ctrl-C while job 2 runs: it propagates; jobs 0 and 1 were reported, nothing after 2 ran."""
    made, done = [], []

    def fn(job: int) -> int:
        if job == 2:
            raise KeyboardInterrupt
        return job

    with pytest.raises(KeyboardInterrupt):
        run_all(fn, range(5), executor=lambda: made.append(Recording()) or made[-1],
                on_done=lambda job, r: done.append(job))
    assert done == [0, 1] and made[0].submitted == [0, 1, 2] and made[0].shut


# ----------------------------------------------------------------------------- broken pools


def test_a_broken_pool_of_its_own_is_replaced_once():
    """The loop's own pool dies at the third submission, failing the three runs in flight: one new
    pool is made (not one per failed run), the old one is shut down, those runs are resubmitted."""
    made = []

    def factory() -> Executor:
        made.append(BreaksAtSubmit(3) if not made else Recording())
        return made[-1]

    done = []
    assert run_all(square, range(6), executor=factory, retries=1, on_done=lambda j, r: done.append(j)) == \
        [0, 1, 4, 9, 16, 25]
    assert len(made) == 2 and made[0].shut and made[1].shut
    assert sorted(made[1].submitted) == [0, 1, 2, 3, 4, 5] and sorted(done) == [0, 1, 2, 3, 4, 5]


def test_a_dying_pool_counts_against_every_run_it_took_down():
    """With no retries, the three runs in flight when the pool died fail, and so do the runs
    submitted to the broken pool afterwards; nothing is replaced."""
    made = []

    def factory() -> Executor:
        made.append(BreaksAtSubmit(3))
        return made[-1]

    with pytest.raises(RunsFailed) as caught:
        run_all(square, range(5), executor=factory)
    assert len(made) == 1 and [job for job, _ in caught.value.failures] == [0, 1, 2, 3, 4]
    assert all(isinstance(exc, BrokenProcessPool) for _, exc in caught.value.failures)


def test_a_callers_broken_executor_is_never_replaced_or_shut_down():
    pool = BreaksAtSubmit(2)
    with pytest.raises(RunsFailed) as caught:
        run_all(square, range(3), executor=pool, retries=3)
    assert len(caught.value.failures) == 3 and not pool.shut


# ----------------------------------------------------------------------------- arguments and replicate


def test_bad_arguments_are_refused_before_anything_runs():
    with pytest.raises(ValueError, match="retries must be a whole number"):
        run_all(square, [1], retries=-1)
    with pytest.raises(ValueError, match="not both"):
        run_all(square, [1], executor=SerialExecutor(), workers=2)
    with pytest.raises(TypeError, match="executor must be"):
        run_all(square, [1], executor=42)


class Stalled(Exception):
    """Stands for an error callers tell apart by type (SimulationStalled: exit code 3)."""


def stall_on_seed_two(scenario: str, seed: int) -> str:
    if seed == 2:
        raise Stalled(f"{scenario} stalled at seed {seed}")
    return f"{scenario}@{seed}"


def test_replicate_returns_seed_order_and_raises_the_runs_own_exception():
    """replicate is run_all over the seeds: results in seed order; a failing run stops the others
    and its own exception comes out (not RunsFailed, not chained to it); no retry unless asked."""
    assert replicate("s", [5, 3, 4], workers=1, run=stall_on_seed_two) == ["s@5", "s@3", "s@4"]
    assert replicate("s", [5, 3], workers=2, run=stall_on_seed_two) == ["s@5", "s@3"]
    with pytest.raises(Stalled, match="s stalled at seed 2") as caught:
        replicate("s", [1, 2, 3], workers=1, run=stall_on_seed_two)
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    pool = Recording()
    with pytest.raises(Stalled):
        replicate("s", [1, 2, 3], pool, run=stall_on_seed_two)
    assert pool.submitted == [1, 2] and not pool.shut
    pool = Recording()
    with pytest.raises(Stalled):
        replicate("s", [2], pool, run=stall_on_seed_two, retries=2)
    assert pool.submitted == [2, 2, 2]
    pool = Recording()  # a given executor comes first: the scheduler is not even contacted
    assert replicate("s", [4], pool, scheduler="tcp://nowhere.invalid:1", run=stall_on_seed_two) == ["s@4"]
