"""Zero trust per hop: workload identities, mTLS, authorization policies, an external authorizer.

* :mod:`.spec` — the ``security:`` section of a scenario (pure data) and its checks;
* :mod:`.authz` — Istio's evaluation order (golden G20.1) and :func:`~.authz.blast_radius`;
* :mod:`.mtls` — which peer speaks what and what a handshake costs (golden G20.2, G20.3);
* :mod:`.metrics` — the counters every component reports with ``security:``;
* :mod:`.runtime` — during the run: connections, sidecars, the external authorizer.

Faults ``cert_expired`` and ``compromised`` (:mod:`simulator.faults`) and the chart
``result.plot.security()`` (:mod:`simulator.viz.security`) build on it. This package
imports nothing at import time, so the pure scenario layer can read its spec.
"""
