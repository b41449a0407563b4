"""Alert rules of the ``monitoring:`` section, as pure data: a PromQL-subset ``expr`` or a burn-rate shorthand.

A rule is Prometheus' alerting rule: ``{alert: Name, expr: '<PromQL subset>', for: 2m,
labels: {severity: page}, annotations: {...}}`` (:mod:`.promql` is the subset). Or, instead
of ``expr``, ``burn_rate:`` — the SRE Workbook's multiwindow multi-burn-rate alert
(golden G17.1) on an SLO over the client requests of a ``workload`` (and ``operation``), or
the visits of a ``component``: the error ratio is non-``ok`` answers over all answers, the
burn rate that ratio over the error budget ``1 − objective``, and the rule fires when the
burn rate exceeds ``factor`` over the ``long`` window AND over the ``short`` one. Presets
(``preset: page`` / ``ticket``) are the Workbook's:

* ``page``: 14.4× over 1 h and 5 m (2 % of a 30-day budget in 1 h), or 6× over 6 h and 30 m
  (5 % in 6 h);
* ``ticket``: 1× over 3 d and 6 h (10 % in 3 d).

:meth:`AlertRule.promql` is the expression evaluated and exported (the shorthand expanded),
so the rules file that ``promtool check rules`` reads is exactly what the run evaluated.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from ..scenario.types import Duration, Name, PositiveDuration, Strict

__all__ = ["PRESETS", "AlertRule", "BurnRate", "budget_minutes", "budget_spent", "exhaustion_days"]

PRESETS = {"page": ((3600.0, 300.0, 14.4), (21600.0, 1800.0, 6.0)),
           "ticket": ((259200.0, 21600.0, 1.0),)}
"""The SRE Workbook's windows per preset: ``(long s, short s, burn factor)``, either pair fires (golden G17.1)."""
COMPLIANCE_DAYS = 30.0
"""The SLO's compliance window behind the presets' budget fractions (30 days rolling)."""


def budget_minutes(objective: float, days: float = COMPLIANCE_DAYS) -> float:
    """The error budget of an *objective* (percent: 99.9) over *days*, in minutes of total failure:
    99.9 % over 30 d → 43.2 min (golden G17.1)."""
    return (100.0 - objective) / 100.0 * days * 1440.0


def budget_spent(burn_rate: float, hours: float, days: float = COMPLIANCE_DAYS) -> float:
    """The fraction of a *days* budget that burning at *burn_rate* for *hours* spends: 14.4 for 1 h → 0.02."""
    return burn_rate * hours / (days * 24.0)


def exhaustion_days(burn_rate: float, days: float = COMPLIANCE_DAYS) -> float:
    """Days until a full budget is gone at *burn_rate*: 14.4 → 2.08 d (golden G17.1)."""
    return days / burn_rate


class BurnRate(Strict):
    """``burn_rate: {objective: 99.9, workload: traders, operation: buy, preset: page}`` or with
    ``long: 1h, short: 5m, factor: 14.4`` instead of the preset (module docstring)."""

    objective: float = Field(gt=0.0, lt=100.0, description="the SLO in percent of good answers (99.9)")
    workload: Name | None = Field(None, description="the SLI counts this workload's client requests")
    operation: Name | None = Field(None, description="... of this operation only")
    component: Name | None = Field(None, description="or: the SLI counts this component's visits")
    preset: Literal["page", "ticket"] | None = Field(None, description="the SRE Workbook's windows: page "
                                                     "(14.4x 1h&5m or 6x 6h&30m) or ticket (1x 3d&6h)")
    long: PositiveDuration | None = Field(None, description="the long window (with short and factor)")
    short: PositiveDuration | None = Field(None, description="the short window, shorter than long")
    factor: float | None = Field(None, gt=0.0, description="the burn rate both windows must exceed")

    @model_validator(mode="after")
    def _shape(self) -> "BurnRate":
        if self.objective < 50.0:
            raise ValueError(f"objective is a percentage of good answers, e.g. 99.9; {self.objective:g} % "
                             "is not an SLO (write 99.9, not 0.999)")
        if (self.workload is None) == (self.component is None):
            raise ValueError("name the requests the SLI counts: workload (client requests) or component "
                             "(its visits), exactly one")
        own = [k for k in ("long", "short", "factor") if getattr(self, k) is not None]
        if self.preset is not None and own:
            raise ValueError(f"preset {self.preset} sets the windows: drop {', '.join(own)} (or the preset)")
        if self.preset is None and len(own) < 3:
            raise ValueError("expected preset: page or ticket, or all of long, short and factor")
        if self.long is not None and self.short is not None and self.short >= self.long:
            from .promql import format_duration  # the PromQL module: loaded when a rule is written out

            raise ValueError(f"short ({format_duration(self.short)}) must be shorter than long "
                             f"({format_duration(self.long)})")
        return self

    @property
    def budget(self) -> float:
        """The error budget ``1 − objective`` as a ratio (rounded: 99.9 → 0.001 exactly)."""
        return round(1.0 - self.objective / 100.0, 12)

    def windows(self) -> tuple[tuple[float, float, float], ...]:
        """``(long, short, factor)`` pairs, any of which fires the rule."""
        if self.preset is not None:
            return PRESETS[self.preset]
        return ((self.long, self.short, self.factor),)  # type: ignore[return-value]

    def selector(self, errors: bool) -> str:
        """The counter the SLI reads, with ``status!="ok"`` for its errors."""
        if self.component is not None:
            metric, pairs = "sdsim_requests_total", [("component", self.component)]
        else:
            metric, pairs = "sdsim_client_requests_total", [("workload", self.workload)]
        if self.operation is not None:
            pairs.append(("operation", self.operation))
        matchers = [f'{k}="{v}"' for k, v in pairs] + (['status!="ok"'] if errors else [])
        return f"{metric}{{{','.join(matchers)}}}"

    def error_ratio(self, window: float) -> str:
        """PromQL of the error ratio over *window*."""
        from .promql import format_duration

        w = format_duration(window)
        return f"sum(rate({self.selector(True)}[{w}])) / sum(rate({self.selector(False)}[{w}]))"

    def promql(self) -> str:
        """The multiwindow rule: ``(long ratio > f·budget and short ratio > f·budget) or ...``."""
        pairs = []
        for long, short, factor in self.windows():
            threshold = f"{factor * self.budget:.10g}"
            pairs.append(f"({self.error_ratio(long)} > {threshold} and {self.error_ratio(short)} > {threshold})")
        return " or ".join(pairs)


class AlertRule(Strict):
    """``{alert: HighErrors, expr: '...', for: 2m, labels: {severity: page}}``, or ``burn_rate:`` instead of
    ``expr`` (module docstring)."""

    alert: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="the alert's name (Prometheus: "
                       "letters, digits, underscores)")
    expr: str | None = Field(None, description="a PromQL-subset expression; each element of its result is "
                             "an active alert")
    burn_rate: BurnRate | None = Field(None, description="the SRE Workbook's multiwindow burn-rate rule "
                                       "instead of expr")
    for_: Duration = Field(0.0, alias="for", description="how long the condition must hold before the alert "
                           "fires (pending until then)")
    labels: dict[str, str] = Field(default_factory=dict, description="labels of the alert (severity: page)")
    annotations: dict[str, str] = Field(default_factory=dict, description="annotations (summary, runbook_url)")

    @model_validator(mode="after")
    def _one_condition(self) -> "AlertRule":
        if (self.expr is None) == (self.burn_rate is None):
            raise ValueError("expected exactly one of expr (a PromQL-subset expression) and burn_rate")
        for name in self.labels:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name.startswith("__"):
                raise ValueError(f"label name {name!r} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)")
        return self

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")

    def promql(self) -> str:
        """The expression evaluated and exported."""
        return self.expr if self.expr is not None else self.burn_rate.promql()  # type: ignore[union-attr]
