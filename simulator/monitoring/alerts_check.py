"""What loading refuses in ``monitoring.rules``: expressions outside the subset, or naming what no scrape has.

Pure (runs while a scenario loads). Each problem is ``(path, message)`` located by the
loader at the rule's ``expr`` (or ``burn_rate``) in the file: a parse error says at which
column of the expression it starts and what was expected; a metric, label, status,
workload or component that the scrape cannot have is named with the valid ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import unknown_name
from .promql import PromQLError, parse, selectors
from .series import FAMILIES

if TYPE_CHECKING:
    from .spec import Monitoring

__all__ = ["LABEL_NAMES", "SAMPLE_NAMES", "STATUSES", "check_rules"]

SAMPLE_NAMES = tuple(name for fam in FAMILIES for name in fam.sample_names())
"""Every sample name a scrape can have (``sdsim_client_requests_total``, ``…_bucket``, ...)."""
LABEL_NAMES = ("component", "operation", "workload", "zone", "status", "event", "le")
"""The labels a scraped series can carry (:data:`simulator.monitoring.scrape.LABELS`)."""
STATUSES = ("ok", "error", "timeout", "rejected")
"""Values of the ``status`` label."""


def check_rules(monitoring: "Monitoring", scenario: Any) -> list[tuple[tuple, str]]:
    """The problems of *monitoring*'s rules in *scenario* (module docstring)."""
    problems: list[tuple[tuple, str]] = []
    names = {"workload": [w.name for w in scenario.workload], "component": list(scenario.components)}
    seen: set[str] = set()
    for i, rule in enumerate(monitoring.rules):
        where = ("monitoring", "rules", i)
        if rule.alert in seen:
            problems.append(((*where, "alert"), f"alert {rule.alert!r} is defined twice; the scoring reports "
                             "per alert name: expected unique names"))
        seen.add(rule.alert)
        if rule.burn_rate is not None:
            br = rule.burn_rate
            for label in ("workload", "component"):
                given = getattr(br, label)
                if given is not None and given not in names[label]:
                    problems.append(((*where, "burn_rate", label), unknown_name(label, given, names[label])))
            workload = next((w for w in scenario.workload if w.name == br.workload), None)
            if workload is not None and br.operation is not None and br.operation not in workload.operations():
                problems.append(((*where, "burn_rate", "operation"),
                                 f"workload {workload.name!r} never sends it: "
                                 + unknown_name("operation", br.operation, list(workload.operations()))))
            continue
        try:
            node = parse(rule.expr)  # type: ignore[arg-type]
        except PromQLError as exc:
            problems.append(((*where, "expr"), f"{exc}"))
            continue
        if node.type != "vector":
            problems.append(((*where, "expr"), f"an alert's expr must give a vector (one alert per element), "
                             f"not a {node.type}: compare a selected series with a number, e.g. "
                             f"rate(sdsim_client_requests_total{{status=\"error\"}}[5m]) > 1"))
            continue
        for sel in selectors(node):
            if sel.metric not in SAMPLE_NAMES:
                problems.append(((*where, "expr"), unknown_name("metric", sel.metric, SAMPLE_NAMES)))
            for m in sel.matchers:
                if m.label not in LABEL_NAMES:
                    problems.append(((*where, "expr"), unknown_name("label", m.label, LABEL_NAMES)))
                elif m.op in ("=", "!=") and m.label == "status" and m.value not in STATUSES:
                    problems.append(((*where, "expr"), unknown_name("status", m.value, STATUSES,
                                                                    "statuses")))
                elif m.op == "=" and m.label in names and m.value not in names[m.label]:
                    problems.append(((*where, "expr"), unknown_name(m.label, m.value, names[m.label])))
    return problems
