"""A service's transactional outbox: messages written with the service's own state, relayed to a broker later.

**Writing.** A ``publish: bus.trades`` step with ``via: outbox`` does not produce: it
writes the message as a row of the service's outbox table, in the same transaction as the
operation's own writes, and goes on at once (no network, no broker wait). The row takes
its message id from the broker when it is written (the event's id): every produce of the
row carries that id, so an idempotent consumer recognises copies
(:mod:`simulator.components.broker.dedupe`).

**Relaying.** One relay (a polling publisher, as Richardson's pattern or Debezium's
connector) wakes every ``poll_interval``, at 0, P, 2P, … (a poll that overruns is followed
by the next at once), takes at most ``batch_size`` rows oldest first and produces them one
after the other through the network, each waiting for the broker's acknowledgement
(``acks``). A produce that fails (no leader, not enough in-sync replicas, a full topic)
ends the poll: that row and the rows after it stay for the next poll. So rows reach the
broker in the order they were written, and none is lost: a broker outage delays them (the
outbox grows), then the relay drains it. A row written at a uniformly random moment waits
Uniform[0, P] for the next poll, mean P/2 (golden G11.1), then its produce.

**Crashes.** The outbox is in the service's database, not in a replica: a replica crash
loses none of it. One relay serves the whole service (a single poller keeps the table's
order; pollers on several replicas would let rows of different replicas overtake one
another): it runs on any live replica and skips its polls while every replica is down
(the rows wait). A produce in flight when a replica crashes completes.

**What it reports** (the service's facts, :data:`~.spec.OUTBOX_FACTS`): rows written and
relayed, rows pending at the end and at most, failed produces, the delay written →
acknowledged by the broker (mean, p50, p99: exact, 8 bytes per row), and the record table
``outbox``: one row per relayed message (:data:`FIELDS`).
"""

from __future__ import annotations

from array import array
from collections import deque
from typing import Any, Callable, Generator

import numpy as np

from ...core.request import OK, Request

FIELDS = ("written", "relayed", "id", "attempts")
"""Columns of the ``outbox`` table: when the row was written, when the broker acknowledged it, its message
id and the produces it took (1 unless a poll failed on it)."""


class OutboxMessage(Request):
    """What an outbox row sends to the broker: the request that wrote it, with the row's ``message_id``."""

    __slots__ = ("message_id",)

    def __init__(self, request: Request, message_id: int):
        super().__init__(request.id, request.t_issue, request.workload, request.operation, request.key)
        self.message_id = message_id


class Row:
    """One outbox row: the message, when it was written, how to produce it and how often that was tried."""

    __slots__ = ("message", "written", "produce", "attempts")

    def __init__(self, message: OutboxMessage, written: float, produce: Callable):
        self.message = message
        self.written = written
        self.produce = produce
        self.attempts = 0


class Outbox:
    """The outbox of a service (*spec*: its ``outbox`` setting) whose replicas are *replicas*; *log* its span log."""

    def __init__(self, env, spec, replicas, log):
        self.env = env
        self.spec = spec
        self.replicas = replicas
        self.log = log
        self.rows: deque[Row] = deque()
        self.written = self.relayed = self.failures = self.pending_max = 0
        self.delays = array("d")
        self.add_row = log.table("outbox", FIELDS, summary="count")
        env.process(self.relay())

    def write(self, request: Request, message_id: int, produce: Callable[[Any], Generator[Any, Any, int]]) -> None:
        """Write a row (inside the operation's transaction): *produce* sends its message to the broker."""
        self.rows.append(Row(OutboxMessage(request, message_id), self.env.now, produce))
        self.written += 1
        if len(self.rows) > self.pending_max:
            self.pending_max = len(self.rows)

    def relay(self) -> Generator[Any, Any, None]:
        """The polling publisher (module docstring)."""
        env, interval = self.env, self.spec.poll_interval
        due = 0.0
        while True:
            if due > env.now:
                yield env.timeout(due - env.now)
            due += interval
            if self.rows and any(r.up for r in self.replicas.replicas):
                yield from self._poll()
            if due <= env.now:  # the poll overran: the next one starts now, on the grid
                due += interval * ((env.now - due) // interval)

    def _poll(self) -> Generator[Any, Any, None]:
        rows, env = self.rows, self.env
        for _ in range(min(self.spec.batch_size, len(rows))):
            row = rows[0]
            row.attempts += 1
            status = yield from row.produce(row.message)
            if status != OK:
                self.failures += 1
                return
            rows.popleft()
            self.relayed += 1
            self.delays.append(env.now - row.written)
            self.add_row(row.written, env.now, row.message.message_id, row.attempts)

    def finish(self) -> None:
        delays = np.frombuffer(self.delays, dtype=float) if self.delays else np.zeros(0)
        mean = float(delays.mean()) if delays.size else None
        p50, p99 = (float(q) for q in np.quantile(delays, (0.5, 0.99))) if delays.size else (None, None)
        self.log.facts.update(outbox_written=self.written, outbox_relayed=self.relayed, outbox_pending=len(self.rows),
                              outbox_pending_max=self.pending_max, outbox_relay_failures=self.failures,
                              outbox_delay_mean=mean, outbox_delay_p50=p50, outbox_delay_p99=p99)
