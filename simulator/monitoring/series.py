"""What a scrape yields: metric families (name, type, unit, help) and their series (labels, one value per scrape).

The names follow Prometheus' conventions: base units (seconds, ratios), a counter's samples
end in ``_total``, a histogram's in ``_bucket`` (cumulative, one per ``le`` bound and
``+Inf``), ``_count`` and ``_sum``. :data:`FAMILIES` is the complete list; a family's
``needs_full`` says whether it is counted from per-request or per-visit records (absent from
a run that kept summary records only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # annotations only: the rule checks read the family names while a scenario loads
    import numpy as np

__all__ = ["FAMILIES", "Family", "Histogram", "Series", "family"]

Labels = tuple[tuple[str, str], ...]
"""A series' labels as sorted ``(name, value)`` pairs."""


@dataclass(frozen=True)
class Family:
    """One metric family: samples are ``name`` (gauge), ``name_total`` (counter) or ``name_bucket``,
    ``name_count``, ``name_sum`` (histogram); ``unit`` is the name's unit suffix or empty."""

    name: str
    type: Literal["counter", "gauge", "histogram"]
    unit: str
    help: str
    needs_full: bool = False

    def sample_names(self) -> tuple[str, ...]:
        if self.type == "counter":
            return (f"{self.name}_total",)
        if self.type == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_count", f"{self.name}_sum")
        return (self.name,)


FAMILIES = (
    Family("sdsim_client_requests", "counter", "", "Client requests answered, by workload, operation and status "
           "(ok, error, timeout, rejected), counted when they end.", needs_full=True),
    Family("sdsim_client_request_duration_seconds", "histogram", "seconds", "Client-observed latency of "
           "successful requests, by workload and operation, observed when they end.", needs_full=True),
    Family("sdsim_requests", "counter", "", "Visits a component finished, by operation and status, counted "
           "when they end.", needs_full=True),
    Family("sdsim_request_duration_seconds", "histogram", "seconds", "Time a successful visit spent inside the "
           "component (arrival to end, downstream calls included), by operation.", needs_full=True),
    Family("sdsim_utilization_ratio", "gauge", "ratio", "Busy workers over provisioned workers, averaged over "
           "the scrape interval ending at the sample (USE utilization)."),
    Family("sdsim_queue_length", "gauge", "", "Visits waiting for a worker, averaged over the scrape interval "
           "ending at the sample (USE saturation)."),
    Family("sdsim_in_flight", "gauge", "", "Visits inside the component (arrival to end), averaged over the "
           "scrape interval ending at the sample."),
    Family("sdsim_workers", "gauge", "", "Provisioned workers (replicas times workers), averaged over the "
           "scrape interval ending at the sample."),
    Family("sdsim_component_events", "counter", "", "Events a component's kind tallies (shed, throttled, "
           "cache hits, ...), by event name."),
)
"""Every family a scrape can yield, in export order."""

_BY_NAME = {f.name: f for f in FAMILIES}


def family(name: str) -> Family:
    """The family called *name* (its sample names are accepted too: ``sdsim_requests_total``)."""
    for suffix in ("", "_total", "_bucket", "_count", "_sum"):
        if suffix and name.endswith(suffix) and name[:-len(suffix)] in _BY_NAME:
            return _BY_NAME[name[:-len(suffix)]]
        if not suffix and name in _BY_NAME:
            return _BY_NAME[name]
    raise KeyError(f"no metric family {name!r} (families: {', '.join(_BY_NAME)})")


@dataclass(frozen=True)
class Series:
    """A counter or gauge series: one value per scrape time."""

    family: Family
    labels: Labels
    values: np.ndarray


@dataclass(frozen=True)
class Histogram:
    """A histogram series: per scrape time the cumulative count at or below each of ``bounds`` and
    ``+Inf`` (``buckets``, shape ``(scrapes, len(bounds) + 1)``), the ``count`` and the ``sum``."""

    family: Family
    labels: Labels
    bounds: np.ndarray
    buckets: np.ndarray
    count: np.ndarray
    sum: np.ndarray
