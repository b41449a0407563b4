"""The terminal and HTML tables of a run: SLO rows read in their own units, per-site blocks readable."""

from __future__ import annotations

from simulator import present
from simulator.report import component_details

RECOVERY = {"name": "recovered", "metric": "goodput", "operation": None, "passed": True, "value": 10.0,
            "target": 220.0, "bound": "max",
            "recovery": {"after": "slowdown", "within": 220.0, "threshold": 56.0, "threshold_bound": "min"}}


def test_a_recovery_slo_reads_as_a_time_and_says_what_back_means():
    metric, value, target = present.slo_cells(RECOVERY)
    assert (value, target) == ("10 s", "≤ 3.67 min")  # seconds, not goodput's /s
    assert metric == "recovery after slowdown: goodput back to ≥ 56.0/s"
    assert present.slo_cells({**RECOVERY, "value": None, "passed": False})[1] == "never"
    html_metric, _, _ = present.slo_cells(RECOVERY, present.HTML)
    assert html_metric.endswith("≥ 56.0 req/s")


def test_a_plain_slo_reads_in_its_metric_s_unit():
    slo = {"name": "p99", "metric": "latency_p99", "operation": "buy", "passed": True, "value": 0.0123, "target": 0.25,
           "bound": "max"}
    assert present.slo_cells(slo) == ("latency_p99 (buy)", "12.3 ms", "≤ 250 ms")


def test_per_site_blocks_are_written_out_not_printed_as_dicts():
    summary = {"components": {"shop": {
        "kind": "service", "breaker_opens": 6,
        "breakers": {"shop->db.read": {"opens": 6, "rejected": 2981,
                                       "state_seconds": {"closed": 107.87, "open": 60.1, "half_open": 2.02}}}}}}
    [(name, kind, text)] = component_details(summary)
    assert (name, kind) == ("shop", "service")
    assert "{" not in text and "'" not in text
    assert "breakers shop->db.read: opens 6, rejected 2,981, state seconds (closed 108 s, open 60.1 s" in text
    assert text.startswith("breaker opens 6, breakers shop->db.read")
