"""``kind: cert_expired`` — a component's workload certificate expires for a while (rotation failed).

Its pooled connections close when the fault starts; while it lasts every new mTLS
handshake with it at either end fails (``ERROR`` for the caller, ``mtls_rejected`` at the
callee: golden G20.2). Plaintext connections do not use the certificate. Needs ``security:``.
"""

from __future__ import annotations

from typing import Literal

from ..scenario.kinds import TargetFault
from .base import Fault


class CertExpiredFault(TargetFault):
    """``target``'s certificate is expired from ``at`` for ``for``."""

    kind: Literal["cert_expired"] = "cert_expired"
    action = "expire the certificate of"


class CertExpired(Fault):
    """Expire ``target``'s certificate in the run's mesh (``world.security``), then renew it."""

    kind = "cert_expired"

    def apply(self, world) -> None:
        world.security.expire(self.spec.target)

    def revert(self, world) -> None:
        world.security.renew(self.spec.target)

    def describe(self) -> tuple[str, str]:
        return self.spec.target, "certificate expired"


SPEC, RUNTIME = CertExpiredFault, CertExpired
