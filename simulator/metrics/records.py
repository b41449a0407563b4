"""Which records a run keeps: ``full`` (every request and visit), ``summary`` (aggregates), or ``auto``.

* ``full`` — one row per request and one span per component visit (about 40 + 56 bytes
  each, plus the numpy columns built from them): exact percentiles, the ``requests`` and
  ``spans`` tables, any time-series interval.
* ``summary`` — no rows: the streaming recorder (:mod:`simulator.metrics.streaming`)
  aggregates as the run goes. Counts, ratios, means and time integrals are the same as
  with full records; percentiles come from sketches within a stated relative error
  (:mod:`simulator.metrics.sketch`); time series exist for multiples of the
  ``sample_interval``. Memory no longer grows with every request.
* ``auto`` (the default) — ``full`` unless :func:`expected_requests` exceeds
  :data:`AUTO_THRESHOLD`, then ``summary``.

**The estimate** (before the run, from the workloads alone; requests are issued in
``[0, duration)``):

* open loop — the integral of the rate profile over ``[0, duration)`` (exact: the profile
  is piecewise linear, integrated piece by piece), i.e. the expected number of arrivals;
* closed loop — ``users × duration / (mean think time + LATENCY_GUESS_S)``: each user
  sends one request per think time plus response time, and the response time is guessed
  small (10 ms), which overestimates the count for slow systems — the safe direction.

The threshold counts requests, not visits: a request that visits five components keeps
six records in full mode; the benchmark (``benchmarks/bench_memory.py``) reports bytes
per request for both cases. ``SDSIM_RECORDS_THRESHOLD`` in the environment overrides
:data:`AUTO_THRESHOLD` (tests use a tiny one).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Literal

from ..scenario.model import Closed, Scenario, Workload

RecordsMode = Literal["full", "summary", "auto"]
MODES = ("full", "summary", "auto")

AUTO_THRESHOLD = 2_000_000
"""``auto`` keeps full records up to this many expected requests, summary records above."""
THRESHOLD_ENV = "SDSIM_RECORDS_THRESHOLD"
LATENCY_GUESS_S = 0.010
"""The response time assumed for closed-loop users in the estimate (seconds)."""


@dataclass(frozen=True)
class RecordsChoice:
    """What a run keeps and why: ``mode`` is ``full`` or ``summary``; ``requested`` what was asked."""

    mode: Literal["full", "summary"]
    requested: RecordsMode
    expected_requests: float
    threshold: int

    @property
    def reason(self) -> str:
        """One line for humans, e.g. ``summary (auto: about 10,000,000 expected requests > 2,000,000)``."""
        expected = f"about {self.expected_requests:,.0f} expected requests"
        if self.requested != "auto":
            return f"{self.mode} (asked for; {expected})"
        relation = ">" if self.mode == "summary" else "≤"
        return f"{self.mode} (auto: {expected} {relation} {self.threshold:,})"


def threshold() -> int:
    """:data:`AUTO_THRESHOLD`, or the ``SDSIM_RECORDS_THRESHOLD`` environment variable when set."""
    value = os.environ.get(THRESHOLD_ENV)
    return int(float(value)) if value else AUTO_THRESHOLD


def choose(scenario: Scenario, records: RecordsMode | None = None) -> RecordsChoice:
    """The records of a run of *scenario*: *records* if given, else the scenario's ``records`` field."""
    requested = records if records is not None else getattr(scenario, "records", "auto")
    if requested not in MODES:
        raise ValueError(f"records must be one of {', '.join(MODES)}, got {requested!r}")
    expected = expected_requests(scenario)
    limit = threshold()
    mode = requested if requested != "auto" else ("summary" if expected > limit else "full")
    return RecordsChoice(mode=mode, requested=requested, expected_requests=expected, threshold=limit)


def expected_requests(scenario: Scenario) -> float:
    """Requests the workloads are expected to issue in ``[0, duration)`` (module docstring)."""
    return sum(_expected(w, scenario.duration) for w in scenario.workload)


def _expected(workload: Workload, duration: float) -> float:
    arrivals = workload.arrivals
    if isinstance(arrivals, Closed):
        think = arrivals.think.mean()
        cycle = think + LATENCY_GUESS_S
        return arrivals.users * duration / cycle if math.isfinite(cycle) else 0.0
    return profile_integral(arrivals.rate, workload.profile, duration)


def profile_integral(base: float, profile, duration: float) -> float:
    """∫₀^duration rate(t) dt for a rate profile (steps, ramps, spikes): exact."""
    from ..core.profile import integral

    return integral(base, profile, duration)
