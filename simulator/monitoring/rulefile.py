"""The ``monitoring.rules`` as a Prometheus rule file, the input of ``promtool check rules``.

One group named after the scenario, evaluated every ``evaluation_interval``::

    groups:
    - name: <scenario>
      interval: 15s
      rules:
      - alert: BuyFastBurn
        expr: <the PromQL the run evaluated; a burn_rate shorthand expanded>
        for: 2m            # only when not 0
        labels: {severity: page}
        annotations: {...}

The expressions use the exported metric names (:mod:`.series`), so the file applies as is
to a Prometheus that loaded the run's ``metrics.om``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .promql import format_duration

if TYPE_CHECKING:
    from .spec import Monitoring

__all__ = ["render", "rule_groups", "write"]


def rule_groups(monitoring: "Monitoring", name: str) -> dict[str, Any]:
    """The rule file as data: ``{"groups": [{"name", "interval", "rules": [...]}]}``."""
    rules = []
    for rule in monitoring.rules:
        entry: dict[str, Any] = {"alert": rule.alert, "expr": rule.promql()}
        if rule.for_ > 0:
            entry["for"] = format_duration(rule.for_)
        if rule.labels:
            entry["labels"] = dict(rule.labels)
        if rule.annotations:
            entry["annotations"] = dict(rule.annotations)
        rules.append(entry)
    return {"groups": [{"name": name, "interval": format_duration(monitoring.evaluation_interval),
                        "rules": rules}]}


def render(monitoring: "Monitoring", name: str) -> str:
    """:func:`rule_groups` as YAML text."""
    import yaml

    return yaml.safe_dump(rule_groups(monitoring, name), sort_keys=False, width=10_000, allow_unicode=True)


def write(monitoring: "Monitoring", name: str, path) -> Path:
    """Write :func:`render` to *path*; returns the path."""
    path = Path(path)
    path.write_text(render(monitoring, name), encoding="utf-8")
    return path
