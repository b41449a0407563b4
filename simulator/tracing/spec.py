"""``tracing:`` — the scenario section that switches distributed tracing on (pure data).

::

    tracing:
      ratio: 0.1        # the share of requests traced (OpenTelemetry's TraceIdRatioBased sampler)

A sampled request carries a trace context through every synchronous call; each network hop
records a client span and each visit of a worker-pool component (service, cache, database,
load balancer, gateway, store) a server span, split into queueing and work
(:mod:`simulator.tracing`). The choice is a function of the request's number, so it draws
nothing from the run's random streams: a run with tracing is the same run as without.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..scenario.types import Strict


class Tracing(Strict):
    """Which requests are traced: the share ``ratio`` of them, chosen by request number."""

    ratio: Annotated[float, Field(gt=0.0, le=1.0, description="the share of requests traced (0, 1]; "
                                                            "OpenTelemetry's TraceIdRatioBased sampler")] = 1.0
