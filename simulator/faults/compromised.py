"""``kind: compromised`` — an attacker holds a component's identity for a while: what can it reach?

The **blast radius** is every other component's operation that the target's principal is
allowed to call, given the authorization policies and mTLS (:func:`simulator.security.authz.blast_radius`):
``allowed`` (the policies say yes), ``custom`` (left to an external authorizer at run
time) and ``denied``. The fault's end record says it (``Fault.outcome()``). Without
``probe_interval`` the run itself is unchanged (least privilege is judged by what the
policies allow). With ``probe_interval``, the attacker also probes: every interval, from ``target``'s
zone and with its identity, one request to each operation of every other component
(through the real hops, sidecars and connections; an allowed probe does the callee's
work). The outcome then counts the probes answered, denied (403) and otherwise failed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..scenario.kinds import TargetFault
from ..scenario.types import PositiveDuration
from .base import Fault


class CompromisedFault(TargetFault):
    """``target`` is in an attacker's hands from ``at`` for ``for``."""

    kind: Literal["compromised"] = "compromised"
    action = "compromise"
    probe_interval: PositiveDuration | None = Field(
        None, description="the attacker probes every other operation this often (none: no probes)")


class Compromised(Fault):
    """Works out the blast radius of ``target`` when it starts; reports it in the fault records."""

    kind = "compromised"

    def __init__(self, spec):
        super().__init__(spec)
        self.radius: dict[str, list[str]] | None = None
        self.probes = {"answered": 0, "denied": 0, "failed": 0}
        self._active = False

    def apply(self, world) -> None:
        from ..security.authz import blast_radius

        self.radius = blast_radius(world.scenario, self.spec.target)
        if self.spec.probe_interval is not None:
            self._active = True
            world.env.process(self._probe(world))

    def revert(self, world) -> None:
        self._active = False

    def _probe(self, world):
        from ..core.request import OK, REJECTED, Request

        name, env = self.spec.target, world.env
        zone = world.components[name].zone
        comps = world.scenario.components
        calls = [world.caller(zone, f"{other}.{op}", name) for other, spec in comps.items() if other != name
                 for op in spec.operation_names(comps)]
        while self._active:
            for call in calls:
                env.process(self._one(call(Request(0, env.now, -1, 0, 0)), OK, REJECTED))
            yield env.timeout(self.spec.probe_interval)

    def _one(self, call, ok, rejected):
        status = yield from call
        self.probes["answered" if status == ok else "denied" if status == rejected else "failed"] += 1

    def describe(self) -> tuple[str, str]:
        return self.spec.target, "compromised"

    def outcome(self) -> str:
        if self.radius is None:
            return ""
        r = self.radius
        total = len(r["allowed"]) + len(r["custom"]) + len(r["denied"])
        text = f"blast radius {len(r['allowed'])} of {total} operations: {', '.join(r['allowed']) or 'none'}"
        if r["custom"]:
            text += f"; left to ext_authz: {', '.join(r['custom'])}"
        if self.spec.probe_interval is not None:
            p = self.probes
            text += f"; probes: {p['answered']} answered, {p['denied']} denied (403), {p['failed']} failed"
        return text


SPEC, RUNTIME = CompromisedFault, Compromised
