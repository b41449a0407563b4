"""The pytest entry point for students and CI: labs/classroom/test_lab.py turns a grade into tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "assets" / "labs" / "mini"


def run_pytest(folder: Path) -> subprocess.CompletedProcess:
    shutil.copy(ROOT / "labs" / "classroom" / "test_lab.py", folder / "test_lab.py")
    env = {**os.environ, "SDSIM_LAB": str(MINI)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "test_lab.py")],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def test_solution_passes_every_check_as_a_test(tmp_path):
    shutil.copytree(MINI / "solution", tmp_path / "sub")
    done = run_pytest(tmp_path / "sub")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "6 passed" in done.stdout


def test_starter_failures_show_the_feedback(tmp_path):
    shutil.copytree(MINI / "starter", tmp_path / "sub")
    done = run_pytest(tmp_path / "sub")
    assert done.returncode == 1
    assert "3 failed, 3 passed" in done.stdout and "bottleneck: web" in done.stdout
