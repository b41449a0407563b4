"""Explain a failed alert score (``alerts.SELECTOR.METRIC``) from the run's own alerts and incidents.

For the first run whose score breaks the target: each incident (kind, target, when) with the
time the selected alerts took to detect it, or "missed"; then the false alerts (firings that
detected no incident) with their times. The student sees what their rules did on that run's
incident schedule, which another grading seed would draw differently.
"""

from __future__ import annotations

import math
from typing import Any

from ... import present

MAX_LISTED = 5


def _names(monitoring: Any, selector: str) -> list[str]:
    rules = monitoring.rules
    if selector == "all":
        return [r.alert for r in rules]
    by_severity = [r.alert for r in rules if r.severity == selector]
    return by_severity or [r.alert for r in rules if r.alert == selector]


def _when(start: float, end: float) -> str:
    return f"{present.latency(start)}–{present.latency(end)}"


def explain_alert_failure(slo: Any, runs: list, values: list[float | None]) -> list[str]:
    """Lines for a failed alert-score check *slo* over *runs* (with their measured *values*)."""
    from ...monitoring.alerts import incidents, run_alerts, score

    failing = next((i for i, v in enumerate(values) if not slo.met_by(math.nan if v is None else v)), 0)
    result = runs[failing]
    monitoring = result.scenario.monitoring
    selector = slo.metric.split(".")[1]
    if monitoring is None or not monitoring.rules:
        return ["your design has no alert rules (monitoring.rules): nothing pages"]
    names = _names(monitoring, selector)
    if not names:
        return [f"none of your alert rules is named {selector!r} or has the label severity: {selector}"]
    alerts = run_alerts(result, monitoring)
    faults = incidents(result)
    _, detections = score(alerts, faults, monitoring.detection_grace, names)
    lines = [f"run {failing + 1} (seed {result.seed}): {slo.metric} = "
             f"{present.metric_value(slo.metric.rsplit('.', 1)[-1], values[failing])}; the {selector!r} alerts "
             f"({', '.join(names) or 'none'}) on its incidents:"]
    for row in detections[detections["alert"] == "all"].itertuples(index=False):
        found = ("missed" if math.isnan(row.detected_at)
                 else f"detected after {present.latency(row.time_to_detect)}")
        lines.append(f"  {row.kind} on {row.target} at {_when(row.start, row.end)}: {found}")
    fired = alerts[alerts["firing"].notna() & alerts["alert"].isin(names)]
    windows = [(float(r.start), float(r.end) + monitoring.detection_grace) for r in faults.itertuples(index=False)]
    false = [r for r in fired.itertuples(index=False)
             if not any(a - 1e-9 <= r.firing <= b + 1e-9 for a, b in windows)]
    if false:
        shown = ", ".join(f"{r.alert} at {present.latency(r.firing)}" for r in false[:MAX_LISTED])
        more = f" and {len(false) - MAX_LISTED} more" if len(false) > MAX_LISTED else ""
        lines.append(f"  fired with no incident: {shown}{more}")
    return lines
