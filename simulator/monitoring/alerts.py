"""Alert rules evaluated over a run's scrape, with Prometheus' state machine, and scored against its faults.

**Evaluation.** Every rule is evaluated at ``k · evaluation_interval`` (``k ≥ 1``, up to the
run's end) over the scrapes made by then (:mod:`.evaluate`). Each element of the result is
an active alert, identified by its labels. Prometheus' states: *inactive* → *pending* at
the first evaluation that finds it active → *firing* at the first evaluation at least
``for`` after that (at once with ``for: 0``) → *resolved* at the first evaluation that no
longer finds it (a pending alert that disappears is dropped without firing). Each episode
is one row of :func:`evaluate_rules`: ``pending``, ``firing`` (NaN if it never fired) and
``resolved`` (NaN while still active at the end).

**Scoring** (:func:`score`). Each fault of the run is an *incident* over ``[start, end]``,
unless the scenario says ``incident: false`` for it (:func:`incidents`).
A firing (an episode that fired) *detects* an incident when it starts firing in
``[start, end + detection_grace]``; its time to detect is ``firing − start``. Per alert and
over all of them (``alert == "all"``): incidents detected (recall = detected / incidents),
firings that detected some incident (precision = matched / firings), and *false alerts*,
firings that detected none. Recall is NaN without incidents, precision NaN without firings.

An observer after the run, like the scrape: no cost while it runs.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from ..scenario.slo import ALERT_SCORE_METRICS
from .evaluate import Samples, evaluate
from .promql import metric_names, parse
from .series import family

if TYPE_CHECKING:
    import pandas as pd

    from .scrape import Scrape
    from .spec import Monitoring

__all__ = ["ALERT_COLUMNS", "DETECTION_COLUMNS", "SCORE_COLUMNS", "evaluate_rules", "evaluation_times", "incidents",
           "labels_text", "score"]

ALERT_COLUMNS = ["alert", "severity", "labels", "pending", "firing", "resolved"]
DETECTION_COLUMNS = ["incident", "kind", "target", "start", "end", "alert", "detected_at", "time_to_detect"]
SCORE_COLUMNS = ["alert", *ALERT_SCORE_METRICS]
_EPS = 1e-9


def evaluation_times(interval: float, end_time: float) -> np.ndarray:
    """``k · interval`` for every ``k ≥ 1`` up to *end_time*."""
    return interval * np.arange(1, int(math.floor(end_time / interval + _EPS)) + 1)


def labels_text(labels) -> str:
    """``{workload="users"}`` (empty braces for no labels), as Prometheus prints an alert's labels."""
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels if k != "__name__") + "}"


def evaluate_rules(scrape: "Scrape", monitoring: "Monitoring", end_time: float) -> "pd.DataFrame":
    """One row per alert episode of every rule (module docstring): :data:`ALERT_COLUMNS`, ordered by rule,
    then ``pending``."""
    import pandas as pd

    samples = Samples.of(scrape)
    times = evaluation_times(monitoring.evaluation_interval, end_time)
    rows = []
    for rule in monitoring.rules:
        node = parse(rule.promql())
        absent = sorted(n for n in metric_names(node) if family(n).name in scrape.missing)
        if absent:  # a summary run scraped with other settings than it folded: these series do not exist
            warnings.warn(f"alert {rule.alert}: {', '.join(absent)} need full records, or a summary run scraped "
                          "with the scenario's own monitoring settings, so the rule never finds them",
                          RuntimeWarning, stacklevel=2)
        active: dict = {}  # labels → [pending, firing]
        episodes = []
        for t in times:
            now = evaluate(node, samples, float(t))
            for labels in now:
                key = tuple(p for p in labels if p[0] != "__name__")
                state = active.setdefault(key, [float(t), math.nan])
                if math.isnan(state[1]) and t - state[0] >= rule.for_ - _EPS:
                    state[1] = float(t)
            present = {tuple(p for p in labels if p[0] != "__name__") for labels in now}
            for key in [k for k in active if k not in present]:
                pending, firing = active.pop(key)
                episodes.append((key, pending, firing, float(t)))
        episodes += [(key, pending, firing, math.nan) for key, (pending, firing) in active.items()]
        for key, pending, firing, resolved in sorted(episodes, key=lambda e: e[1]):
            rows.append((rule.alert, rule.severity, labels_text(key), pending, firing, resolved))
    return pd.DataFrame(rows, columns=ALERT_COLUMNS)


def score(alerts: "pd.DataFrame", faults: "pd.DataFrame", grace: float, alert_names=None
          ) -> tuple["pd.DataFrame", "pd.DataFrame"]:
    """``(scores, detections)`` of *alerts* (:func:`evaluate_rules`) against the incidents *faults*
    (``Result.faults``) with *grace* (module docstring). *alert_names* are the rules to score (all of
    them by default, also those that never fired): one :data:`SCORE_COLUMNS` row each and ``all``;
    *detections* has per incident and alert (and ``all``) the first detecting firing
    (:data:`DETECTION_COLUMNS`; ``detected_at`` NaN when none did)."""
    import pandas as pd

    names = list(dict.fromkeys(alerts["alert"])) if alert_names is None else list(alert_names)
    fired = alerts[alerts["firing"].notna() & alerts["alert"].isin(names)]
    incidents = [(i, row.kind, row.target, float(row.start), float(row.end))
                 for i, row in enumerate(faults.itertuples(index=False))]
    detections, scores = [], []
    for name in [*names, "all"]:
        mine = fired if name == "all" else fired[fired["alert"] == name]
        starts = mine["firing"].to_numpy(dtype=float)
        matched = np.zeros(starts.size, dtype=bool)
        ttd = []
        for i, kind, target, start, end in incidents:
            inside = (starts >= start - _EPS) & (starts <= end + grace + _EPS)
            matched |= inside
            first = float(starts[inside].min()) if inside.any() else math.nan
            detections.append((i, kind, target, start, end, name, first, first - start))
            if inside.any():
                ttd.append(first - start)
        n, detected = len(incidents), len(ttd)
        scores.append((name, n, detected, detected / n if n else math.nan, int(starts.size), int(matched.sum()),
                       int((~matched).sum()), matched.sum() / starts.size if starts.size else math.nan,
                       float(np.mean(ttd)) if ttd else math.nan, float(np.max(ttd)) if ttd else math.nan))
    return pd.DataFrame(scores, columns=SCORE_COLUMNS), pd.DataFrame(detections, columns=DETECTION_COLUMNS)


def _monitoring(result, monitoring):
    if monitoring is None:
        from .spec import Monitoring

        monitoring = result.scenario.monitoring or Monitoring()
    return monitoring


def run_alerts(result, monitoring: "Monitoring | None" = None) -> "pd.DataFrame":
    """:func:`evaluate_rules` of *monitoring* (default: the scenario's section) over *result*'s scrape."""
    from .scrape import scrape

    monitoring = _monitoring(result, monitoring)
    return evaluate_rules(scrape(result, monitoring), monitoring, result.end_time)


def run_scores(result, monitoring: "Monitoring | None" = None, severity: str | None = None
               ) -> tuple["pd.DataFrame", "pd.DataFrame"]:
    """:func:`score` of *result*'s alerts against its faults; with *severity*, only the rules whose
    ``severity`` label is that (``page``): ``all`` is then over those."""
    monitoring = _monitoring(result, monitoring)
    names = [r.alert for r in monitoring.rules if severity is None or r.severity == severity]
    alerts = run_alerts(result, monitoring)
    return score(alerts, incidents(result), monitoring.detection_grace, names)


def incidents(result) -> "pd.DataFrame":
    """*result*'s faults that are incidents: ``Result.faults`` without those of the scenario's faults
    that say ``incident: false`` (a known background error rate, say), matched by kind, target and start."""
    faults = result.faults
    quiet = [f for f in result.scenario.faults if not f.incident]
    if not quiet or faults.empty:
        return faults
    keep = [not any(row.kind == f.kind and abs(row.start - f.at) <= _EPS
                    and getattr(f, "target", row.target) == row.target for f in quiet)
            for row in faults.itertuples(index=False)]
    return faults[keep].reset_index(drop=True)


SCORE_METRICS = tuple(SCORE_COLUMNS[1:])
"""What an objective can read of the scores: ``alerts.SELECTOR.METRIC`` (:func:`score_value`)."""


def summary_of(result) -> dict:
    """``Result.summary()["alerts"]`` when the scenario has rules: the scores (:data:`SCORE_METRICS`) of
    ``all`` rules, ``by_severity`` (each ``severity`` label's rules together) and ``by_alert``."""
    monitoring = result.scenario.monitoring
    alerts = run_alerts(result, monitoring)

    def row(names):
        scores = score(alerts, incidents(result), monitoring.detection_grace, names)[0]
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in scores.iloc[-1].to_dict().items() if k != "alert"}

    names = [r.alert for r in monitoring.rules]
    severities = sorted({r.severity for r in monitoring.rules if r.severity})
    scores = score(alerts, incidents(result), monitoring.detection_grace, names)[0]
    by_alert = {}
    for entry in scores.to_dict("records")[:-1]:
        name = entry.pop("alert")
        by_alert[name] = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in entry.items()}
    return {"all": row(names), "by_severity": {s: row([r.alert for r in monitoring.rules if r.severity == s])
                                               for s in severities}, "by_alert": by_alert}


def score_value(summary, selector: str, metric: str) -> float | None:
    """``alerts.SELECTOR.METRIC`` of a summary: SELECTOR is ``all``, a ``severity`` or an alert's name.
    ValueError naming the valid ones when the run has no such rules or metric."""
    from ..errors import unknown_name

    if metric not in SCORE_METRICS:
        raise ValueError(unknown_name("alert score", metric, SCORE_METRICS))
    section = summary.get("alerts")
    if section is None:
        raise ValueError("the run has no alert rules (monitoring.rules) to score")
    found = (section["all"] if selector == "all" else section["by_severity"].get(selector)
             or section["by_alert"].get(selector))
    if found is None:
        raise ValueError(unknown_name("alert selector", selector, ["all", *section["by_severity"],
                                                                   *section["by_alert"]]))
    value = found[metric]
    return None if value is None else float(value)
