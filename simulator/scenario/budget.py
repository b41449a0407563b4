"""What a run of a scenario will ask of the machine, estimated before it starts, and the limits.

A valid scenario can still ask for more than any machine has: a rate of 10⁵⁷ requests
per second, or a time series sampled every nanosecond for an hour. :func:`check`
estimates, from the scenario alone:

* **requests**: an open-loop workload issues ∫ rate(t) dt over ``[0, duration)``
  (its profile integrated exactly: it is linear between breakpoints); a closed loop at
  most ``users × duration / think`` (its mean think time; with no think time the
  response time bounds the rate, which is not known before the run: not estimated);
* **visits**: requests × the mean visits to operations per request (feedback loops
  included: :func:`~simulator.scenario.loops.mean_visits`), the run's real work;
* **samples**: the time series has ``duration / sample_interval`` points per series;
* **users**: a closed loop's users, each a process for the whole run;
* **slots**: a replica's ``workers`` or ``connections``;
* **timer events**: what a component does every ``interval`` by itself (its kind's
  ``timers()``: health probes × backend hosts, autoscaler evaluations), over the run;
* **instances**: what each component runs at most (its kind's ``instances()`` and
  ``fault_units()``: replicas, autoscaling's maximum, a database's shards × nodes);
* **trace spans**: with ``tracing:``, ``ratio`` × (a root, and a client and a server span
  per visit) per request;
* **scrapes**: with ``monitoring:``, ``duration / scrape_interval`` (each a line per series
  in the OpenMetrics export).

It refuses a scenario above :data:`MAX_REQUESTS` requests, :data:`MAX_VISITS` visits, :data:`MAX_SAMPLES`
samples, :data:`MAX_TIMER_TICKS` timer events of a component, :data:`MAX_USERS` users,
:data:`MAX_SLOTS` workers or connections per replica or :data:`MAX_INSTANCES` instances
of a component, :data:`MAX_TRACE_SPANS` trace spans or :data:`MAX_SCRAPES` scrapes (the message names the workload or field, what it
asks for and the limit), and
warns above :data:`WARN_REQUESTS` requests or :data:`WARN_VISITS` visits (a long run: minutes, not seconds). The limits are
documented in the README ("Limits").
"""

from __future__ import annotations

import math

from .loops import mean_visits
from .model import Closed, Scenario
from .profile import integral
from .source import Path

MAX_REQUESTS = 50_000_000  # ~ an hour of simulation and GBs of records: refused
WARN_REQUESTS = 5_000_000  # ~ minutes: said, not refused
MAX_VISITS = 200_000_000  # visits to operations over the run (requests × mean visits per request): refused
WARN_VISITS = 20_000_000  # ~ minutes: said, not refused
MAX_SAMPLES = 1_000_000  # points per time series
MAX_TIMER_TICKS = 10_000_000  # a component's periodic events (health probes, autoscaler evaluations) per run
MAX_INSTANCES = 10_000  # instances of one component (replicas; a database's shards x nodes)
MAX_USERS = 100_000  # closed-loop users of one workload (each is a process for the whole run)
MAX_SLOTS = 1_000_000  # workers (or connections) of one replica: counted in floats, drawn as time series
MAX_TRACE_SPANS = 2_000_000  # spans a traced run keeps (88 bytes each, and every one in a table afterwards)
MAX_SCRAPES = 100_000  # scrapes of a monitored run (each a line per series in metrics.om)


def expected_requests(scenario: Scenario) -> list[tuple[int, float]]:
    """(workload index, requests it is expected to issue); 0 for a closed loop without think
    time (its rate depends on the response time, not known before the run)."""
    out = []
    for i, w in enumerate(scenario.workload):
        if isinstance(w.arrivals, Closed):
            think = w.arrivals.think.mean()
            users = w.arrivals.users if w.arrivals.users < 1e300 else math.inf  # a 400-digit count overflows a float
            out.append((i, users * scenario.duration / think if think > 0 else 0.0))
        else:
            out.append((i, integral(w.arrivals.rate, w.profile, scenario.duration)))
    return out


def check(scenario: Scenario) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """``(errors, warnings)`` as ``(path, message)`` pairs."""
    errors: list[tuple[Path, str]] = []
    warnings: list[tuple[Path, str]] = []
    per_workload = expected_requests(scenario)
    total = sum(n for _, n in per_workload)
    if not math.isfinite(total) or total > MAX_REQUESTS:
        i, biggest = max(per_workload, key=lambda x: x[1])
        where = ("workload", i, "arrivals")
        errors.append((where, f"this run would issue about {_count(total)} requests ({_count(biggest)} from workload "
                              f"{scenario.workload[i].name!r}), more than the {MAX_REQUESTS:,} a run may have: "
                              "lower the rate or the users, or shorten the duration"))
    elif total > WARN_REQUESTS:
        warnings.append((("duration",), f"this run issues about {_count(total)} requests: expect it to take minutes"))
    else:
        visits = [(i, n * sum(mean_visits(scenario, (scenario.workload[i].entry, scenario.workload[i].operation))
                              .values())) for i, n in per_workload if n > 0]
        work = sum(v for _, v in visits)
        if visits and math.isfinite(work):  # an endless loop is the loop checker's to refuse
            i, biggest = max(visits, key=lambda x: x[1])
            loops_per_request = biggest / dict(per_workload)[i]
            said = (f"this run makes about {_count(work)} visits to operations ({_count(total)} requests; "
                    f"{loops_per_request:.3g} visits per request of workload {scenario.workload[i].name!r})")
            if work > MAX_VISITS:
                errors.append((("workload", i, "arrivals"), f"{said}, more than the {MAX_VISITS:,} a run may make: "
                                                            "lower the rate, shorten the duration or the loops"))
            elif work > WARN_VISITS:
                warnings.append((("duration",), f"{said}: expect it to take minutes"))
    if scenario.tracing is not None and math.isfinite(total) and total <= MAX_REQUESTS:
        errors.extend(_trace_spans(scenario, per_workload, total))
    for i, w in enumerate(scenario.workload):
        users = getattr(w.arrivals, "users", 0)
        if users > MAX_USERS:
            errors.append((("workload", i, "arrivals", "users"), f"{_count(users)} users, more than the "
                                                                f"{MAX_USERS:,} a closed-loop workload may have"))
    for name, spec in scenario.components.items():
        for field in ("workers", "connections"):
            slots = getattr(spec, field, None)
            if isinstance(slots, int) and slots > MAX_SLOTS:
                errors.append((("components", name, field), f"{_count(slots)} {field} per replica, more than the "
                                                            f"{MAX_SLOTS:,} a replica may have"))
        for path, interval, units in spec.timers(scenario.components):
            ticks = scenario.duration / interval * units
            if ticks > MAX_TIMER_TICKS:
                errors.append((("components", name, *path),
                               f"{interval:g}s over a {scenario.duration:g}s run is {_count(ticks)} timer events, "
                               f"more than the {MAX_TIMER_TICKS:,} allowed: use at least "
                               f"{scenario.duration * units / MAX_TIMER_TICKS:.3g}s"))
        count, what = max((spec.instances(), "instances"), spec.fault_units())
        if not count <= MAX_INSTANCES:
            errors.append((("components", name), f"{name!r} runs {_count(count)} {what}, more than the "
                                                 f"{MAX_INSTANCES:,} a component may have"))
    monitoring = getattr(scenario, "monitoring", None)
    if monitoring is not None and scenario.duration / monitoring.scrape_interval > MAX_SCRAPES:
        errors.append((("monitoring", "scrape_interval"),
                       f"{monitoring.scrape_interval:g}s over a {scenario.duration:g}s run is "
                       f"{_count(scenario.duration / monitoring.scrape_interval)} scrapes, more than the {MAX_SCRAPES:,} "
                       f"a run may export: use at least {scenario.duration / MAX_SCRAPES:.3g}s"))
    samples = scenario.duration / scenario.sample_interval
    if samples > MAX_SAMPLES:
        errors.append((("sample_interval",), f"{scenario.sample_interval:g}s over a {scenario.duration:g}s run is "
                                             f"{_count(samples)} samples per series, more than the {MAX_SAMPLES:,} "
                                             f"allowed: use at least {scenario.duration / MAX_SAMPLES:.3g}s"))
    return errors, warnings


def _trace_spans(scenario: Scenario, per_workload: list[tuple[int, float]], total: float) -> list[tuple[Path, str]]:
    """The spans ``tracing:`` would keep (a root per traced request, a client and a server span per
    visit), refused above :data:`MAX_TRACE_SPANS`."""
    ratio = scenario.tracing.ratio

    def visits(w) -> float:  # mean visits per request of workload *w*, over its mix
        return sum(share * sum(mean_visits(scenario, (w.entry, op)).values()) for op, share in w.operations().items())

    spans = ratio * sum(n * (1 + 2 * visits(scenario.workload[i])) for i, n in per_workload if n > 0)
    if not math.isfinite(spans) or spans <= MAX_TRACE_SPANS:  # an endless loop is the loop checker's to refuse
        return []
    return [(("tracing", "ratio"), f"tracing {ratio:g} of about {_count(total)} requests keeps about {_count(spans)} "
                                   f"spans, more than the {MAX_TRACE_SPANS:,} a run may keep: use a ratio of at "
                                   f"most {ratio * MAX_TRACE_SPANS / spans:.2g}")]


def _count(n: float) -> str:
    if isinstance(n, int) and n.bit_length() > 1000:  # no float holds it (math.isfinite would overflow)
        return "an unbounded number of"
    if not math.isfinite(n):
        return "an unbounded number of"
    return f"{n:,.0f}" if n < 1e12 else f"{n:.2g}"
