"""AP mode: Dynamo-style replication — quorums R and W, last-writer-wins, hints, read repair, anti-entropy.

Every replica holds every key (the preference list is the N replicas). A **version** is
``(time, replica, value)``: the coordinator's clock when it took the write, its index (the
tie-break) and the unique value; last-writer-wins keeps the largest.

**Write** at coordinator *c*: *c* does the work, stores the version, and sends it to every
other replica up that it can reach (it lands there one one-way delay later, plus
``replication_lag`` when set; its acknowledgement is back one round trip after that). *c* answers after the ``w``-th fastest
acknowledgement (its own is instant). When fewer than ``w`` replicas are reachable: with
``sloppy_quorum`` the write succeeds on those reached (after the last of their
acknowledgements); without it, it fails at once (``ERROR``, ``unavailable``: not written).
With ``hinted_handoff`` *c* keeps a hint for every replica it could not reach, replayed at
the first gossip round (every ``gossip_interval``) that finds both up and talking.

**Read** at *c*: asks ``r`` replicas among those up it can reach (``read_from``: nearest or
random), each answering with what it holds when the request lands; *c* answers after the
slowest reply with the newest version (fewer than ``r`` reachable: ``ERROR``,
``unavailable``). With ``read_repair`` the replicas that answered older versions are sent
the newest.

**Anti-entropy**: every ``anti_entropy_interval`` each pair of replicas up that can talk
reconciles every key at once (a per-key version comparison standing in for Merkle trees).

**Conflicts**: when a replica meets two versions of a key and the newer one's writer had not
seen the older one (it is not among the versions its coordinator held, and theirs held, and
so on back), they were *concurrent*:
the older one is overwritten by LWW, counted once as a ``conflicting_writes`` and, if it had
been acknowledged to its client, as a ``lww_lost_writes`` (never visible again). A version
overwritten by a later write of a coordinator that had seen it is superseded, not lost.
"""

from __future__ import annotations

from typing import Any, Generator

from ...core.request import ERROR, OK
from ...core.sampling import is_zero, sampler

NONE = (float("-inf"), -1, -1)
"""Below every version: what a replica that never saw the key holds."""


class Dynamo:
    """The replicas' key → version maps, the hints kept for unreachable replicas, and the conflicts seen."""

    def __init__(self, store):
        spec = store.spec
        self.store = store
        self.env, self.mesh = store.env, store.mesh
        self.knobs = spec.dynamo
        self.n = len(spec.replicas)
        self.data: list[dict[int, tuple]] = [{} for _ in range(self.n)]
        self.hints: dict[tuple[int, int], dict[int, tuple]] = {}  # (holder, target) -> key -> version
        self.seen_before: dict[int, tuple] = {}  # value -> the version its coordinator held when writing it
        self.settled: set[int] = set()  # values superseded by a write that saw them, or already counted lost
        self.acknowledged: set[int] = set()  # values acknowledged to their client
        self.lag = None if is_zero(self.knobs.replication_lag) else sampler(
            self.knobs.replication_lag, store.world.rng(f"{store.name}/replication_lag"))
        self.pick = store.world.rng(f"{store.name}/read_from") if self.knobs.read_from == "random" else None
        count = store.count
        self.count = count
        self.env.process(self._gossip())
        if self.knobs.anti_entropy_interval is not None:
            self.env.process(self._anti_entropy())

    # -- versions ------------------------------------------------------------------------------------
    def apply(self, j: int, key: int, version: tuple) -> bool:
        """Replica *j* receives *version* of *key*: LWW keeps the newer; True when *j* changed."""
        held = self.data[j].get(key, NONE)
        if version == held:
            return False
        newer, older = (version, held) if version > held else (held, version)
        if older is not NONE and older[2] not in self.settled and not self._saw(newer, older):
            self.settled.add(older[2])  # concurrent: neither writer had seen the other
            now = self.env.now
            self.count["conflicting_writes"](now)
            if older[2] in self.acknowledged:
                self.count["lww_lost_writes"](now)
        if version is newer:
            self.data[j][key] = version
            return True
        return False

    def _saw(self, newer: tuple, older: tuple) -> bool:
        """Whether *newer*'s writer had seen *older*: it is in the chain of versions each write's
        coordinator held when writing (each one older than the last, so the walk stops at *older*)."""
        version = newer
        while version > older:
            version = self.seen_before.get(version[2], NONE)
        return version == older

    def _land(self, j: int, key: int, version: tuple, delay: float) -> None:
        """*version* reaches replica *j* after *delay* (dropped if *j* is down by then)."""
        def land(_):
            if self.mesh.up(j):
                self.apply(j, key, version)
        self.env.timeout(delay).callbacks.append(land)

    def divergent_keys(self) -> int:
        """Keys on which the replicas do not all hold the same version."""
        keys = set().union(*self.data)
        return sum(1 for k in keys if len({d.get(k, NONE) for d in self.data}) > 1)

    # -- operations ----------------------------------------------------------------------------------
    def serve(self, c: int, kind: str, request, value: int | None) -> Generator[Any, Any, tuple[int, tuple | None]]:
        """Coordinator *c* serves *request*: ``(status, version)`` (the version written or read)."""
        status = yield from self.store.work(c, kind, request)
        if status != OK:
            return status, None
        if kind == "write":
            return (yield from self._write(c, request, value))
        return (yield from self._read(c, request))

    def _write(self, c: int, request, value: int) -> Generator[Any, Any, tuple[int, tuple | None]]:
        env, mesh, knobs, key = self.env, self.mesh, self.knobs, request.key
        others = [j for j in range(self.n) if j != c]
        reached = [j for j in others if mesh.up(j) and mesh.reaches(c, j)]
        if not knobs.sloppy_quorum and 1 + len(reached) < knobs.w:
            self.count["unavailable"](env.now)
            return ERROR, None
        version = (env.now, c, value)
        before = self.data[c].get(key, NONE)
        self.seen_before[value] = before
        if before is not NONE:
            self.settled.add(before[2])  # this write saw it: superseded, not lost
        self.apply(c, key, version)
        acks = [0.0]
        for j in others:
            if j in reached:
                there, back = mesh.one_way(c, j), mesh.one_way(j, c)
                if self.lag is not None:
                    there += self.lag()  # applied (and acknowledged) that much after it arrives
                self._land(j, key, version, there)
                if mesh.reaches(j, c):
                    acks.append(there + back)
            else:
                if mesh.up(j):
                    mesh.lost(env.now)
                if knobs.hinted_handoff:
                    hints = self.hints.setdefault((c, j), {})
                    hints[key] = max(hints.get(key, NONE), version)
        acks.sort()
        yield env.timeout(acks[min(knobs.w, len(acks)) - 1])
        return OK, version

    def _read(self, c: int, request) -> Generator[Any, Any, tuple[int, tuple | None]]:
        env, mesh, knobs, key = self.env, self.mesh, self.knobs, request.key
        ready = [j for j in range(self.n) if j == c or (mesh.up(j) and mesh.reaches(c, j) and mesh.reaches(j, c))]
        if len(ready) < knobs.r:
            self.count["unavailable"](env.now)
            return ERROR, None
        if self.pick is not None:
            asked = [ready[i] for i in self.pick.choice(len(ready), knobs.r, replace=False)]
        else:
            zone = mesh.zones[c]
            asked = sorted(ready, key=lambda j: (j != c, mesh.zones[j] != zone, j))[:knobs.r]
        replies: dict[int, tuple] = {}
        slowest = 0.0
        for j in asked:
            there, back = mesh.one_way(c, j), mesh.one_way(j, c)
            slowest = max(slowest, there + back)
            if there == 0.0:
                replies[j] = self.data[j].get(key, NONE)
            else:
                def answer(_, j=j):
                    replies[j] = self.data[j].get(key, NONE)
                env.timeout(there).callbacks.append(answer)
        yield env.timeout(slowest)
        newest = max(replies.values())
        if knobs.read_repair and newest is not NONE:
            for j, held in replies.items():
                if held < newest:
                    self.count["read_repairs"](env.now)
                    self._land(j, key, newest, mesh.one_way(c, j))
        return OK, None if newest is NONE else newest

    def acknowledged_write(self, version: tuple) -> None:
        """The client got OK for *version*: losing it later is losing an acknowledged write."""
        self.acknowledged.add(version[2])

    # -- background repair ---------------------------------------------------------------------------
    def _gossip(self) -> Generator[Any, Any, None]:
        """Every ``gossip_interval``: replay the hints whose holder and target can talk again."""
        env, mesh = self.env, self.mesh
        while True:
            yield env.timeout(self.knobs.gossip_interval)
            for (holder, target), hints in list(self.hints.items()):
                if mesh.talks(holder, target):
                    delay = mesh.one_way(holder, target)
                    for key, version in hints.items():
                        self._land(target, key, version, delay)
                        self.count["hints_delivered"](env.now)
                    del self.hints[(holder, target)]

    def _anti_entropy(self) -> Generator[Any, Any, None]:
        env, mesh, data = self.env, self.mesh, self.data
        while True:
            yield env.timeout(self.knobs.anti_entropy_interval)
            for i in range(self.n):
                for j in range(i + 1, self.n):
                    if not mesh.talks(i, j):
                        continue
                    for key in set(data[i]) | set(data[j]):
                        a, b = data[i].get(key, NONE), data[j].get(key, NONE)
                        if a != b:
                            stale = j if a > b else i
                            self.apply(stale, key, max(a, b))
                            self.count["anti_entropy_repairs"](env.now)
