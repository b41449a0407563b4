"""Recovery by replay: an event-sourced service's replica is down while it rebuilds its state.

A service with ``event_sourced: {store, replay_cost, snapshot_load, replay_on_start}``
holds a :class:`Replayer`. It watches each replica
(:meth:`~simulator.components.replica.Replica.watch`, registered when the service is built,
so before any other watcher such as a broker group's members):

* a crash fault's restart (``up`` again) starts a replay instead: the replica is put down
  again at once, and comes up — :meth:`Replica.restart`, so the other watchers then see it
  come back — after ``replay_cost`` × the events after each stream's last snapshot, plus
  ``snapshot_load`` per snapshot, counted on the store's log as it is when the replay starts;
* a crash during a replay abandons it (the next restart replays again);
* with ``replay_on_start``, every replica replays at time 0 and first comes up after that
  (it is not announced to the watchers: nothing had seen it go down).

Each replay is a row of the service's record table ``replays`` (``start``, ``replica``, ``events``,
``snapshots``, ``duration``: kept in both records modes), read with
``result.components[name].table("replays")``. Replicas an autoscaler adds later do not
replay (their provisioning delay stands for it).
"""

from __future__ import annotations

from typing import Any

REPLAY_FIELDS = ("start", "replica", "events", "snapshots", "duration")
"""One row per replay: when it started, the replica, the events and snapshots it read, its seconds."""


class Replayer:
    """Keeps the replicas of *station* (a service's) down while they replay *spec*'s store."""

    def __init__(self, station, spec, world: Any):
        self.env = world.env
        self.world = world
        self.spec = spec
        self.replicas = station.replicas.replicas
        log = station.log
        self.count = log.counter("replays")
        self.facts = log.facts
        self.add_row = log.table("replays", REPLAY_FIELDS, summary="keep")
        self.times: list[float] = []
        self.events = self.snapshots = 0
        self.epoch: dict[int, int] = {}  # replica index -> number of its current replay
        self.ready: set[int] = set()  # replicas whose next restart is the end of their replay
        for replica in self.replicas:
            replica.watch(self._changed)

    def wire(self) -> None:
        self.store = self.world.components[self.spec.store]
        if self.spec.replay_on_start:
            for replica in self.replicas:
                self._replay(replica, announce=False)

    def _changed(self, replica) -> None:
        index = replica.index
        if not replica.up:
            self.epoch[index] = self.epoch.get(index, 0) + 1  # a replay in progress is abandoned
            return
        if index in self.ready:  # our own restart: the replay is over
            self.ready.discard(index)
            return
        self._replay(replica, announce=True)

    def _replay(self, replica, announce: bool) -> None:
        spec, env = self.spec, self.env
        events, snapshots = self.store.replay_work()
        duration = events * spec.replay_cost + snapshots * spec.snapshot_load
        self.count(env.now)
        self.times.append(duration)
        self.events += events
        self.snapshots += snapshots
        self.add_row(env.now, replica.index, events, snapshots, duration)
        replica.up = False
        epoch = self.epoch[replica.index] = self.epoch.get(replica.index, 0) + 1

        def done(_event) -> None:
            if self.epoch.get(replica.index) != epoch:
                return  # crashed while replaying
            if announce:
                self.ready.add(replica.index)
                replica.restart()
            else:
                replica.up = True

        env.timeout(duration).callbacks.append(done)

    def finish(self, now: float) -> None:
        times = self.times
        self.facts.update({
            "replay_time_mean": sum(times) / len(times) if times else None,
            "replay_time_max": max(times) if times else None,
            "events_replayed": self.events,
            "snapshots_loaded": self.snapshots,
        })
