"""What every component reports when the scenario has ``security:`` (declared once, for every kind).

The counts are the callee's: the connections it accepted (``handshakes``) or refused
(``mtls_rejected``: plaintext to ``strict``, mTLS to ``disable``, an expired certificate),
the requests its authorization policies denied (``authz_denied``, HTTP 403, ``REJECTED``)
or audited, and its external authorizer's checks and decision-cache hits.
"""

from __future__ import annotations

from ..metrics.descriptors import Counter


def _secured(spec, scenario) -> bool:
    return getattr(scenario, "security", None) is not None


SECURITY_METRICS = (
    Counter("handshakes", label="connection handshakes", when=_secured),
    Counter("mtls_rejected", label="connections refused (mTLS)", when=_secured),
    Counter("authz_denied", label="denied by authz (403)", when=_secured),
    Counter("authz_audited", label="audited by authz", when=_secured),
    Counter("ext_authz_checks", label="ext_authz checks", when=_secured),
    Counter("ext_authz_cache_hits", label="ext_authz cache hits", when=_secured),
)
"""The security counters of every component kind (``ComponentBase.shared_metrics``)."""
