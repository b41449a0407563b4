"""Every notebook in notebooks/ runs, is committed without outputs, and matches its py:percent source.

The ``.py`` file (jupytext py:percent) is the source of truth; the ``.ipynb`` beside it is
generated from it and stripped:

    jupytext --to ipynb notebooks/NAME.py && nbstripout notebooks/NAME.ipynb

Execution uses nbclient with the ``python3`` kernel, the notebook's folder as working
directory, a per-cell timeout and an overall budget per notebook (each cell may only use
what is left of it), so a hanging or slow notebook fails the suite instead of stalling it.
"""

from __future__ import annotations

import re
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


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_executes(path: Path):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    current: dict[str, int] = {"index": -1}
    deadline = [float("inf")]

    def cell_timeout(cell) -> float:
        """The per-cell limit, cut down to what is left of the notebook's budget."""
        return max(1.0, min(CELL_TIMEOUT_S, deadline[0] - time.monotonic()))

    def on_cell_start(cell, cell_index, **_):
        if deadline[0] == float("inf"):  # the budget starts with the first cell, after the kernel is up
            deadline[0] = time.monotonic() + NOTEBOOK_BUDGET_S
        current["index"] = cell_index

    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, timeout_func=cell_timeout, startup_timeout=60,
                            kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                            on_cell_start=on_cell_start)
    started = time.monotonic()
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name}: cell {current['index']} raised\n{_ANSI.sub('', str(exc))}", pytrace=False)
    except (CellTimeoutError, TimeoutError) as exc:
        source = nb.cells[current["index"]].source if current["index"] >= 0 else "(kernel start)"
        pytest.fail(f"{path.name}: over time at cell {current['index']} (limits: {CELL_TIMEOUT_S} s per cell, "
                    f"{NOTEBOOK_BUDGET_S} s per notebook; ran {time.monotonic() - started:.0f} s)\n"
                    f"------------------\n{source}\n------------------\n{exc}", pytrace=False)
    except DeadKernelError as exc:
        pytest.fail(f"{path.name}: the kernel died at cell {current['index']}: {exc}", pytrace=False)
    errors = _widget_errors(nb)
    assert not errors, f"{path.name}: a widget output shows an error:\n" + "\n\n".join(errors)
