"""Evaluating a PromQL-subset AST (:mod:`.promql`) over a scrape, at one evaluation time.

At evaluation time ``T`` only the scrapes at or before ``T`` exist (a rule never sees the
future). An **instant selector** yields each matching series' value at the last such
scrape. A **range selector** ``x[w]`` yields the samples in ``(T − w, T]`` and the value at
the last scrape at or before ``T − w`` (0 before the first scrape: every counter starts at
0 with the run). Over a range:

* ``increase`` is that difference, the counter's exact growth between the two scrapes
  (Prometheus extrapolates the first and last samples in the window to its edges; with
  scrapes at fixed times and no counter resets both read the same growth, up to the
  window's alignment to scrapes);
* ``rate`` is ``increase / w``;
* ``*_over_time`` aggregate the samples in the window (a series without one is dropped).

A vector is a dict ``{labels: value}`` (labels: sorted ``(name, value)`` pairs, the metric
name left out, as after any function in PromQL; a selector keeps its name so that
``x_bucket`` and ``x_count`` never match). Binary operators between vectors match elements
on equal label sets; division by zero gives ``±Inf`` or ``NaN`` as in Prometheus, and a
comparison with ``NaN`` is false.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .promql import Aggregate, Binary, Call, Node, Number, Selector, Unary
from .queries import histogram_quantile
from .series import Histogram

if TYPE_CHECKING:
    from .scrape import Scrape

__all__ = ["Samples", "evaluate"]

Labels = tuple[tuple[str, str], ...]


@dataclass
class Samples:
    """A scrape as flat samples: per sample name, the series' labels and values (one per scrape time)."""

    times: np.ndarray
    series: dict[str, list[tuple[Labels, np.ndarray]]] = field(default_factory=dict)

    @classmethod
    def of(cls, scrape: "Scrape") -> "Samples":
        out = cls(np.asarray(scrape.times, dtype=float))
        for fam, members in scrape.families():
            for s in members:
                if not isinstance(s, Histogram):
                    out.add(fam.sample_names()[0], s.labels, s.values)
                    continue
                bucket, count, total = fam.sample_names()
                for j, le in enumerate([*(repr(float(b)) for b in s.bounds), "+Inf"]):
                    out.add(bucket, tuple(sorted((*s.labels, ("le", le)))), s.buckets[:, j])
                out.add(count, s.labels, s.count)
                out.add(total, s.labels, s.sum)
        return out

    def add(self, name: str, labels: Labels, values) -> None:
        self.series.setdefault(name, []).append((labels, np.asarray(values, dtype=float)))

    def last_index(self, t: float) -> int:
        """Index of the last scrape at or before *t* (−1: none yet); scrape times carry milliseconds."""
        return int(np.searchsorted(self.times, t + 5e-4, side="right")) - 1


def _select(node: Selector, samples: Samples):
    for labels, values in samples.series.get(node.metric, ()):
        names = dict(labels)
        if all(m.matches(names.get(m.label, "")) for m in node.matchers):
            yield (("__name__", node.metric), *labels), values


def _range(node: Selector, samples: Samples, t: float):
    """``{labels: (before, window values)}`` of a range selector at *t* (module docstring)."""
    now, start = samples.last_index(t), samples.last_index(t - node.range)
    out = {}
    for labels, values in _select(node, samples):
        before = values[start] if start >= 0 else 0.0
        out[labels] = (before, values[start + 1:now + 1])
    return out


def _drop_name(labels: Labels) -> Labels:
    return tuple(p for p in labels if p[0] != "__name__")


def _divide(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b


_ARITHMETIC = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": _divide}
_COMPARE = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
            "<": lambda a, b: a < b, ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b}


def evaluate(node: Node, samples: Samples, t: float):
    """*node* at evaluation time *t*: a float (scalar) or a ``{labels: value}`` dict (vector)."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Selector):
        k = samples.last_index(t)
        return {} if k < 0 else {labels: float(values[k]) for labels, values in _select(node, samples)}
    if isinstance(node, Unary):
        value = evaluate(node.arg, samples, t)
        return -value if isinstance(value, float) else {k: -v for k, v in value.items()}
    if isinstance(node, Call):
        return _call(node, samples, t)
    if isinstance(node, Aggregate):
        return _aggregate(node, evaluate(node.arg, samples, t))
    return _binary(node, evaluate(node.left, samples, t), evaluate(node.right, samples, t))


def _call(node: Call, samples: Samples, t: float):
    name = node.function
    if name in ("rate", "increase", "avg_over_time", "max_over_time", "min_over_time"):
        window = node.args[0]
        out = {}
        for labels, (before, values) in _range(window, samples, t).items():
            key = _drop_name(labels)
            if name in ("rate", "increase"):
                grown = (values[-1] if values.size else before) - before
                out[key] = float(grown / window.range if name == "rate" else grown)
            elif values.size:
                out[key] = float({"avg_over_time": np.mean, "max_over_time": np.max,
                                  "min_over_time": np.min}[name](values))
        return out
    if name == "histogram_quantile":
        q, vector = evaluate(node.args[0], samples, t), evaluate(node.args[1], samples, t)
        groups: dict[Labels, list[tuple[float, float]]] = {}
        for labels, value in vector.items():
            rest = dict(_drop_name(labels))
            le = rest.pop("le", None)
            if le is not None:
                groups.setdefault(tuple(sorted(rest.items())), []).append((float(le), value))
        out = {}
        for labels, points in groups.items():
            points.sort()
            finite = [le for le, _ in points if math.isfinite(le)]
            if not finite or math.isfinite(points[-1][0]):
                continue  # Prometheus needs the +Inf bucket
            out[labels] = float(histogram_quantile(q, np.array(finite), np.array([[v for _, v in points]]))[0])
        return out
    vector = evaluate(node.args[0], samples, t)
    if name == "abs":
        return {_drop_name(k): abs(v) for k, v in vector.items()}
    floor = evaluate(node.args[1], samples, t)  # clamp_min
    return {_drop_name(k): max(v, floor) for k, v in vector.items()}


def _aggregate(node: Aggregate, vector: dict):
    groups: dict[Labels, list[float]] = {}
    for labels, value in vector.items():
        if node.by is not None:
            key = tuple(p for p in labels if p[0] in node.by)
        elif node.without is not None:
            key = tuple(p for p in labels if p[0] not in node.without and p[0] != "__name__")
        else:
            key = ()
        groups.setdefault(key, []).append(value)
    reduce = {"sum": sum, "avg": lambda v: sum(v) / len(v), "max": max, "min": min, "count": len}[node.op]
    return {key: float(reduce(values)) for key, values in groups.items()}


def _binary(node: Binary, left, right):
    op = node.op
    if op in ("and", "or", "unless"):  # matched on the labels without the metric name
        if op == "or":
            seen = {_drop_name(k) for k in left}
            return {**left, **{k: v for k, v in right.items() if _drop_name(k) not in seen}}
        other = {_drop_name(k) for k in right}
        return {k: v for k, v in left.items() if (_drop_name(k) in other) == (op == "and")}
    scalar_left, scalar_right = isinstance(left, float), isinstance(right, float)
    if op in _COMPARE:
        test = _COMPARE[op]
        if scalar_left and scalar_right:
            return float(test(left, right))
        if scalar_right:
            return {k: v for k, v in left.items() if test(v, right)}
        if scalar_left:
            return {k: v for k, v in right.items() if test(left, v)}
        right = {_drop_name(k): v for k, v in right.items()}
        return {k: v for k, v in left.items() if _drop_name(k) in right and test(v, right[_drop_name(k)])}
    apply = _ARITHMETIC[op]
    if scalar_left and scalar_right:
        return apply(left, right)
    if scalar_right:
        return {_drop_name(k): apply(v, right) for k, v in left.items()}
    if scalar_left:
        return {_drop_name(k): apply(left, v) for k, v in right.items()}
    right = {_drop_name(k): v for k, v in right.items()}
    return {_drop_name(k): apply(v, right[_drop_name(k)]) for k, v in left.items() if _drop_name(k) in right}
