"""What one consumer group counted: every message's fate, its lag and its messages' latency.

Counts (:data:`~.spec.GROUP_COUNTS`):

* ``delivered`` — consumer calls started (every delivery, first or not);
* ``redelivered`` — deliveries of a message the group had delivered before (a retry
  after a failed call, a replay after a rebalance, a release after a crash);
* ``processed`` — messages whose consumer call succeeded, counted once per message;
* ``duplicated`` — successful calls for a message already handled (processed, or
  dead-lettered) before: at-least-once replays after a crash; and a producer's duplicate
  copy that a group without a dedupe table processed (it is also ``processed``: a
  message of its own, whose effect was applied a second time);
* ``dead_lettered`` — messages moved to the dead-letter topic after ``max_deliveries``;
* ``lost`` and ``lost_<reason>`` — messages the group will never process (see
  :data:`~.spec.LOSS_REASONS`);
* ``rebalances`` — reassignments after the first (consumer groups only);
* ``deduplicated`` — messages an idempotent group (``idempotency``) acknowledged without
  applying them, the first time it handled them: a copy of a message whose id it had
  processed (a producer's retry without ``enable_idempotence``, :mod:`.dedupe`);
* ``replays_deduplicated`` — redeliveries of a message already handled that the dedupe
  table stopped (without it they would be ``duplicated``).

**Conservation.** For every group, at the end of the run::

    produced = processed + deduplicated + dead_lettered + lost + in_flight + backlog

where ``produced`` counts the topic's messages (acknowledged, or sent with ``acks: 0``;
a producer's duplicate copy is a message of its own),
``in_flight`` the messages a member is handling for the first time and ``backlog`` those
the group has not taken yet. Each message is in exactly one of these states
(tests/test_broker.py checks the identity on several scenarios).

Latency is produce → processed (first successful call), kept per message (8 bytes each)
so that its percentiles are exact in both record modes.

The ledger also tallies, as they happen, the events of :data:`TALLIED` (the component's
``counts`` over the measurement window, and the ratios its spec declares).
"""

from __future__ import annotations

from array import array

import numpy as np

from .spec import GROUP_COUNTS

QUANTILES = (0.5, 0.95, 0.99)
TALLIED = ("processed", "lost", "dead_lettered", "duplicated")
"""Group events also tallied with their time (``log.counter``), summed over groups."""


class Ledger:
    """The counts, lag and latencies of group ``code`` (its index in ``BrokerSpec.group_keys()``)."""

    __slots__ = ("code", "counts", "latencies", "lag", "lag_max", "lag_seconds_max", "add_row", "tallies", "clock",
                 "idempotent")

    def __init__(self, code: int, add_row, tallies: dict, clock):
        self.code = code
        self.tallies = tallies  # name in TALLIED -> count(now)
        self.clock = clock  # () -> the simulated time
        self.counts = dict.fromkeys(GROUP_COUNTS, 0)
        self.latencies = array("d")
        self.lag = 0  # messages visible to the group and not taken yet, now
        self.lag_max = 0
        self.lag_seconds_max = 0.0
        self.add_row = add_row  # the component's `messages` record table
        self.idempotent = False  # its group keeps a dedupe table (set by the group)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] += n
        tally = self.tallies.get(name)
        if tally is not None:
            now = self.clock()
            for _ in range(n):
                tally(now)

    def lose(self, reason: str, n: int = 1) -> None:
        self.count("lost", n)
        self.counts[f"lost_{reason}"] += n

    def grow(self, n: int) -> None:
        lag = self.lag = self.lag + n
        if lag > self.lag_max:
            self.lag_max = lag

    def waited(self, age: float) -> None:
        """The oldest message of a partition left the backlog *age* seconds after it was produced."""
        if age > self.lag_seconds_max:
            self.lag_seconds_max = age

    def processed(self, message, partition: int, taken: float, now: float, member: int, deliveries: int) -> None:
        """*message* of *partition* was processed for the first time: the delivery that succeeded
        started at *taken* on *member* (its code) and ended *now*, after *deliveries* deliveries."""
        self.counts["processed"] += 1
        self.tallies["processed"](now)
        if message.copy and not self.idempotent:  # its effect is applied a second time
            self.count("duplicated")
        self.latencies.append(now - message.t_produce)
        self.add_row(message.t_produce, taken, now, self.code, partition, message.offset, message.request.key, member,
                     deliveries, message.id)

    def latency(self) -> dict[str, float | None]:
        """Mean, p50, p95 and p99 of produce → processed (``None`` when nothing was processed)."""
        if not self.latencies:
            return {"mean": None, "p50": None, "p95": None, "p99": None}
        return latency_stats(np.frombuffer(self.latencies, dtype=float))


def latency_stats(values: np.ndarray) -> dict[str, float | None]:
    """Mean and the :data:`QUANTILES` of *values* (numpy's linear quantiles, as request latencies)."""
    if values.size == 0:
        return {"mean": None, "p50": None, "p95": None, "p99": None}
    p50, p95, p99 = np.quantile(values, QUANTILES)
    return {"mean": float(values.mean()), "p50": float(p50), "p95": float(p95), "p99": float(p99)}
