"""The one question every rate limiter answers."""

from __future__ import annotations

EPSILON = 1e-9
"""Slack for comparisons of float times (a refill due at exactly ``now`` counts as done)."""


class Limiter:
    """One key's limiter: :meth:`decide` says whether a request at ``now`` passes.

    ``now`` never decreases between calls. The answer is ``0.0`` (pass now), a delay in
    seconds (pass after waiting that long; the permit is already taken) or ``None``
    (limited: the request is refused and takes nothing).
    """

    def decide(self, now: float) -> float | None:
        raise NotImplementedError
