"""Stochastic comparisons with a 3-standard-error band, reported in the golden z-score table.

The pattern of ``tests/test_golden.py`` (golden.md §0) for tests that use the session's
``golden_zscores`` fixture: an estimate passes when it lies within 3 SE of the exact
value, and the band must not be vacuous (SE < 5 % of the exact value by default). Every
comparison adds a row to the table printed at the end of the run, pass or fail.
"""

from __future__ import annotations

import math

import numpy as np

MAX_REL_SE = 0.05


def record_row(golden_zscores, label, R, estimate, se, exact) -> float:
    """Add one comparison to the z-score table; return its z."""
    z = (estimate - exact) / se if se > 0 else math.inf
    golden_zscores.append({"label": label, "R": R, "estimate": estimate, "se": se, "exact": exact,
                           "rel_se": se / abs(exact), "z": z})
    return z


def assert_replications_within_3se(golden_zscores, values, exact: float, label: str) -> None:
    """Grand mean of R >= 10 replications within 3 SE of *exact*; SE > 0 and < 5 % of *exact*."""
    values = np.asarray(values, dtype=float)
    assert values.size >= 10 and np.all(np.isfinite(values)), f"{label}: bad replications {values}"
    mean, se = float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))
    z = record_row(golden_zscores, label, values.size, mean, se, exact)
    detail = f"{label}: estimate {mean:.6g}, SE {se:.3g} (R={values.size}), exact {exact:.6g}, z = {z:+.2f}"
    assert se > 0, f"zero spread across replications: {detail}"
    assert se < MAX_REL_SE * abs(exact), f"vacuous band: {detail}"
    assert abs(mean - exact) <= 3 * se, f"outside the 3-SE band: {detail}"


def assert_known_se(golden_zscores, estimate: float, se: float, exact: float, label: str,
                    max_rel_se: float = MAX_REL_SE) -> None:
    """*estimate* within 3 *se* (a standard error known from the model, e.g. Poisson) of *exact*."""
    z = record_row(golden_zscores, label, 1, estimate, se, exact)
    assert se < max_rel_se * abs(exact), f"vacuous band: {label}: SE {se:.3g} vs exact {exact:.6g}"
    assert abs(z) <= 3, f"outside the 3-SE band: {label}: estimate {estimate:.6g}, SE {se:.3g}, " \
                        f"exact {exact:.6g}, z = {z:+.2f}"


def assert_binomial_within_3se(golden_zscores, successes: int, trials: int, p: float, label: str,
                               max_rel_se: float = MAX_REL_SE) -> None:
    """successes/trials within 3 binomial SE (sqrt(p(1-p)/n), p the exact value) of p."""
    estimate, se = successes / trials, math.sqrt(p * (1 - p) / trials)
    z = record_row(golden_zscores, label, 1, estimate, se, p)
    detail = f"{label}: {successes}/{trials} = {estimate:.6g}, SE {se:.3g}, exact {p:.6g}, z = {z:+.2f}"
    assert se < max_rel_se * p, f"vacuous band: {detail}"
    assert abs(z) <= 3, f"outside the 3-SE band: {detail}"
