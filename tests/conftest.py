"""Shared pytest plumbing.

Golden statistical tests (tests/test_golden.py) report the z-score of every comparison
they make; the rows are kept on the pytest config and printed as a table at the end of
the run ("golden z-scores"), pass or fail, so drifting estimates are visible before they
cross the 3-SE band.
"""

from __future__ import annotations

import pytest

GOLDEN_ZSCORES = pytest.StashKey[list]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[GOLDEN_ZSCORES] = []


@pytest.fixture
def golden_zscores(request: pytest.FixtureRequest) -> list:
    """The session-wide list of golden comparison rows (dicts) shown in the final summary."""
    return request.config.stash[GOLDEN_ZSCORES]


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    rows = config.stash.get(GOLDEN_ZSCORES, [])
    if not rows:
        return
    terminalreporter.section("golden z-scores (|z| <= 3 required)")
    width = max(len(r["label"]) for r in rows)
    terminalreporter.write_line(f"{'comparison':<{width}}  {'R':>3}  {'estimate':>11}  {'SE':>9}  "
                                f"{'exact':>11}  {'SE/exact':>8}  {'z':>6}")
    for r in rows:
        flag = "" if abs(r["z"]) <= 3 else "  <-- outside 3 SE"
        terminalreporter.write_line(
            f"{r['label']:<{width}}  {r['R']:>3}  {r['estimate']:>11.6g}  {r['se']:>9.3g}  "
            f"{r['exact']:>11.6g}  {r['rel_se']:>8.2%}  {r['z']:>+6.2f}{flag}")
