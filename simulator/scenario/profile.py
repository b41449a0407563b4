"""Arrival-rate profiles: steps, linear ramps and spikes over a base rate.

Points apply in order, each reshaping the rate from its ``at`` on:

* ``{at, rate}`` — a step: the rate becomes ``rate``;
* ``{at, rate, ramp}`` — a linear ramp from the rate in force at ``at`` to ``rate`` over ``ramp``;
* ``{at, rate, for}`` — a spike: ``rate`` during ``[at, at+for)``, then back to what it was.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from .model import ProfilePoint

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


class Piece(NamedTuple):
    """``[start, end)``: the profile is constant (``constant``) or linear there, at most ``top``."""

    start: float
    end: float
    top: float
    constant: bool


def pieces(base: float, points: list[ProfilePoint], horizon: float) -> list[Piece]:
    """The profile over ``[0, horizon)`` cut where any point starts or ends.

    Between two cuts every layer is constant or linear, so the rate is too: its highest
    value is at one end, ``max(f(a), 2 f(mid) - f(a))`` (exact for a line).
    """
    fn = rate_function(base, points)
    cuts = {0.0, horizon}
    for p in points:
        cuts.add(p.at)
        if p.ramp is not None:
            cuts.add(p.at + p.ramp)
        if p.for_ is not None:
            cuts.add(p.at + p.for_)
    ordered = sorted(c for c in cuts if 0.0 <= c <= horizon)
    out = []
    for a, b in zip(ordered, ordered[1:]):
        first, middle = fn(a), fn((a + b) / 2)
        constant = first == middle
        top = first if constant else max(first, 2 * middle - first) * (1 + 1e-9)  # rounding: never under
        out.append(Piece(a, b, max(top, 0.0), constant))
    return out


def integral(base: float, points: list[ProfilePoint], horizon: float) -> float:
    """∫₀^horizon rate(t) dt: exact, the rate being constant or linear on each of :func:`pieces`."""
    rate = rate_function(base, points)
    return sum(rate((p.start + p.end) / 2) * (p.end - p.start) for p in pieces(base, points, horizon))


def peak(base: float, points: list[ProfilePoint]) -> float:
    """The highest rate the profile reaches (ramps are linear, so their ends bound them)."""
    return max([base] + [p.rate for p in points])
