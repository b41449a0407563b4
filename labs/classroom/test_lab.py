"""Your lab grade as pytest tests: one test per check (copy this file next to your submission).

    pytest test_lab.py -q

Set LAB below (or the SDSIM_LAB environment variable) to the lab you are working on.
"""

import os
from pathlib import Path

import pytest

from simulator.labs import grade_submission

LAB = os.environ.get("SDSIM_LAB", "lab1-decomposition")
REPORT = grade_submission(LAB, Path(__file__).parent)


def test_submission_can_be_read():
    assert not REPORT.malformed, "\n".join(REPORT.problems)


@pytest.mark.parametrize("check", REPORT.checks, ids=[c.id for c in REPORT.checks])
def test_check(check):
    detail = f"{check.title}: {check.score:g}/{check.points:g} points\n" + "\n".join(check.feedback)
    assert check.passed, detail
