"""The package as a user gets it: a built wheel, installed non-editable, used from outside the checkout.

The wheel is built from a copy of the checkout and installed with ``pip --target`` into
an empty folder; the dependencies come from this environment. Everything then runs from a
temporary working directory with only that folder on ``PYTHONPATH``, so the checkout's
``labs/``, ``simulator/`` and ``docs`` cannot be found by accident (the test asserts that
the imported package is the installed one). What a class needs must work there: the labs
are listed, a lab starts with its README and the reference sheets, the reference
solutions grade 100 and a starter grades low.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A folder holding the installed (non-editable) package."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info",
                                                                "__pycache__", ".pytest_cache", "out", "runs"))
    # built as pip builds it for a user: in an isolated environment with the pyproject's build backend
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"),
                            str(source)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = list((work / "dist").glob("sdsim-*.whl"))
    assert len(wheels) == 1, wheels
    target = work / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    str(wheels[0])], check=True, capture_output=True)
    return target


def sdsim(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SDSIM_LABS", "PYTHONPATH")}
    env["PYTHONPATH"] = str(installed)
    return subprocess.run([sys.executable, "-m", "simulator.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_the_installed_package_is_the_one_used(installed, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(installed)}
    out = subprocess.run([sys.executable, "-c", "import simulator; print(simulator.__file__)"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(out).is_relative_to(installed)


def test_labs_are_listed_and_started_from_any_folder(installed, tmp_path):
    listed = sdsim(installed, tmp_path, "labs", "list")
    assert listed.returncode == 0, listed.stderr
    assert "lab1-decomposition" in listed.stdout and "lab2-load-balancing" in listed.stdout
    started = sdsim(installed, tmp_path, "labs", "start", "lab1-decomposition", "my-lab1")
    assert started.returncode == 0, started.stderr
    mine = tmp_path / "my-lab1"
    assert {"design.yaml", "answers.yaml", "README.md", "reference"} <= {p.name for p in mine.iterdir()}
    assert (mine / "reference" / "golden.md").stat().st_size > 1000
    assert not (mine / "solution").exists()
    docs = sdsim(installed, tmp_path, "docs", "typical-numbers")
    assert docs.returncode == 0 and "Typical numbers" in docs.stdout


@pytest.mark.parametrize("lab", ["lab1-decomposition", "lab2-load-balancing", "lab3-event-driven", "lab4-production"])
def test_reference_solutions_grade_100_and_starters_low_outside_the_checkout(installed, tmp_path, lab):
    solution = tmp_path / "solution"
    shutil.copytree(ROOT / "labs" / lab / "solution", solution)
    graded = sdsim(installed, tmp_path, "grade", lab, str(solution), "--json")
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    report = json.loads(graded.stdout)
    assert report["score"] == report["total"] == 100
    assert sdsim(installed, tmp_path, "labs", "start", lab, "mine").returncode == 0
    starter = sdsim(installed, tmp_path / "mine", "grade", lab, ".", "--json")
    assert starter.returncode == 1, starter.stderr[-3000:]
    assert json.loads(starter.stdout)["score"] <= 30
