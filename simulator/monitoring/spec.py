"""The scenario's ``monitoring:`` section: how often the run is scraped and how durations are bucketed.

Pure data (read while a scenario loads). The names are Prometheus': ``scrape_interval``
(Prometheus' global default is 1 m; its example configuration and most setups use 15 s,
the default here, so that a run of a few minutes has enough points), histogram ``buckets``
as ``le`` upper bounds (default: the Prometheus client libraries' ``DEFAULT_BUCKETS``,
5 ms to 10 s), and the ``epoch``: the wall-clock instant that simulated time 0 stands for in
exported timestamps (fixed, so an export is reproducible).

What the scrape yields is specified in :mod:`simulator.monitoring.scrape`.

Alert ``rules`` (:mod:`.rules`) are evaluated every ``evaluation_interval`` over the scraped
series (:mod:`.alerts`; Prometheus' global default is 1 m, its example configuration's 15 s
is the default here, like the scrape's), and scored against the run's faults with a
``detection_grace``: an alert that starts firing up to that long after a fault ended still
detects it (default 5 m).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AwareDatetime, Field, field_validator

from ..scenario.types import Duration, PositiveDuration, Strict
from .rules import AlertRule

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
"""The Prometheus client libraries' default histogram buckets, in seconds (``+Inf`` is implicit)."""
DEFAULT_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
"""Simulated time 0 in exported timestamps unless ``epoch`` says otherwise: 2026-01-01T00:00:00Z."""


class Monitoring(Strict):
    """``monitoring: {scrape_interval: 15s, buckets: [5ms, 10ms, ...], epoch: 2026-01-01T00:00:00Z}``.

    Every ``scrape_interval`` (and once more at the run's end) the run is scraped: counters
    and histograms are cumulative up to that instant, the USE gauges are averages over the
    interval just ended (:mod:`simulator.monitoring.scrape`). ``scrape_interval`` must be a
    multiple of the scenario's ``sample_interval`` (the grid the records keep in both modes).
    """

    scrape_interval: PositiveDuration = Field(15.0, description="time between scrapes (Prometheus "
                                              "scrape_interval); a multiple of sample_interval")
    buckets: Annotated[list[PositiveDuration], Field(min_length=1)] = Field(
        list(DEFAULT_BUCKETS), description="duration histogram upper bounds (le), increasing; +Inf is added")
    epoch: AwareDatetime = Field(DEFAULT_EPOCH, description="the UTC instant that simulated time 0 stands for "
                                 "in exported timestamps")
    evaluation_interval: PositiveDuration = Field(15.0, description="time between evaluations of the alert "
                                                  "rules (Prometheus evaluation_interval)")
    rules: list[AlertRule] = Field(default_factory=list, description="alerting rules over the scraped series "
                                   "(PromQL subset, or burn_rate: the SRE Workbook's multiwindow rule)")
    detection_grace: Duration = Field(300.0, description="an alert firing up to this long after a fault ended "
                                      "still detects it (alert scoring)")

    @field_validator("buckets")
    @classmethod
    def _increasing(cls, buckets: list[float]) -> list[float]:
        for i, (a, b) in enumerate(zip(buckets, buckets[1:]), start=1):
            if b <= a:
                raise ValueError(f"buckets must be strictly increasing upper bounds (le): bucket {i} "
                                 f"({b:g} s) is not above bucket {i - 1} ({a:g} s)")
        return buckets

    @property
    def epoch_s(self) -> float:
        """The epoch as Unix seconds."""
        return self.epoch.timestamp()

    def check(self, scenario: Any) -> list[tuple[tuple, str]]:
        """What the section needs of the scenario around it: a scrape interval on the records' grid
        and rules that parse and name what the scrape has (:func:`.alerts_check.check_rules`). With
        summary records the run folds the request and visit families as it goes (:mod:`.folding`)."""
        from .alerts_check import check_rules  # the PromQL parser: loaded only for a design with monitoring

        problems: list[tuple[tuple, str]] = check_rules(self, scenario)
        step = scenario.sample_interval
        ratio = self.scrape_interval / step
        if round(ratio) < 1 or abs(ratio - round(ratio)) > 1e-9 * max(1.0, ratio):
            problems.append((("monitoring", "scrape_interval"),
                             f"scrape_interval {self.scrape_interval:g}s must be a whole multiple of "
                             f"sample_interval {step:g}s (the grid the records keep): e.g. "
                             f"{max(1, round(ratio)) * step:g}s"))
        return problems
