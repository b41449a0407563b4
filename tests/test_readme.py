"""The README's commands are the real ones: CI runs the test command, and this runs the run command."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_command(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- {marker} -->\s*```sh\n(.+?)\n```", text, re.S)
    assert match, f"README has no {marker} block"
    return match.group(1).strip()


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci/run").read_text().splitlines()
    assert readme_command("test-command") in ci


@pytest.mark.slow
def test_readme_run_command_works_in_a_fresh_copy(tmp_path):
    """Copy the tracked files (what a clone has), run the README command verbatim there."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    if not files:
        pytest.skip("not a git checkout")
    for name in files:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)
    done = subprocess.run(["bash", "-c", readme_command("run-command")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "gateway" in done.stdout and "p99" in done.stdout


def test_readme_scaling_example_is_a_valid_design_that_runs():
    """The README's scaling block (components + faults) validates and runs with a workload around it."""
    import yaml

    from simulator import Scenario, check_scenario, simulate

    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- scaling-example -->\s*```yaml\n(.+?)\n```", text, re.S)
    assert match, "README has no scaling-example block"
    body = yaml.safe_load(match.group(1))
    for fault in body["faults"]:  # the README's times fit a 10 min run; squeeze them into 60 s
        fault.update(at="20s", **{"for": "10s"})
    doc = {"name": "readme-scaling", "duration": "60s", "warmup": "5s", **body,
           "workload": [{"name": "users", "entry": "lb", "operation": "get", "keys": "zipf(s=1.0, n=1000)",
                         "arrivals": {"kind": "poisson", "rate": "50/s"}}]}
    path = ROOT / "tests" / ".readme-scaling.yaml"
    try:
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        scenario, _ = check_scenario(path)
    finally:
        path.unlink(missing_ok=True)
    assert isinstance(scenario, Scenario)
    summary = simulate(scenario).summary()
    assert summary["requests"]["ok"] > 0
    assert summary["components"]["cache"]["hit_ratio"] > 0
