"""The rate-limiting algorithms (``simulator.ratelimit``) against golden §2, exact where deterministic.

G2.1 redis-cell's GCRA vector row by row; G2.2 nginx ``limit_req`` burst with and
without ``nodelay``; G2.3 Envoy's discrete token bucket; G2.4 Poisson traffic into a
continuous token bucket against the M/D/1 closed form (independent replications, 3 SE);
G2.5 resilience4j's fixed-window boundary burst.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bands import assert_replications_within_3se
from simulator.ratelimit import ALGORITHMS, GCRA, FixedWindow, LeakyBucket, SlidingWindow, TokenBucket

# -- G2.1 GCRA ---------------------------------------------------------------------------------------

# (t, quantity) -> (limited, remaining, reset_after, retry_after): golden G2.1, max_burst=4, 1 request/s
G21 = [
    (0.0, 6, True, 5, 0.0, -1.0),
    (0.0, 1, False, 4, 1.0, -1.0),
    (0.0, 1, False, 3, 2.0, -1.0),
    (0.0, 1, False, 2, 3.0, -1.0),
    (0.0, 1, False, 1, 4.0, -1.0),
    (0.0, 1, False, 0, 5.0, -1.0),
    (0.0, 1, True, 0, 5.0, 1.0),
    (3.0, 1, False, 2, 3.0, -1.0),
    (3.1, 1, False, 1, 3.9, -1.0),
    (4.0, 1, False, 1, 4.0, -1.0),
    (8.0, 1, False, 4, 1.0, -1.0),
    (9.5, 1, False, 4, 1.0, -1.0),
    (9.5, 0, False, 4, 1.0, -1.0),
    (9.5, 2, False, 2, 3.0, -1.0),
    (9.5, 5, True, 2, 3.0, 3.0),
]


def test_gcra_redis_cell_vector_row_by_row():
    """golden G2.1: every row of redis-cell's ``it_rate_limits`` test."""
    gcra = GCRA(max_burst=4, count=1, period=1.0)
    for case, (t, qty, limited, remaining, reset_after, retry_after) in enumerate(G21):
        reply = gcra.throttle(t, qty)
        assert reply.limit == 5, case
        assert reply.limited is limited, case
        assert reply.remaining == remaining, case
        assert reply.reset_after == pytest.approx(reset_after, abs=1e-9), case
        assert reply.retry_after == pytest.approx(retry_after, abs=1e-9), case


def test_gcra_readme_example():
    """golden G2.1: ``CL.THROTTLE user123 15 30 60``: [0,16,15,-1,2]; the 16th [0,16,0,-1,32]; the 17th [1,16,0,2,32]."""
    gcra = GCRA(max_burst=15, count=30, period=60.0)
    assert tuple(gcra.throttle(0.0)) == (False, 16, 15, -1.0, 2.0)
    for _ in range(14):
        gcra.throttle(0.0)
    assert tuple(gcra.throttle(0.0)) == (False, 16, 0, -1.0, 32.0)
    assert tuple(gcra.throttle(0.0)) == (True, 16, 0, 2.0, 32.0)
    assert gcra.decide(0.0) is None and gcra.decide(2.0) == 0.0


# -- G2.2 nginx limit_req ------------------------------------------------------------------------------

def test_nginx_burst_queues_to_the_rate():
    """golden G2.2: rate=10r/s burst=20, 21 at once: 1 now, 20 released every 100 ms (last at 2.0 s); the 22nd 503."""
    bucket = LeakyBucket(rate=10, burst=20)
    delays = [bucket.decide(0.0) for _ in range(22)]
    assert delays[-1] is None
    assert delays[:21] == pytest.approx([0.1 * i for i in range(21)], abs=1e-9)


def test_nginx_nodelay_forwards_the_burst_at_once():
    """golden G2.2: with nodelay all 21 pass at t=0, the 22nd is refused; then one slot frees per 100 ms."""
    bucket = LeakyBucket(rate=10, burst=20, nodelay=True)
    assert [bucket.decide(0.0) for _ in range(22)] == [0.0] * 21 + [None]
    assert bucket.decide(0.05) is None       # no slot free yet
    assert bucket.decide(0.1) == 0.0         # one slot freed
    assert bucket.decide(0.1) is None


def test_nginx_without_burst_refuses_the_second_within_100ms():
    """golden G2.2: burst=0: the 2nd request within 100 ms is rejected, one at 100 ms passes."""
    bucket = LeakyBucket(rate=10)
    assert bucket.decide(0.0) == 0.0
    assert bucket.decide(0.099) is None
    assert bucket.decide(0.1) == 0.0


def test_nginx_delay_passes_the_first_excess_at_once():
    """nginx ``delay=5``: the first 5 excess requests pass at once, the rest are spaced from there."""
    bucket = LeakyBucket(rate=10, burst=8, delay=5)
    delays = [bucket.decide(0.0) for _ in range(10)]
    assert delays[:9] == pytest.approx([0.0] * 6 + [0.1, 0.2, 0.3], abs=1e-9)
    assert delays[9] is None


# -- G2.3 Envoy discrete token bucket --------------------------------------------------------------------

def test_envoy_bucket_burst_of_30():
    """golden G2.3: max_tokens=10, tokens_per_fill=5, fill_interval=1s: 30 at t=0 give 10 allowed, 20 × 429."""
    bucket = TokenBucket(capacity=10, rate=5, fill_interval=1.0)
    answers = [bucket.decide(0.0) for _ in range(30)]
    assert answers.count(0.0) == 10 and answers.count(None) == 20


def test_envoy_bucket_admits_60_in_10s_under_over_demand():
    """golden G2.3: admitted in [0, 10 s] under continuous over-demand = 10 + 5 · floor(10/1) = 60."""
    bucket = TokenBucket(capacity=10, rate=5, fill_interval=1.0)
    # over-demand: 10 requests every millisecond from 0 to 10 s inclusive
    admitted = sum(bucket.decide(i / 1000) is not None for i in range(10_001) for _ in range(10))
    assert admitted == 60


def test_continuous_bucket_refills_smoothly():
    """A continuous bucket of 10 at 5/s: empty at 0, one token back after exactly 0.2 s."""
    bucket = TokenBucket(capacity=10, rate=5)
    assert sum(bucket.decide(0.0) is not None for _ in range(12)) == 10
    assert bucket.decide(0.19) is None
    assert bucket.decide(0.2) == 0.0


# -- G2.4 Poisson into a continuous token bucket --------------------------------------------------------

def _poisson_loss(lam: float, seed: int, arrivals: int = 100_000) -> float:
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.exponential(1.0 / lam, arrivals))
    bucket = TokenBucket(capacity=10, rate=100)
    decide = bucket.decide
    lost = sum(decide(t) is None for t in times.tolist())
    return lost / arrivals


@pytest.mark.parametrize("lam,exact", [(90.0, 0.016632), (100.0, 3 / 59)])
def test_poisson_into_token_bucket_loss(golden_zscores, lam, exact):
    """golden G2.4: r=100/s, b=10: P_loss 0.016632 at λ=90 and 3/59 at λ=100 (10 replications, 3 SE)."""
    losses = [_poisson_loss(lam, seed) for seed in range(10)]
    assert_replications_within_3se(golden_zscores, losses, exact, f"G2.4 token bucket loss λ={lam:g}")


# -- G2.5 resilience4j fixed window -----------------------------------------------------------------------

def test_fixed_window_boundary_burst():
    """golden G2.5: limitForPeriod=10, 1 s cycles, no wait: 15 at 0.99 s → 10 OK, 15 at 1.00 s → 10 OK: 20 in 10 ms."""
    window = FixedWindow(limit_for_period=10, limit_refresh_period=1.0)
    first = [window.decide(0.99) for _ in range(15)]
    second = [window.decide(1.00) for _ in range(15)]
    assert first.count(0.0) == 10 and first.count(None) == 5
    assert second.count(0.0) == 10 and second.count(None) == 5


def test_fixed_window_waits_within_timeout_duration():
    """resilience4j: with timeoutDuration 0.5 s a call at 0.6 s after the permits are gone waits for the next cycle."""
    window = FixedWindow(limit_for_period=2, limit_refresh_period=1.0, timeout_duration=0.5)
    assert [window.decide(0.0), window.decide(0.0)] == [0.0, 0.0]
    assert window.decide(0.4) is None                     # 0.6 s to the next cycle: too long
    assert window.decide(0.6) == pytest.approx(0.4)       # reserves a permit of cycle 1
    assert window.decide(1.0) == 0.0                      # the one permit left in cycle 1
    assert window.decide(1.0) is None                     # cycle 2 starts 1 s later: beyond the timeout


def test_sliding_window_has_no_boundary_burst():
    """The same 10 per 1 s as a sliding-window counter: at 1.00 s the previous 10 still weigh ~10: nothing passes."""
    window = SlidingWindow(limit=10, window=1.0)
    assert sum(window.decide(0.99) is not None for _ in range(15)) == 10
    assert sum(window.decide(1.00) is not None for _ in range(15)) == 0
    assert sum(window.decide(1.50) is not None for _ in range(15)) == 5   # half the previous window left


def test_algorithm_names():
    assert set(ALGORITHMS) == {"token_bucket", "gcra", "nginx", "fixed_window", "sliding_window"}
    assert math.isclose(GCRA(4, 1).tolerance, 5.0)
