"""CP mode: a Raft-like leader, its elections, and reads and writes through it.

**Leadership** is kept with timers and reachability checks, not per-message Raft: one
process per store wakes at each heartbeat (every ``heartbeat_interval``) and at the
earliest follower deadline.

* At a heartbeat the leader (when up) reaches every follower that is up and that it can
  talk to both ways: they *hear* it (their election timer restarts). When it reaches a
  majority (itself included) its quorum is fresh; when it has not for ``election_timeout``
  it steps down (etcd's CheckQuorum).
* Each replica has a timeout drawn uniformly in ``[election_timeout, 2·election_timeout)``
  (redrawn at every election). A follower up that has not heard a leader for its timeout
  starts an election: the voters are the replicas up that it can talk to and that have not
  heard a leader for ``election_timeout`` themselves (a replica that hears a live leader
  ignores candidates). With a majority of votes (its own included) it becomes leader one
  vote round trip later (the (q−1)-th fastest round trip to its voters); otherwise it
  draws a new timeout and tries again. Hence after a leader crash no new leader exists
  before ``election_timeout − heartbeat_interval`` (golden G7.4).
* A crashed leader stays leader until someone else is elected (its followers forward to
  it and are refused); it comes back as a follower. The first leader is replica 0.

**Operations** at coordinator *c*: when *c* has not heard a leader for its timeout it knows
none and rejects (``ERROR``, counted ``unavailable``). Otherwise it forwards to the leader
(lost at a cut: ``TIMEOUT`` after ``request_timeout``); the leader does the work, then one
majority round (the (q−1)-th fastest follower round trip among those it can talk to, golden
G7.3): a write commits (its version is the commit time, the leader's index and the value),
a read returns the committed version (ReadIndex: linearizable). A leader that cannot reach
a majority waits ``request_timeout`` and answers ``TIMEOUT``; a leader that crashes during
the round answers ``ERROR``. The reply crosses back to *c* (lost at a cut: ``TIMEOUT``; a
write was then committed all the same). The committed state is one map (a majority always
holds every committed entry, so any elected leader has it).
"""

from __future__ import annotations

from typing import Any, Generator

from ...core.request import ERROR, OK, TIMEOUT

EPSILON = 1e-12  # timer comparisons after float sums


class Raft:
    """The leader, the election timers and the committed key → version map of one CP store."""

    def __init__(self, store):
        spec = store.spec
        self.store = store
        self.env, self.mesh = store.env, store.mesh
        self.knobs = spec.raft
        self.n, self.q = len(spec.replicas), spec.quorum
        self.uniform = store.world.uniform(f"{store.name}/election")
        self.leader: int | None = 0
        self.heard = [0.0] * self.n  # when each replica last heard a leader
        self.since = [0.0] * self.n  # when its election timer last started (heard a leader, or lost an election)
        self.timer = [self._draw() for _ in range(self.n)]
        self.quorum_at = 0.0  # when the leader last reached a majority
        self.state: dict[int, tuple] = {}
        self.elections, self.leader_changes = store.count["elections"], store.count["leader_changes"]
        self.env.process(self._run())

    def _draw(self) -> float:
        timeout = self.knobs.election_timeout
        return timeout * (1.0 + self.uniform())

    # -- leadership ------------------------------------------------------------------------------
    def follows(self, c: int) -> bool:
        """Whether replica *c* knows a leader now (it is the leader, or heard one within its timeout)."""
        if self.leader is None:
            return False
        return c == self.leader or self.env.now - self.heard[c] < self.timer[c] - EPSILON

    def _run(self) -> Generator[Any, Any, None]:
        env, interval = self.env, self.knobs.heartbeat_interval
        next_beat = env.now
        while True:
            if env.now >= next_beat - EPSILON:
                self._heartbeat()
                next_beat = env.now + interval
            candidate, deadline = self._candidate()
            if candidate is not None and deadline <= env.now + EPSILON:
                yield from self._elect(candidate)
                continue
            wake = next_beat if candidate is None else min(next_beat, deadline)
            yield env.timeout(max(wake - env.now, 0.0))

    def _heartbeat(self) -> None:
        leader, mesh, now = self.leader, self.mesh, self.env.now
        if leader is None or not mesh.up(leader):
            return
        reached = 1
        self.heard[leader] = self.since[leader] = now
        for j in range(self.n):
            if j != leader and mesh.talks(leader, j):
                self.heard[j] = self.since[j] = now
                reached += 1
        if reached >= self.q:
            self.quorum_at = now
        elif now - self.quorum_at >= self.knobs.election_timeout - EPSILON:
            self.leader = None  # CheckQuorum: a leader cut from its majority steps down

    def _candidate(self) -> tuple[int | None, float]:
        """The follower up whose election timer runs out first, and when."""
        best, first = None, float("inf")
        for i in range(self.n):
            if i != self.leader and self.mesh.up(i):
                deadline = self.since[i] + self.timer[i]
                if deadline < first:
                    best, first = i, deadline
        return best, first

    def _elect(self, c: int) -> Generator[Any, Any, None]:
        env, mesh, now = self.env, self.mesh, self.env.now
        self.elections(now)
        quiet = self.knobs.election_timeout - EPSILON
        voters = [j for j in range(self.n) if j != c and mesh.talks(c, j) and now - self.heard[j] >= quiet]
        if 1 + len(voters) < self.q:
            self.since[c], self.timer[c] = now, self._draw()  # no majority: try again later
            return
        if self.q > 1:
            yield env.timeout(sorted(mesh.rtt(c, j) for j in voters)[self.q - 2])
        now = env.now
        if not mesh.up(c):
            return
        self.leader = c
        self.leader_changes(now)
        self.quorum_at = now
        for j in [c, *voters]:
            self.heard[j] = self.since[j] = now
        self.timer = [self._draw() for _ in range(self.n)]

    def restarted(self, i: int) -> None:
        """Replica *i* is back: a follower with a fresh timer (a restarted leader has lost its leadership)."""
        if self.leader == i:
            self.leader = None
        self.since[i], self.timer[i] = self.env.now, self._draw()

    # -- operations --------------------------------------------------------------------------------
    def serve(self, c: int, kind: str, request, value: int | None) -> Generator[Any, Any, tuple[int, tuple | None]]:
        """Coordinator *c* serves *request* (``kind`` read or write): ``(status, version)``."""
        env, mesh, store = self.env, self.mesh, self.store
        start = env.now
        leader = self.leader
        if not self.follows(c):
            store.count["unavailable"](start)
            return ERROR, None
        give_up = start + store.spec.request_timeout
        if leader != c:
            if not mesh.send(c, leader):
                yield env.timeout(store.spec.request_timeout)
                return TIMEOUT, None
            yield env.timeout(mesh.one_way(c, leader))
            if not mesh.up(leader):
                return ERROR, None  # a crashed leader refuses the connection
        status = yield from store.work(leader, kind, request)
        if status != OK:
            return status, None
        rtts = []
        for j in range(self.n):
            if j != leader:
                if mesh.talks(leader, j):
                    rtts.append(mesh.rtt(leader, j))
                elif mesh.up(j) and not mesh.reaches(leader, j):
                    mesh.lost(env.now)
        if 1 + len(rtts) < self.q:
            yield env.timeout(max(give_up - env.now, 0.0))
            return TIMEOUT, None
        if self.q > 1:
            yield env.timeout(sorted(rtts)[self.q - 2])
        if not mesh.up(leader):
            return ERROR, None
        if kind == "write":
            version = (env.now, leader, value)
            self.state[request.key] = version
        else:
            version = self.state.get(request.key)
        if leader != c:
            if not mesh.send(leader, c):
                yield env.timeout(max(give_up - env.now, 0.0))
                return TIMEOUT, None
            yield env.timeout(mesh.one_way(leader, c))
        return OK, version
