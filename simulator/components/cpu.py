"""The vCPUs of one replica, shared by the work computing on it (processor sharing).

Specification. A replica with ``c`` vCPUs runs the ``work`` of its busy workers on those
CPUs. While ``k`` jobs are computing, each progresses at

    rate(k) = min(1, c / k)   CPU-seconds per second

(egalitarian processor sharing: the limit of a time-slicing OS scheduler with a small
quantum). With ``k <= c`` every job has a CPU to itself and takes exactly its work; with
more, they slow each other down equally and the replica completes ``c`` CPU-seconds of
work per second. A job of ``w`` CPU-seconds that starts at ``t`` finishes at the first
``t'`` with ``∫_t^t' rate(k(s)) ds = w``. Only work is shared: a worker waiting on I/O
(a downstream call, the steps of an ``io: blocking`` operation) or in the queue is not a
job. A job leaves when it is done or when :meth:`Processor.cancel` removes it (its
worker was interrupted by a crash); either way the others speed up at once.

Queueing theory: one replica with ``workers`` ≥ the number of requests it holds and
``c = 1`` is M/G/1-PS, whose mean response time E[S]/(1−ρ) does not depend on the
shape of the work distribution (insensitivity), unlike FIFO's Pollaczek–Khinchine.

Implementation: virtual time. ``V`` advances at the common rate ``rate(k)``; a job that
arrives when ``V = v`` with work ``w`` is done when ``V`` reaches its tag ``v + w``. The
tags sit in a heap and one SimPy timeout is pending, for the smallest tag. An arrival
or a departure changes ``k`` and so the rate: the timer is replaced, and because SimPy
timeouts cannot be cancelled a superseded one is recognised by identity and ignored.
Jobs with equal tags finish at the same instant exactly; each change costs O(log k);
``V`` restarts at 0 whenever the processor goes idle, so rounding does not grow with
the run.
"""

from __future__ import annotations

from heapq import heappop, heappush

import simpy


class Processor:
    """``vcpus`` CPUs shared by the jobs computing on one replica.

    :meth:`run` starts a job and returns the event that succeeds when its work is done;
    :meth:`cancel` withdraws a job whose worker was interrupted (a no-op once it is done).
    """

    __slots__ = ("env", "vcpus", "jobs", "tags", "virtual", "stamp", "timer", "_order")

    def __init__(self, env: simpy.Environment, vcpus: int):
        if vcpus < 1:
            raise ValueError(f"a processor needs at least one vCPU (got {vcpus})")
        self.env = env
        self.vcpus = vcpus
        self.jobs: set[simpy.Event] = set()  # the jobs computing now
        self.tags: list[tuple[float, int, simpy.Event]] = []  # (tag, order, job); withdrawn ones skipped lazily
        self.virtual = 0.0  # V at time `stamp`
        self.stamp = env.now
        self.timer: simpy.Event | None = None  # the one timeout that counts
        self._order = 0  # ties between equal tags finish in arrival order

    def rate(self) -> float:
        """CPU-seconds per second each job gets now."""
        k = len(self.jobs)
        return 1.0 if k <= self.vcpus else self.vcpus / k

    def run(self, work: float) -> simpy.Event:
        """Start a job of *work* CPU-seconds; the event succeeds when it is done."""
        env = self.env
        job = env.event()
        jobs = self.jobs
        if jobs:
            self._advance()
        else:
            self.virtual, self.stamp = 0.0, env.now
        tag = self.virtual + work
        tags = self.tags
        # the rate stays 1 and the next completion is still the one timed: keep the timer
        keep = self.timer is not None and len(jobs) < self.vcpus and tag >= tags[0][0]
        jobs.add(job)
        self._order += 1
        heappush(tags, (tag, self._order, job))
        if not keep:
            self._reschedule()
        return job

    def cancel(self, job: simpy.Event) -> None:
        """Withdraw *job* (its worker was interrupted); the others speed up."""
        jobs = self.jobs
        if job not in jobs:
            return
        self._advance()
        jobs.discard(job)
        if jobs:
            self._reschedule()
        else:
            self._idle()

    # -- the clock ------------------------------------------------------------------------------
    def _advance(self) -> None:
        """Bring V up to now at the rate of the current job count."""
        now = self.env.now
        self.virtual += (now - self.stamp) * self.rate()
        self.stamp = now

    def _reschedule(self) -> None:
        tags, jobs = self.tags, self.jobs
        while tags[0][2] not in jobs:
            heappop(tags)
        delay = (tags[0][0] - self.virtual) / self.rate()
        timer = self.timer = self.env.timeout(delay if delay > 0.0 else 0.0)
        timer.callbacks.append(self._wake)

    def _wake(self, timer: simpy.Event) -> None:
        if timer is not self.timer:
            return  # superseded by a later arrival or departure
        tags, jobs = self.tags, self.jobs
        while tags[0][2] not in jobs:
            heappop(tags)
        due = tags[0][0]
        self.virtual, self.stamp = due, self.env.now  # V has reached the smallest tag exactly
        while tags and tags[0][0] <= due:
            job = heappop(tags)[2]
            if job in jobs:
                jobs.discard(job)
                job.succeed()
        if jobs:
            self._reschedule()
        else:
            self._idle()

    def _idle(self) -> None:
        self.tags.clear()
        self.timer = None
        self.virtual, self.stamp = 0.0, self.env.now
