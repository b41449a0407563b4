"""Fast samplers for the distributions of :mod:`simulator.scenario.distributions`.

A sampler is a zero-argument callable returning one float (seconds). Draws are made in
blocks with numpy and handed out one by one, which costs far less per draw than calling
numpy for each value. Blocks are part of the stream's definition, so results stay
reproducible.
"""

from __future__ import annotations

from array import array
from itertools import chain, repeat
from typing import Callable, Iterator

import numpy as np

from ..scenario import distributions as d

BLOCK = 2048
Sampler = Callable[[], float]


def buffered(draw: Callable[[np.random.Generator, int], np.ndarray], rng: np.random.Generator) -> Sampler:
    """A sampler handing out the values ``draw(rng, BLOCK)`` returns, last first, block after block.

    A block is drawn when the previous one is spent (the first on the first call). The
    sampler is an iterator's ``__next__``: one C call per value, no Python frame. A block
    waits in an ``array`` (8 bytes a value; integers come out as ``int``, the rest as
    ``float``), not a list: the cyclic garbage collector walks every reference of a list at
    each older-generation collection, and with a network's hundreds of live blocks that walk
    made the cost of a visit grow with the number of components."""

    def block(_) -> Iterator[float]:
        values = draw(rng, BLOCK)[::-1]
        if values.dtype.kind in "iu":
            return iter(array("q", values.astype(np.int64).tobytes()))
        return iter(array("d", values.astype(np.float64).tobytes()))

    return chain.from_iterable(map(block, repeat(None))).__next__


def _truncated_normal(mean: float, sd: float):
    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        out = rng.normal(mean, sd, n)
        out = out[out >= 0]
        while out.size == 0:  # pathological: almost all mass below zero
            out = rng.normal(mean, sd, n)
            out = out[out >= 0]
        return out

    return draw


def _hyperexp(p: float, m1: float, m2: float):
    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        first = rng.random(n) < p
        return np.where(first, rng.exponential(m1, n), rng.exponential(m2, n))

    return draw


def sampler(spec: d._Dist, rng: np.random.Generator) -> Sampler:
    """A sampler of *spec* drawing from *rng*."""
    if isinstance(spec, d.Const):
        value = spec.value
        return lambda: value
    if isinstance(spec, d.Exp):
        mean = spec.mean()
        return buffered(lambda r, n: r.exponential(mean, n), rng)
    if isinstance(spec, d.Uniform):
        return buffered(lambda r, n: r.uniform(spec.low, spec.high, n), rng)
    if isinstance(spec, d.Normal):
        return buffered(_truncated_normal(spec.mean_, spec.sd), rng)
    if isinstance(spec, d.LogNormal):
        mu, sigma = spec.log_params()
        return buffered(lambda r, n: r.lognormal(mu, sigma, n), rng)
    if isinstance(spec, d.Erlang):
        k, scale = spec.k, spec.mean_ / spec.k
        return buffered(lambda r, n: r.gamma(k, scale, n), rng)
    if isinstance(spec, d.Gamma):
        shape, theta = spec.shape, spec.theta()
        return buffered(lambda r, n: r.gamma(shape, theta, n), rng)
    if isinstance(spec, d.Pareto):
        alpha, xm = spec.alpha, spec.xm
        return buffered(lambda r, n: xm * (1.0 + r.pareto(alpha, n)), rng)
    if isinstance(spec, d.HyperExp):
        return buffered(_hyperexp(spec.p, spec.mean1, spec.mean2), rng)
    if isinstance(spec, d.Empirical):
        values = np.asarray(spec.values, dtype=float)
        return buffered(lambda r, n: r.choice(values, n), rng)
    raise TypeError(f"no sampler for {type(spec).__name__}")


def key_sampler(spec: d.UniformKeys | d.ZipfKeys, rng: np.random.Generator) -> Callable[[], int]:
    """A sampler of integer keys ``0..n-1`` following *spec*."""
    if isinstance(spec, d.UniformKeys):
        n = spec.n
        return buffered(lambda r, size: r.integers(0, n, size), rng)
    weights = 1.0 / np.arange(1, spec.n + 1, dtype=float) ** spec.s
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return buffered(lambda r, size: np.minimum(np.searchsorted(cdf, r.random(size), side="right"), spec.n - 1), rng)


def is_zero(spec: d._Dist) -> bool:
    """True when *spec* always yields 0 (lets the engine skip a timeout entirely)."""
    return isinstance(spec, d.Const) and spec.value == 0.0
