"""Every notebook in notebooks/ runs, is committed without outputs, and matches its py:percent source.

The ``.py`` file (jupytext py:percent) is the source of truth; the ``.ipynb`` beside it is
generated from it and stripped:

    jupytext --to ipynb notebooks/NAME.py && nbstripout notebooks/NAME.ipynb

Execution uses nbclient with the ``python3`` kernel, the notebook's folder as working
directory, a per-cell timeout and an overall budget per notebook (each cell may only use
what is left of it), so a hanging or slow notebook fails the suite instead of stalling it.
nbclient's timeouts do bound an idle kernel (a cell sleeping forever fails after its
limit: ``test_a_stuck_cell_fails_within_its_limit``), but they live inside nbclient and the
kernel client; so the notebook also runs in a subprocess (``tests/notebook_runner.py``)
under a hard wall-clock limit that kills it, and its kernel, whatever is stuck, and the
failure names the notebook and the cell (``test_a_stuck_run_is_killed_at_the_wall_clock_limit``).

ipykernel is pinned below 7 (pyproject): with ipykernel 7 (shell messages on their own
thread) an execution stalled idle for 898 s after a slider cell, a hang others report too
(ipython/ipykernel#1438 says to pin ``ipykernel<7`` if 7 breaks you; microsoft/vscode-jupyter
#17228).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import jupytext  # the dev extra installs these (nbformat and nbclient come with nbmake)
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
SOURCES = sorted(NOTEBOOKS_DIR.glob("*.py"))

CELL_TIMEOUT_S = 120  # one cell
NOTEBOOK_BUDGET_S = 180  # the whole notebook, kernel start excluded (that has its own 60 s limit)
KERNEL_START_S = 60  # nbclient's startup_timeout in notebook_runner.py
SLACK_S = 45  # kernel shutdown and writing the results, on top of the budget
RUNNER = Path(__file__).with_name("notebook_runner.py")
REGENERATE = "jupytext --to ipynb notebooks/{stem}.py && nbstripout notebooks/{stem}.ipynb"

# what nbstripout removes by default (besides outputs and execution counts)
STRIPPED_NOTEBOOK_KEYS = {"widgets", "signature"}
STRIPPED_CELL_KEYS = {"collapsed", "scrolled", "ExecuteTime", "execution", "heading_collapsed", "hidden"}

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def test_notebooks_exist_and_are_paired():
    assert NOTEBOOKS, "notebooks/ has no .ipynb"
    assert {p.stem for p in NOTEBOOKS} == {p.stem for p in SOURCES}, (
        "every notebooks/NAME.py needs its generated NAME.ipynb and vice versa; regenerate with "
        + REGENERATE.format(stem="NAME"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_stripped(path: Path):
    nb = nbformat.read(path, as_version=4)
    problems = [f"notebook metadata.{key}" for key in STRIPPED_NOTEBOOK_KEYS & set(nb.metadata)]
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            if cell.get("outputs"):
                problems.append(f"cell {index} has outputs")
            if cell.get("execution_count") is not None:
                problems.append(f"cell {index} has an execution count")
        problems += [f"cell {index} metadata.{key}" for key in STRIPPED_CELL_KEYS & set(cell.metadata)]
        if cell.get("id") != str(index):
            problems.append(f"cell {index} has id {cell.get('id')!r} (nbstripout numbers them 0, 1, ...)")
    assert not problems, (f"{path.name} is not stripped: {'; '.join(problems)}. Regenerate it: "
                          + REGENERATE.format(stem=path.stem))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_matches_its_source(path: Path):
    source = path.with_suffix(".py")
    assert source.exists(), f"{path.name} has no py:percent source {source.name}"
    expected = jupytext.read(source)
    actual = nbformat.read(path, as_version=4)

    def cells(nb) -> list[tuple[str, str, dict]]:
        return [(c.cell_type, c.source, dict(c.metadata)) for c in nb.cells]

    hint = f"{path.name} is out of date with {source.name}; regenerate it: " + REGENERATE.format(stem=path.stem)
    assert actual.metadata.get("kernelspec", {}).get("name") == "python3", "the notebook needs a python3 kernelspec"
    assert len(cells(actual)) == len(cells(expected)), hint
    for index, (got, want) in enumerate(zip(cells(actual), cells(expected))):
        assert got == want, f"{hint}\nfirst difference at cell {index}:\n  .ipynb: {got!r}\n  .py:    {want!r}"


def _widget_errors(nb) -> list[str]:
    """Tracebacks that ended up inside widget Output areas (explore() draws there)."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    errors = []
    for model in state.values():
        for output in model.get("state", {}).get("outputs", []) or []:
            if output.get("output_type") == "error":
                errors.append(_ANSI.sub("", "\n".join(output.get("traceback", []))))
    return errors


def _kill(pid: int, group: bool = False) -> None:
    try:
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_notebook(path: Path, work: Path, *, cell_timeout: float = CELL_TIMEOUT_S,
                 budget: float = NOTEBOOK_BUDGET_S, wall_clock: float | None = None):
    """Execute *path* in a subprocess; return ``(failure message or None, executed notebook or None)``.

    *wall_clock* (default: kernel start + budget + slack) is a hard limit on the whole run: past
    it the runner and its kernel are killed, and the message names the cell that was running.
    """
    import nbformat

    limit = wall_clock if wall_clock is not None else KERNEL_START_S + budget + SLACK_S
    result, executed, progress = work / "result.json", work / "executed.ipynb", work / "progress.txt"
    for f in (result, executed, progress):
        f.unlink(missing_ok=True)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(RUNNER), str(path), str(result), str(executed), str(progress),
                             str(cell_timeout), str(budget)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        events = progress.read_text().split() if progress.exists() else []
        for pid in [int(v) for k, v in zip(events[::2], events[1::2]) if k == "kernel"]:
            _kill(pid)
        _kill(proc.pid, group=True)
        proc.communicate()
        cells = [int(v) for k, v in zip(events[::2], events[1::2]) if k == "cell"]
        where = f"cell {cells[-1]}" if cells else "kernel start"
        nb = nbformat.read(path, as_version=4)
        source = nb.cells[cells[-1]].source if cells else ""
        return (f"{path.name}: still running after {time.monotonic() - started:.0f} s wall clock (hard limit "
                f"{limit:.0f} s: kernel start {KERNEL_START_S} s + notebook budget {budget:.0f} s + {SLACK_S} s); "
                f"stuck at {where}; killed it and its kernel\n------------------\n{source}\n------------------",
                None)
    if not result.exists():
        return f"{path.name}: the runner ended (exit {proc.returncode}) without a result:\n{output.decode()[-3000:]}", None
    outcome = json.loads(result.read_text())
    nb = nbformat.read(executed, as_version=4)
    index = outcome["cell"]
    source = nb.cells[index].source if index is not None and index >= 0 else "(kernel start)"
    if outcome["status"] == "error":
        return f"{path.name}: cell {index} raised\n{outcome['message']}", nb
    if outcome["status"] == "timeout":
        return (f"{path.name}: over time at cell {index} (limits: {cell_timeout:g} s per cell, {budget:g} s per "
                f"notebook; ran {time.monotonic() - started:.0f} s)\n------------------\n{source}\n"
                f"------------------\n{outcome['message']}"), nb
    if outcome["status"] == "dead":
        return f"{path.name}: the kernel died at cell {index}: {outcome['message']}", nb
    return None, nb


def _stuck_notebook(tmp_path: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                         nbformat.v4.new_code_cell("import time\ntime.sleep(1e6)  # stuck")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "stuck.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_stuck_cell_fails_within_its_limit(tmp_path):
    """nbclient's per-cell timeout bounds a kernel that sits busy and silent, and the failure
    names the notebook and the cell."""
    started = time.monotonic()
    failure, _ = run_notebook(_stuck_notebook(tmp_path), tmp_path, cell_timeout=3, budget=20)
    assert failure is not None and time.monotonic() - started < KERNEL_START_S + 30
    assert failure.startswith("stuck.ipynb: over time at cell 1") and "time.sleep(1e6)" in failure


def test_a_stuck_run_is_killed_at_the_wall_clock_limit(tmp_path):
    """Whatever hangs (here nbclient would wait its 300 s), the hard limit kills the run, and
    the message says which cell was running."""
    started = time.monotonic()
    failure, _ = run_notebook(_stuck_notebook(tmp_path), tmp_path, cell_timeout=300, budget=300, wall_clock=15)
    assert failure is not None and time.monotonic() - started < 40
    assert failure.startswith("stuck.ipynb: still running after") and "stuck at cell 1" in failure
    assert "time.sleep(1e6)" in failure


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_executes(path: Path, tmp_path: Path):
    failure, nb = run_notebook(path, tmp_path)
    if failure:
        pytest.fail(failure, pytrace=False)
    errors = _widget_errors(nb)
    assert not errors, f"{path.name}: a widget output shows an error:\n" + "\n\n".join(errors)
