"""Distributed tracing: trace context on sampled requests, spans per hop and visit, OTLP/JSON.

* :mod:`.spec` — the ``tracing:`` section of a scenario (pure data);
* :mod:`.tracer` — during the run: which requests are traced, the spans they open;
* :mod:`.traces` — after it: ``result.traces``, spans as tables and trees, where the time went;
* :mod:`.otlp` — the spans as OTLP/JSON, for OpenTelemetry tools.

Waterfall charts are ``result.plot.trace()`` (:mod:`simulator.viz.waterfall`).
"""
