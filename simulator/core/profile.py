"""Arrival-rate profiles: steps, linear ramps and spikes over a base rate.

Points apply in order, each reshaping the rate from its ``at`` on:

* ``{at, rate}`` — a step: the rate becomes ``rate``;
* ``{at, rate, ramp}`` — a linear ramp from the rate in force at ``at`` to ``rate`` over ``ramp``;
* ``{at, rate, for}`` — a spike: ``rate`` during ``[at, at+for)``, then back to what it was.
"""

from __future__ import annotations

from typing import Callable

from ..scenario.model import ProfilePoint

RateFn = Callable[[float], float]


def rate_function(base: float, points: list[ProfilePoint]) -> RateFn:
    fn: RateFn = lambda t: base
    for point in points:
        fn = _apply(fn, point)
    return fn


def _apply(prev: RateFn, p: ProfilePoint) -> RateFn:
    at, rate = p.at, p.rate
    if p.ramp is not None:
        start, length = prev(at), p.ramp
        return lambda t: prev(t) if t < at else (rate if t >= at + length else start + (rate - start) * (t - at) / length)
    if p.for_ is not None:
        end = at + p.for_
        return lambda t: rate if at <= t < end else prev(t)
    return lambda t: rate if t >= at else prev(t)


def peak(base: float, points: list[ProfilePoint]) -> float:
    """The highest rate the profile reaches (ramps are linear, so their ends bound them)."""
    return max([base] + [p.rate for p in points])
