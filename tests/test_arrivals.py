"""Open-loop arrivals under a rate profile: a non-homogeneous Poisson process (golden G1.2).

The count of arrivals in a window [a, b) is Poisson with mean Λ = ∫ rate(t) dt over it:
mean and variance both Λ. Checked over independent replications (one seed each), with a
3-standard-error band on the mean and a dispersion band on the variance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator import simulate
from simulator.core.profile import pieces, rate_function
from simulator.scenario.model import ProfilePoint

from helpers import scenario, service

PROFILE = [{"at": "10s", "rate": "200/s"},                 # step 20 -> 200
           {"at": "20s", "rate": "20/s", "ramp": "10s"},   # ramp 200 -> 20 over [20, 30)
           {"at": "24s", "rate": "400/s", "for": "2s"},    # spike on top of the ramp
           {"at": "35s", "rate": "0/s"}]                   # silence from 35 s on


def _points(raw):
    return [ProfilePoint.model_validate(p) for p in raw]


def _expected(lo: float, hi: float) -> float:
    """Λ over [lo, hi): the rate integrated exactly (it is piecewise linear)."""
    rate = rate_function(20.0, _points(PROFILE))
    grid = np.linspace(lo, hi, 200_001)
    values = np.array([rate(t) for t in grid[:-1]])
    return float(values.sum() * (grid[1] - grid[0]))


def test_pieces_cut_at_every_point_and_bound_the_rate():
    plan = pieces(20.0, _points(PROFILE), 40.0)
    assert [(p.start, p.end) for p in plan] == [(0, 10), (10, 20), (20, 24), (24, 26), (26, 30), (30, 35), (35, 40)]
    assert [p.constant for p in plan] == [True, True, False, True, False, True, True]
    assert [round(p.top, 6) for p in plan] == [20, 200, 200, 400, 92, 20, 0]  # the ramp at 26 s: 200 - 180 * 0.6
    rate = rate_function(20.0, _points(PROFILE))
    for p in plan:  # the bound holds everywhere on its piece
        assert all(rate(t) <= p.top for t in np.linspace(p.start, p.end, 101)[:-1])


def test_pieces_ignore_points_beyond_the_horizon():
    plan = pieces(5.0, _points([{"at": "50s", "rate": "100/s"}]), 40.0)
    assert plan == [(0.0, 40.0, 5.0, True)]


@pytest.fixture(scope="module")
def counts():
    """Arrivals per window in 40 independent replications of the profile."""
    sc = scenario({"svc": service("0ms", workers=10_000)}, rate="20/s", duration="40s",
                  workload={"profile": PROFILE})
    windows = [(0, 10), (10, 20), (20, 24), (24, 26), (26, 30), (30, 35), (35, 40), (20, 22), (28, 30)]
    out = []
    for seed in range(40):
        t = simulate(sc, seed).requests.t_issue
        out.append([int(((t >= lo) & (t < hi)).sum()) for lo, hi in windows])
    return windows, np.array(out)


def test_counts_per_window_have_the_integrated_rate_as_mean_and_variance(counts):
    windows, n = counts
    k = n.shape[0]
    for j, (lo, hi) in enumerate(windows):
        lam = _expected(lo, hi)
        mean, var = n[:, j].mean(), n[:, j].var(ddof=1)
        if lam == 0:
            assert n[:, j].max() == 0, (lo, hi)
            continue
        assert abs(mean - lam) < 3 * math.sqrt(lam / k), (lo, hi, mean, lam)
        # Poisson: variance = mean; the sample variance's SE is about lam * sqrt(2 / (k - 1))
        assert abs(var - lam) < 3 * lam * math.sqrt(2 / (k - 1)) + 3 * math.sqrt(lam / k), (lo, hi, var, lam)


def test_a_ramp_follows_its_slope(counts):
    """The first 2 s of the ramp (≈ 200 → 164/s) see more arrivals than its last 2 s (≈ 56 → 20/s)."""
    windows, n = counts
    early, late = n[:, windows.index((20, 22))], n[:, windows.index((28, 30))]
    assert abs(early.mean() - _expected(20, 22)) < 3 * math.sqrt(_expected(20, 22) / len(early))
    assert abs(late.mean() - _expected(28, 30)) < 3 * math.sqrt(_expected(28, 30) / len(late))


def test_a_profile_that_stays_at_zero_sends_nothing():
    sc = scenario({"svc": service("0ms")}, rate="0/s", duration="10s",
                  workload={"profile": [{"at": "20s", "rate": "100/s"}]})
    assert len(simulate(sc).requests) == 0
