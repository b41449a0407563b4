"""The runnable world: a SimPy environment, its random streams, network and components.

:class:`World` implements :class:`~simulator.core.context.Context`, what components and
faults may ask of the run; :func:`simulator.engine.build.build` creates and wires one.
Every random stream is derived from ``(seed, name)``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import simpy

from ..components.base import Component
from ..faults import FAULTS
from ..metrics.recorder import Recorder
from ..scenario.model import Scenario
from .clock import environment, run_until
from .network import Hops, Links
from ..core.rng import stream
from ..core.request import TIMEOUT
from ..core.sampling import buffered


HANDOVER_DEPTH = 8
"""Synchronous calls nested in one process before a call continues in a process of its own (World.hands_over)."""


def call_depths(scenario: Scenario, on_cycle: Callable[[str, str], bool]) -> dict[str, int]:
    """Each operation's depth (``component.operation``): 0 where no synchronous call leads, else one more
    than the deepest operation that calls it, over the calls not on a feedback loop (a DAG)."""
    from ..scenario.topology import edges

    callers: dict[str, set[str]] = {}
    for e in edges(scenario):
        a, b = f"{e.caller}.{e.operation}", f"{e.target}.{e.target_op}"
        callers.setdefault(a, set())
        if e.sync and not on_cycle(a, b):
            callers.setdefault(b, set()).add(a)
        else:
            callers.setdefault(b, set())
    depths: dict[str, int] = {}

    def depth(node: str) -> int:
        stack = [node]
        while stack:  # iterative: chains may be thousands deep
            top = stack[-1]
            pending = [c for c in callers.get(top, ()) if c not in depths]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            depths[top] = max((depths[c] + 1 for c in callers.get(top, ())), default=0)
        return depths[node]

    for node in sorted(callers):
        depth(node)
    return depths


class World:
    def __init__(self, scenario: Scenario, seed: int, recorder: Recorder | None = None):
        self.scenario = scenario
        self.seed = seed
        self.env = environment()
        self.recorder = Recorder() if recorder is None else recorder
        self.crashable: set[str] = set()
        self.erratic: set[str] = set()  # components an error-rate fault may hit
        self.fault_state: dict[str, Any] = {}  # what the faults of one kind share during the run, by kind
        self.degradable_links: set[frozenset] = set()
        self.cuttable_links: set[tuple[str, str]] = set()  # (from zone, to zone) a partition may cut
        self.components: dict[str, Component] = {}
        self._cycles: dict[str, int] | None = None  # operation -> its feedback loop (see on_cycle)
        self._depths: dict[str, int] | None = None  # operation -> its depth of synchronous calls (see hands_over)
        self.issued = 0
        self.pending: dict[int, Any] = {}
        self._drained: simpy.Event | None = None
        self.at_end: list[Callable[[float], None]] = []  # steps' callbacks for work under way at the end
        self._versions: dict[str, dict[int, int]] = {}
        self.faults = [FAULTS[f.kind].runtime(f) for f in scenario.faults]
        for fault in self.faults:
            fault.prepare(self)
        self.links = Links(scenario.network, self.rng, self.degradable_links, self.cuttable_links)
        self.hops = Hops(self.env, self.links)
        self.tracer = None  # a scenario with ``tracing:`` gets one (simulator.tracing.tracer)
        if scenario.tracing is not None:
            from ..tracing.tracer import Tracer

            self.tracer = Tracer(scenario.tracing, self.env, self.recorder.table)
        self.wiring: str | None = None  # the component being built or wired: the caller of the hops compiled now
        self.security = None  # a scenario with ``security:`` gets one (simulator.security.runtime)
        if scenario.security is not None:
            from ..security.runtime import Mesh

            self.security = Mesh(self, scenario.security)

    # -- randomness ---------------------------------------------------------------------
    def rng(self, name: str) -> np.random.Generator:
        """The random generator of stream *name* under this run's seed."""
        return stream(self.seed, name)

    def uniform(self, name: str) -> Callable[[], float]:
        """A fast U(0,1) sampler on stream *name*."""
        return buffered(lambda r, n: r.random(n), self.rng(name))

    def versions(self, component: str) -> dict[int, int]:
        """Per key, how many writes of *component*'s data were acknowledged (for staleness checks)."""
        return self._versions.setdefault(component, {})

    # -- draining -----------------------------------------------------------------------
    def drained(self) -> None:
        """Called by clients when nothing is pending after the clients stopped."""
        if self._drained is not None and not self._drained.triggered:
            self._drained.succeed()

    def events(self) -> int:
        """How many event ids SimPy has handed out so far (reads its counter): the events scheduled,
        and one per open-loop request with a time-out, which keeps the id of the timeout event it
        no longer needs (:mod:`simulator.engine.expiry`)."""
        counter = self.env._eid  # itertools.count: peek by taking one id; ids only break ties in order
        return next(counter)

    def run(self, progress: Callable[[float, float, int], None] | None = None, ticks: int = 100) -> float:
        """Run to ``duration``, then drain (at most ``drain``); returns the end time.

        *progress*, if given, is called ``ticks`` times as ``progress(now, duration, events)``.
        Requests still pending at the end are recorded as timeouts.
        """
        env, sc = self.env, self.scenario
        if progress is None:
            run_until(env, sc.duration)
        else:
            for k in range(1, ticks + 1):
                run_until(env, sc.duration * k / ticks)
                progress(env.now, sc.duration, self.events())
        if self.pending and sc.drain > 0:
            self._drained = env.event()
            run_until(env, env.any_of([self._drained, env.timeout(sc.drain)]))
        end = env.now
        for request in self.pending.values():
            self.recorder.request_done(request.t_issue, end, TIMEOUT, request.workload, request.operation)
            if request.span is not None:
                self.tracer.root(request, end, TIMEOUT)
        if self.tracer is not None:
            self.tracer.finish(end)
        self.pending.clear()
        for callback in self.at_end:
            callback(end)
        for component in self.components.values():
            component.finish(end)
        if progress is not None:
            progress(end, sc.duration, self.events())
        return end

    # -- wiring -------------------------------------------------------------------------
    def may_crash(self, component: str) -> bool:
        return component in self.crashable

    def on_cycle(self, caller: str, target: str) -> bool:
        """Whether a call from operation *caller* to *target* (both ``component.operation``) can lead
        back to *caller*: the two lie on one cycle of the scenario's call graph (a feedback loop)."""
        if self._cycles is None:
            import networkx as nx

            from ..scenario.topology import edges

            graph = nx.DiGraph((f"{e.caller}.{e.operation}", f"{e.target}.{e.target_op}") for e in edges(self.scenario))
            self._cycles = {node: i for i, group in enumerate(nx.strongly_connected_components(graph))
                            for node in group if len(group) > 1 or graph.has_edge(node, node)}
        group = self._cycles.get(caller)
        return group is not None and self._cycles.get(target) == group

    def hands_over(self, caller: str, target: str) -> bool:
        """Whether a synchronous call from operation *caller* to *target* continues in a process of its own.

        A call runs inside its caller's generator, and every event of the callee resumes the whole
        chain of generators above it: the cost of an event grows with the depth of the call chain.
        Operations are given their depth, the longest chain of synchronous calls that leads to them
        (feedback loops left out: :meth:`on_cycle` bounds those); a call that crosses a multiple of
        :data:`HANDOVER_DEPTH` starts a process, so no process nests more than that many calls. Two
        events per hand-over; architectures shallower than that (nearly all) are untouched.
        """
        if self._depths is None:
            self._depths = call_depths(self.scenario, self.on_cycle)
        a, b = self._depths.get(caller), self._depths.get(target)
        return a is not None and b is not None and b // HANDOVER_DEPTH > a // HANDOVER_DEPTH

    def caller(self, zone: str | None, target: str, source: str | None = None) -> Callable[[Any], Any]:
        """A step function calling ``component.operation`` from *zone*, through the hop between the zones.

        *source*: the calling component (default: the one being wired; none for a workload's
        request), whose identity and mTLS the callee sees when the scenario has ``security:``."""
        name, _, op_name = target.partition(".")
        component = self.components[name]
        handle, security = component.handle, self.security
        if security is not None:
            source = self.wiring if source is None else source
            handle = security.sidecar(handle, source, name, op_name)
        call = self.hops.between(zone, component.zone).call(handle, component.operation_from(op_name, zone))
        if security is not None:
            call = security.connection(call, source, zone, component)
        return call if self.tracer is None else self.tracer.client(call, target)
