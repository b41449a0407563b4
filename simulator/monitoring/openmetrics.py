"""A scrape as text: the OpenMetrics exposition of every series over time, and one scrape as Prometheus text.

:func:`render` follows OpenMetrics 1.0 (``application/openmetrics-text; version=1.0.0``):
per family ``# TYPE``, ``# UNIT`` (when the name ends in a unit), ``# HELP``, then its
samples, families never interleaved; within a family one label set after another, each
label set's points in time order, a histogram point's ``_bucket`` lines (``le`` increasing,
``+Inf`` last), ``_count`` and ``_sum`` together; a timestamp on every sample, in Unix
seconds, simulated time plus the scrape's ``epoch_s``; ``# EOF`` last. This is the input of
``promtool tsdb create-blocks-from openmetrics FILE DIR`` (backfilling a Prometheus TSDB).

:func:`exposition` is one scrape (default: the last) in the Prometheus text format 0.0.4
without timestamps, what a ``/metrics`` endpoint serves and ``promtool check metrics`` reads.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .series import Histogram

if TYPE_CHECKING:
    from .scrape import Scrape

__all__ = ["CONTENT_TYPE", "exposition", "render", "write"]

CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def _escape(value: str, help_text: bool = False) -> str:
    value = value.replace("\\", "\\\\").replace("\n", "\\n")
    return value if help_text else value.replace('"', '\\"')


def _labels(pairs) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}" if pairs else ""


def _number(value) -> str:
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() and abs(value) < 2 ** 53 else repr(value)


def _points(series, index: int):
    """``(sample name, labels, value)`` of one series at scrape *index*."""
    fam = series.family
    if not isinstance(series, Histogram):
        yield fam.sample_names()[0], series.labels, series.values[index]
        return
    bucket, count, total = fam.sample_names()
    for j, le in enumerate([*(repr(float(b)) for b in series.bounds), "+Inf"]):
        yield bucket, (*series.labels, ("le", le)), series.buckets[index, j]
    yield count, series.labels, series.count[index]
    yield total, series.labels, series.sum[index]


def render(scrape: "Scrape", indices: Sequence[int] | None = None) -> str:
    """The OpenMetrics text of every series of *scrape* at every scrape time, or at the scrape *indices*
    (module docstring)."""
    lines = []
    indices = range(scrape.times.size) if indices is None else indices
    stamps = [(i, f"{scrape.epoch_s + scrape.times[i]:.3f}") for i in indices]
    for fam, members in scrape.families():
        lines.append(f"# TYPE {fam.name} {fam.type}")
        if fam.unit:
            lines.append(f"# UNIT {fam.name} {fam.unit}")
        lines.append(f"# HELP {fam.name} {_escape(fam.help, help_text=True)}")
        for series in members:
            for i, stamp in stamps:
                lines += [f"{name}{_labels(labels)} {_number(value)} {stamp}" for name, labels, value
                          in _points(series, i)]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def write(scrape: "Scrape", path) -> Path:
    """Write :func:`render` of *scrape* to *path* (UTF-8); returns the path."""
    path = Path(path)
    path.write_text(render(scrape), encoding="utf-8")
    return path


def exposition(scrape: "Scrape", index: int = -1) -> str:
    """Scrape *index* (default: the last) as Prometheus text format 0.0.4, no timestamps."""
    lines = []
    for fam, members in scrape.families():
        exposed = fam.sample_names()[0] if fam.type == "counter" else fam.name
        lines.append(f"# HELP {exposed} {_escape(fam.help, help_text=True)}")
        lines.append(f"# TYPE {exposed} {fam.type}")
        for series in members:
            lines += [f"{name}{_labels(labels)} {_number(value)}" for name, labels, value in _points(series, index)]
    return "\n".join(lines) + "\n"
