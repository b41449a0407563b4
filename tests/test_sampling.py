"""Samplers (simulator.core.sampling): blocks drawn from the stream, handed out last first.

The order is part of every run's definition (a seed's results depend on it), so it is
pinned here against numpy drawn by hand; so are the types handed out (``float``, or ``int``
for keys: numpy scalars would slow every sum and comparison of the engine)."""

from __future__ import annotations

import numpy as np

from simulator.core.sampling import BLOCK, buffered, key_sampler, sampler
from simulator.scenario import distributions as d


def test_blocks_are_handed_out_last_first_one_after_the_other():
    draw = buffered(lambda r, n: r.exponential(2.0, n), np.random.default_rng(7))
    got = [draw() for _ in range(2 * BLOCK + 10)]
    by_hand = np.random.default_rng(7)
    blocks = [by_hand.exponential(2.0, BLOCK)[::-1] for _ in range(3)]
    assert got == np.concatenate(blocks)[:len(got)].tolist()
    assert all(type(v) is float for v in got)


def test_integer_draws_come_out_as_ints_and_uneven_blocks_as_drawn():
    keys = key_sampler(d.UniformKeys(n=10), np.random.default_rng(3))
    got = [keys() for _ in range(BLOCK + 5)]
    by_hand = np.random.default_rng(3)
    expected = np.concatenate([by_hand.integers(0, 10, BLOCK)[::-1], by_hand.integers(0, 10, BLOCK)[::-1]])
    assert got == expected[:len(got)].tolist() and all(type(k) is int for k in got)
    sizes = iter([3, 1, 2])  # a draw may return fewer values than asked (a truncated normal drops negatives)
    uneven = buffered(lambda r, n: np.arange(next(sizes), dtype=float), None)
    assert [uneven() for _ in range(6)] == [2.0, 1.0, 0.0, 0.0, 1.0, 0.0]


def test_a_constant_is_handed_out_as_is():
    assert sampler(d.Const(value=0.25), np.random.default_rng(1))() == 0.25
