"""The formatting vocabulary's forms for charts, the notebook explorer, sweep tables and lab budgets.

Expectations are written out by hand from each form's rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from simulator import present

PACKAGE = Path(__file__).resolve().parents[1] / "simulator"


def test_no_percentage_is_formatted_outside_present():
    """A ratio reads as a percentage through :func:`simulator.present.percent` (digits, the medium's
    typography, the missing text), never through the format type ``%`` (``f"{x:.1%}"``) elsewhere."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "present.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FormattedValue) and isinstance(node.format_spec, ast.JoinedStr):
                spec = "".join(v.value for v in node.format_spec.values if isinstance(v, ast.Constant))
                if spec.endswith("%"):
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {{{ast.unparse(node.value)}:{spec}}}")
    assert not found, found


@pytest.mark.parametrize("seconds, text", [
    (0.0123, "12.3 ms"), (0.0000394, "39.4 µs"), (7.71, "7.71 s"),
    (242.8, "243 s"), (1234.0, "1,230 s"),  # seconds however long (the default reads 4.05 min, 20.6 min)
    (0.9996, "1 s"), (0.00099984, "1 ms"),  # rounded first: never "1e+03 ms"
    (None, "–"), (float("nan"), "–"),
])
def test_a_chart_label_keeps_seconds(seconds, text):
    assert present.latency(seconds, up_to="s") == text


def test_the_default_latency_goes_up_to_hours_and_up_to_is_checked():
    assert present.latency(242.8) == "4.05 min" and present.latency(7200) == "2 h"
    with pytest.raises(ValueError, match="up_to is 'h' or 's'"):
        present.latency(1.0, up_to="min")


@pytest.mark.parametrize("seconds, text", [
    (0.0123, "12.3 ms"), (0.00004, "0.0 ms"), (8.2044, "8,204.4 ms"), (9.99994, "9,999.9 ms"), (10.0, "10.0 s"),
    (42.0, "42.0 s"), (1234.5, "1,234.5 s"), (None, "n/a"), (float("nan"), "n/a"),
])
def test_a_fixed_latency_keeps_one_decimal_and_switches_to_seconds_at_ten(seconds, text):
    assert present.fixed_latency(seconds, present.NOTEBOOK) == text


def test_the_notebook_medium_reads_n_a_and_groups_rates():
    assert present.percent(0.5, 2, present.NOTEBOOK) == "50.00%" and present.percent(None, 2, present.NOTEBOOK) == "n/a"
    assert present.rate(1234.5, 2, present.NOTEBOOK) == "1,234.50 req/s"
    assert present.fixed_latency(None) == "–"  # the terminal's missing text
    assert present.metric_value("availability", None, present.NOTEBOOK) == "n/a"
    assert present.percent(0.123, 1, present.CHART) == "12.3 %"


def test_money_takes_its_decimals():
    assert present.money(0.125) == "$0.12/h" and present.money(0.125, 3) == "$0.125/h" and present.money(None, 3) == "–"


@pytest.mark.parametrize("mean, half, decimals, text", [
    (1261.2, 219.4, None, "1,261 ± 219"),        # three significant digits, the half-width to the unit
    (8.1634, 0.1149, None, "8.16 ± 0.11"),      # to the mean's two decimals
    (100.0, 0.0, 3, "100.000 ± 0.000"),         # fixed decimals (availability in %)
    (12.0, 0.0451, None, "12.0 ± 0.0451"),      # finer than the mean's last digit: its own digits
    (12.0, None, None, "12.0"),                 # one replication: no interval
    (12.0, float("nan"), None, "12.0"),
    (None, 1.0, None, "–"),
])
def test_a_mean_and_its_half_width(mean, half, decimals, text):
    assert present.plus_minus(mean, half, decimals) == text


@pytest.mark.parametrize("rate, label", [("2000/s", "poisson · 2,000 req/s"), ("33.3333/s", "poisson · 33.3 req/s"),
                                         ("0.5/s", "poisson · 0.5 req/s")])
def test_the_architecture_diagram_writes_a_rate_in_plain_digits(rate, label):
    """Three significant digits, thousands separated, never scientific notation (it once read 2e+03 req/s)."""
    from helpers import scenario, service

    from simulator.viz import plot_topology

    fig = plot_topology(scenario({"svc": service()}, rate=rate))
    assert label in [t.get_text() for ax in fig.axes for t in ax.texts]
