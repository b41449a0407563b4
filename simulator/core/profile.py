"""Arrival-rate profiles: the pure functions live with the scenario (:mod:`simulator.scenario.profile`),
which validation needs too (a scenario's expected request count); re-exported here for the engine."""

from ..scenario.profile import Piece, RateFn, integral, peak, pieces, rate_function

__all__ = ["Piece", "RateFn", "integral", "peak", "pieces", "rate_function"]
