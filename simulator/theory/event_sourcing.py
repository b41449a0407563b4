"""Closed forms of event sourcing: recovery by replay, snapshots, optimistic concurrency.

Pure functions (stdlib ``math`` only), SI units. The model is the one ``kind: event_store``
and a service's ``event_sourced:`` simulate (``simulator/components/event_store/``):

* **Recovery** — a replica of an event-sourced service rebuilds its state from every
  stream (aggregate) of its store: for a stream of ``v`` events with a snapshot every
  ``N`` events it loads the last snapshot (at ``N * floor(v / N)``, none while ``v < N``)
  and replays the ``v mod N`` events after it. Recovery time is
  ``sum over streams of (v mod N) * replay_cost + snapshot_load * [v >= N]``; without
  snapshots, ``v * replay_cost`` (:func:`recovery_time`). It is deterministic given the log.
* **Expected recovery** — a crash at a moment uniformly distributed over a snapshot cycle
  (the stream's length modulo ``N`` uniform on ``0 .. N-1``, which holds for a random crash
  moment in a long run) finds ``(N - 1) / 2`` events since the snapshot, per stream that has
  a snapshot (:func:`expected_recovery_time`).
* **Optimistic concurrency** — an append expects the version its writer read and lands
  only if no other append landed in between; ``w`` is the window from the read to the
  landing (a constant here). With Poisson appends at rate ``lambda`` to one stream and no
  retries, the appends that land are those that find no landed append in their window: a
  non-paralysable dead time ``w`` after each landed append, so a fraction
  ``lambda w / (1 + lambda w)`` of the attempts conflict (:func:`conflict_probability`).
  Without the version check the later writer would silently overwrite: the share of such
  lost updates is ``1 - exp(-lambda w)`` (another attempt inside the window,
  :func:`lost_update_probability`). Keys drawn with probabilities ``p_k`` thin the stream
  into independent Poisson streams of rate ``lambda p_k`` (:func:`conflict_ratio`).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from .messaging import replay_time

__all__ = ["recovery_time", "replayed_events", "expected_recovery_time", "conflict_probability",
           "lost_update_probability", "conflict_ratio"]


def _check_every(snapshot_every: int | None) -> None:
    if snapshot_every is not None and snapshot_every < 1:
        raise ValueError(f"snapshot_every must be at least 1, not {snapshot_every}")


def replayed_events(lengths: Iterable[int], snapshot_every: int | None = None) -> tuple[int, int]:
    """``(events replayed, snapshots loaded)`` to rebuild streams of these *lengths*."""
    _check_every(snapshot_every)
    events = snapshots = 0
    for v in lengths:
        if v < 0:
            raise ValueError(f"a stream's length is non-negative, not {v}")
        if snapshot_every is None:
            events += v
        else:
            events += v % snapshot_every
            snapshots += v >= snapshot_every
    return events, snapshots


def recovery_time(lengths: Iterable[int], replay_cost: float, snapshot_every: int | None = None,
                  snapshot_load: float = 0.0) -> float:
    """Seconds one replica needs to rebuild streams of these *lengths*: per stream the events
    since its last snapshot at *replay_cost* each, plus *snapshot_load* for each snapshot loaded."""
    return sum(replay_time(v, replay_cost, snapshot_every, snapshot_load) for v in lengths)


def expected_recovery_time(streams: int, snapshot_every: int, replay_cost: float, snapshot_load: float = 0.0) -> float:
    """Mean recovery time over crash moments uniform in the snapshot cycle: each of *streams*
    streams (all past their first snapshot) loads a snapshot and replays ``(N - 1) / 2`` events."""
    _check_every(snapshot_every)
    if streams < 0 or replay_cost < 0 or snapshot_load < 0:
        raise ValueError("streams, replay_cost and snapshot_load must be non-negative")
    return streams * ((snapshot_every - 1) / 2 * replay_cost + snapshot_load)


def conflict_probability(rate: float, window: float) -> float:
    """Share of append attempts to one stream that conflict: Poisson attempts at *rate*, a constant
    *window* from reading the version to landing, a conflict fails the append (no retry):
    ``lambda w / (1 + lambda w)`` (non-paralysable dead time after each landed append)."""
    if rate < 0 or window < 0:
        raise ValueError("rate and window must be non-negative")
    x = rate * window
    return x / (1 + x)


def lost_update_probability(rate: float, window: float) -> float:
    """Without the expected-version check: the share of writes another write lands over unseen,
    the chance of another attempt inside the window, ``1 - exp(-lambda w)``."""
    if rate < 0 or window < 0:
        raise ValueError("rate and window must be non-negative")
    return -math.expm1(-rate * window)


def conflict_ratio(rate: float, window: float, weights: Sequence[float]) -> float:
    """Share of all append attempts that conflict when each picks stream ``k`` with probability
    ``weights[k]`` (normalised): ``sum_k p_k * conflict_probability(rate * p_k, window)``."""
    total = float(sum(weights))
    if total <= 0 or any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative with a positive sum")
    return sum(w / total * conflict_probability(rate * w / total, window) for w in weights)
