"""Closed forms of the event-driven week: brokers, projections, event sourcing and sagas.

Pure functions (stdlib ``math`` only), SI units. Each one names the golden result it is
(``simulator/docs/golden.md``, golden §8, golden §11 and golden §12).

* **Consumer lag** — a partition produced at rate ``lambda`` and consumed at ``mu``:
  a backlog ``L`` drains in ``L / (mu - lambda)`` (golden G8.4), a consumer that dies silently
  leaves ``lambda * session_timeout`` messages behind before the group reassigns its
  partitions (golden G8.3), and a crash at a uniformly random moment with auto-commit every
  ``I`` seconds replays ``r * I / 2`` messages on average, ``r * I`` at worst (golden G8.2).
* **Replicated writes** — ``acks=all`` with ``min.insync.replicas = m`` of ``n`` replicas
  each up with probability ``p`` accepts writes with ``P(at least m up)`` (golden G8.5).
* **Projection lag** — one projector as an M/M/1: the lag from commit to read model is
  ``Exp(mu - lambda)``; a read ``d`` after its write is stale with ``exp(-(mu - lambda) d)``;
  an outbox poller with interval ``P`` adds ``Uniform[0, P]`` (golden G11.1); a read-your-writes
  token makes such a read wait ``Exp(mu - lambda)`` more when its write is missing (derived from it).
* **Event sourcing** — rebuilding an aggregate replays the events since its last snapshot:
  ``(events mod snapshot_every) * replay_cost`` plus the snapshot load.
* **Sagas** — ``n`` steps succeeding independently with ``p``: completion, failure at step
  ``j``, expected compensations (golden G12.1); messages per outcome for orchestration and
  choreography (golden G12.2); latency of a happy path and of a failure at ``j`` (golden G12.3).
"""

from __future__ import annotations

import math
from typing import Sequence

from .reliability import availability_k_of_n

__all__ = [
    "catch_up_time", "lag_before_reassignment", "auto_commit_duplicates", "acks_all_write_availability",
    "projection_lag_mean", "projection_lag_quantile", "stale_read_probability", "token_wait", "replay_time",
    "saga_outcomes", "saga_expected_compensations", "saga_messages", "saga_latency",
]


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, not {value}")


def catch_up_time(lag: float, consume_rate: float, produce_rate: float) -> float:
    """Seconds for a backlog of *lag* messages to drain while production goes on (golden G8.4)."""
    if lag < 0:
        raise ValueError(f"lag must be non-negative, not {lag}")
    if not consume_rate > produce_rate >= 0:
        raise ValueError("the backlog drains only when consume_rate > produce_rate >= 0")
    return lag / (consume_rate - produce_rate)


def lag_before_reassignment(produce_rate: float, session_timeout: float, rebalance_time: float = 0.0) -> float:
    """Messages that pile up on a silently crashed consumer's partition before the group
    reassigns it: ``rate * (session_timeout + rebalance_time)`` (golden G8.3)."""
    if produce_rate < 0 or session_timeout < 0 or rebalance_time < 0:
        raise ValueError("rates and times must be non-negative")
    return produce_rate * (session_timeout + rebalance_time)


def auto_commit_duplicates(rate: float, commit_interval: float) -> tuple[float, float]:
    """``(mean, worst)`` messages processed twice after a crash at a uniformly random moment,
    with at-least-once auto-commit every *commit_interval* seconds (golden G8.2)."""
    if rate < 0 or commit_interval < 0:
        raise ValueError("rate and commit_interval must be non-negative")
    return rate * commit_interval / 2, rate * commit_interval


def acks_all_write_availability(replicas: int, min_insync: int, up: float) -> float:
    """Probability that a write with ``acks=all`` is accepted: at least *min_insync* of
    *replicas* brokers up, each independently with probability *up* (golden G8.5)."""
    return availability_k_of_n(min_insync, replicas, up)


def projection_lag_mean(event_rate: float, projector_rate: float, poll_interval: float = 0.0) -> float:
    """Mean seconds from commit to read model: ``1/(mu - lambda)`` plus half the outbox poll interval (golden G11.1)."""
    if not projector_rate > event_rate >= 0:
        raise ValueError("the projector keeps up only when projector_rate > event_rate >= 0")
    if poll_interval < 0:
        raise ValueError(f"poll_interval must be non-negative, not {poll_interval}")
    return 1 / (projector_rate - event_rate) + poll_interval / 2


def projection_lag_quantile(q: float, event_rate: float, projector_rate: float) -> float:
    """The *q* quantile of the projection lag of one M/M/1 projector, no outbox (golden G11.1)."""
    if not 0 < q < 1:
        raise ValueError(f"q must be in (0, 1), not {q}")
    if not projector_rate > event_rate >= 0:
        raise ValueError("the projector keeps up only when projector_rate > event_rate >= 0")
    return -math.log(1 - q) / (projector_rate - event_rate)


def stale_read_probability(delay: float, event_rate: float, projector_rate: float) -> float:
    """Probability that a read *delay* seconds after its own write misses it: the lag
    ``Exp(mu - lambda)`` exceeds *delay* (golden G11.1)."""
    if delay < 0:
        raise ValueError(f"delay must be non-negative, not {delay}")
    if not projector_rate > event_rate >= 0:
        raise ValueError("the projector keeps up only when projector_rate > event_rate >= 0")
    return math.exp(-(projector_rate - event_rate) * delay)


def token_wait(delay: float, event_rate: float, projector_rate: float) -> tuple[float, float, float]:
    """What a consistency token (read-your-writes) costs a read *delay* seconds after its own write,
    with the lag ``Exp(mu - lambda)`` of golden G11.1: ``(share that waits, mean wait of those that
    wait, mean wait over all reads)``. The lag is memoryless, so a read that finds its write missing
    waits ``Exp(mu - lambda)`` more: ``exp(-(mu - lambda) d)``, ``1/(mu - lambda)`` and their product
    (derived from golden G11.1)."""
    waits = stale_read_probability(delay, event_rate, projector_rate)
    mean = 1 / (projector_rate - event_rate)
    return waits, mean, waits * mean


def replay_time(events: int, replay_cost: float, snapshot_every: int | None = None,
                snapshot_load: float = 0.0) -> float:
    """Seconds to rebuild an aggregate of *events* events: replay those since the last
    snapshot (all of them without snapshots) at *replay_cost* each, plus loading the snapshot."""
    if events < 0 or replay_cost < 0 or snapshot_load < 0:
        raise ValueError("events, replay_cost and snapshot_load must be non-negative")
    if snapshot_every is None:
        return events * replay_cost
    if snapshot_every < 1:
        raise ValueError(f"snapshot_every must be at least 1, not {snapshot_every}")
    since = events % snapshot_every
    return since * replay_cost + (snapshot_load if events >= snapshot_every else 0.0)


def saga_outcomes(steps: int, success: float) -> tuple[float, list[float]]:
    """``(P(complete), [P(fail at step j) for j = 1..steps])`` for *steps* steps each succeeding
    independently with probability *success*, no retries (golden G12.1)."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, not {steps}")
    if not 0 <= success <= 1:
        raise ValueError(f"success must be a probability, not {success}")
    fail_at = [success ** (j - 1) * (1 - success) for j in range(1, steps + 1)]
    return success ** steps, fail_at


def saga_expected_compensations(steps: int, success: float) -> float:
    """Expected compensations run: ``sum_j P(fail at j) * (j - 1)`` (golden G12.1)."""
    _, fail_at = saga_outcomes(steps, success)
    return sum(p * (j - 1) for j, p in enumerate(fail_at, start=1))


def saga_messages(steps: int, style: str, failed_at: int | None = None) -> int:
    """Messages of one saga (golden G12.2): orchestration sends a command and gets a reply per step
    (``2n``; a failure at step *j* sends ``2j`` and adds ``2(j-1)`` for the compensations);
    choreography emits one event per step (``n``; a failure at *j*: ``j`` plus ``j - 1``
    compensation events)."""
    if style not in ("orchestration", "choreography"):
        raise ValueError(f"style must be orchestration or choreography, not {style!r}")
    per = 2 if style == "orchestration" else 1
    if failed_at is None:
        return per * steps
    if not 1 <= failed_at <= steps:
        raise ValueError(f"failed_at must be a step from 1 to {steps}, not {failed_at}")
    return per * failed_at + per * (failed_at - 1)


def saga_latency(step_times: Sequence[float], compensation_times: Sequence[float] = (),
                 failed_at: int | None = None) -> float:
    """A saga's latency (golden G12.3): ``sum(T)`` on the happy path; failing at step *j* (1-based),
    ``sum(T[:j]) + sum(C[:j-1])`` (compensations run one after the other)."""
    if failed_at is None:
        return float(sum(step_times))
    if not 1 <= failed_at <= len(step_times):
        raise ValueError(f"failed_at must be a step from 1 to {len(step_times)}, not {failed_at}")
    if len(compensation_times) < failed_at - 1:
        raise ValueError(f"a failure at step {failed_at} needs {failed_at - 1} compensation times")
    return float(sum(step_times[:failed_at]) + sum(compensation_times[:failed_at - 1]))
