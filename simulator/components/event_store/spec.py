"""The spec of ``kind: event_store``: append-only streams per aggregate, snapshots, and what an
event-sourced service rebuilds from them (pure data)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from ...metrics.descriptors import Counter, Fact, Metric, Ratio
from ...scenario.distributions import Distribution
from ...scenario.kinds import ComponentBase, Problems
from ...scenario.model import ZERO
from ...scenario.types import Duration, Name, PositiveDuration, Strict


def _whole(value: Any) -> Any:
    """``1e6`` (a float, or the string YAML makes of it) as the integer it names."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _count_schema(minimum: int) -> WithJsonSchema:
    return WithJsonSchema({"anyOf": [{"type": "integer", "minimum": minimum},
                                     {"type": "string", "pattern": r"^\s*[0-9.]+([eE]\+?[0-9]+)?\s*$"}],
                           "description": f"a whole number >= {minimum}, such as 1000000 or 1e6"})


Count = Annotated[int, BeforeValidator(_whole), Field(ge=0), _count_schema(0)]
"""A non-negative whole number, written ``1000000`` or ``1e6``."""


class EventStoreSpec(ComponentBase):
    """An event store (EventStoreDB, Axon Server, Marten): one append-only stream per aggregate.

    A stream is an aggregate, named by the request's key (the workload's ``keys:``; without
    keys every request names stream 0). Its version is the number of events in it.

    * ``append`` writes one event. Optimistic concurrency: the writer read the stream's
      version when its append reached the store (it loaded the aggregate) and expects it
      still; the event lands after ``append_work`` (and any wait for a worker) only if no other
      append to the stream landed in between. Otherwise it is a **conflict**, counted;
      ``on_conflict: fail`` answers an error, ``retry`` reads the version again and redoes
      the append (another visit: wait and work) up to ``max_retries`` times (default 3), then fails.
    * ``read`` loads a stream: ``read_work``.
    * ``snapshot_every: N`` takes a snapshot of a stream each time its version reaches a
      multiple of N (asynchronously, at no cost here). A replica rebuilding the stream loads
      the last snapshot and replays the ``version mod N`` events after it.
    * ``initial_events`` events spread over ``initial_streams`` streams (keys 0, 1, …; the first
      ``initial_events mod initial_streams`` one event longer) are in the store at the start,
      so a long log need not be simulated append by append.

    The log is durable: a crash of the store fails the appends in flight and keeps every
    landed event. It is ``replicas`` × ``workers`` with a queue like any service.
    """

    kind: Literal["event_store"] = "event_store"
    metrics: ClassVar[tuple[Metric, ...]] = (
        *(Counter(n) for n in ("appends", "conflicts", "append_retries", "appends_failed", "snapshots", "reads")),
        Ratio("conflict_ratio", "conflicts", ("appends", "conflicts")),
        *(Fact(n, record=True) for n in ("streams", "events_stored", "events_since_snapshot")),
        Fact("snapshot_every"), Fact("on_conflict", in_words=True),
    )
    """Counters: events landed, conflicts (attempts whose expected version had moved), retries, appends
    failed by conflicts, snapshots taken, reads; ``conflict_ratio`` = conflicts / attempts that reached
    the check. Facts at the end of the run: streams, events stored, events after the last snapshot
    summed over streams (what a replica restarting then would replay)."""
    store = True  # drawn at the bottom of its tier
    replicas: Annotated[int, Field(ge=1)] = 1
    workers: Annotated[int, Field(ge=1)] = 1
    queue: Annotated[int, Field(ge=0)] | None = None
    append_work: Distribution = ZERO
    read_work: Distribution = ZERO
    snapshot_every: Annotated[int, Field(ge=1)] | None = None
    on_conflict: Literal["fail", "retry"] = "fail"
    max_retries: Annotated[int, Field(ge=0)] | None = None
    initial_events: Count = 0
    initial_streams: Annotated[int, BeforeValidator(_whole), Field(ge=1), _count_schema(1)] = 1

    @model_validator(mode="after")
    def _knobs(self):
        if self.max_retries is not None and self.on_conflict != "retry":
            raise ValueError("max_retries applies only with on_conflict: retry")
        return self

    @property
    def queue_limit(self) -> int | None:
        return self.queue

    @property
    def retries(self) -> int:
        """Appends again after a conflict: ``max_retries`` (default 3) with ``retry``, none with ``fail``."""
        if self.on_conflict != "retry":
            return 0
        return 3 if self.max_retries is None else self.max_retries

    def operation_names(self, components) -> list[str]:
        return ["append", "read"]

    def initial_lengths(self) -> list[int]:
        """The length of each initial stream, by key."""
        per, extra = divmod(self.initial_events, self.initial_streams)
        return [per + (k < extra) for k in range(self.initial_streams)] if self.initial_events else []

    def describe(self) -> str:
        snapshots = f"snapshot every {self.snapshot_every}" if self.snapshot_every else "no snapshots"
        return f"{snapshots} · on conflict {self.on_conflict}"


class EventSourced(Strict):
    """A service whose state is its event store's streams (``event_sourced:`` on a service).

    Each replica rebuilds its state from every stream of ``store`` when it starts (with
    ``replay_on_start``) and when it restarts after a crash, and serves nothing meanwhile:
    it stays down for ``replay_cost`` × the events after each stream's last snapshot, plus
    ``snapshot_load`` per snapshot loaded (:func:`simulator.theory.recovery_time`), the log
    as it is when the replay starts.
    """

    store: Name
    replay_cost: PositiveDuration
    snapshot_load: Duration = 0.0
    replay_on_start: bool = False

    def check(self, path: tuple, components) -> Problems:
        """``store`` names an event store."""
        target = components.get(self.store)
        if target is None:
            return [((*path, "store"), f"event store {self.store!r} does not exist "
                                       f"(expected one of: {', '.join(components)})")]
        if target.kind != "event_store":
            stores = [n for n, c in components.items() if c.kind == "event_store"]
            return [((*path, "store"), f"{self.store!r} is a {target.kind}, not an event_store: a service replays "
                                       f"the streams of an event store (expected one of: "
                                       f"{', '.join(stores) or 'none in this scenario'})")]
        return []


def event_sourced(spec: Any, scenario: Any) -> bool:
    """Whether a component spec is an event-sourced service (its replay metrics apply)."""
    return getattr(spec, "event_sourced", None) is not None


REPLAY_METRICS: tuple[Metric, ...] = (
    Counter("replays", when=event_sourced),
    *(Fact(n, record=True, when=event_sourced)
      for n in ("replay_time_mean", "replay_time_max", "events_replayed", "snapshots_loaded")),
)
"""What an event-sourced service reports: replays started (a start and each restart of a replica), the
seconds each needed (mean, max) and the events and snapshots they read in all."""

SPEC = EventStoreSpec
