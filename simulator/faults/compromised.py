"""``kind: compromised`` — an attacker holds a component's identity for a while: what can it reach?

The **blast radius** is every other component's operation that the target's principal is
allowed to call, given the authorization policies and mTLS (:func:`simulator.security.authz.blast_radius`):
``allowed`` (the policies say yes), ``custom`` (left to an external authorizer at run
time) and ``denied``. The fault's end record says it (``Fault.outcome()``); so does its
start record's detail. The run itself is unchanged: the attacker's own requests are not
simulated (least privilege is judged by what the policies allow, not by traffic).
"""

from __future__ import annotations

from typing import Literal

from ..scenario.kinds import TargetFault
from .base import Fault


class CompromisedFault(TargetFault):
    """``target`` is in an attacker's hands from ``at`` for ``for``."""

    kind: Literal["compromised"] = "compromised"
    action = "compromise"


class Compromised(Fault):
    """Works out the blast radius of ``target`` when it starts; reports it in the fault records."""

    kind = "compromised"

    def __init__(self, spec):
        super().__init__(spec)
        self.radius: dict[str, list[str]] | None = None

    def apply(self, world) -> None:
        from ..security.authz import blast_radius

        self.radius = blast_radius(world.scenario, self.spec.target)

    def revert(self, world) -> None:
        pass

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
        return text


SPEC, RUNTIME = CompromisedFault, Compromised
