"""Execute one notebook in this process and report how it went: the worker behind
``tests/test_notebooks.py``, which runs it as a subprocess under a hard wall-clock limit.

    python tests/notebook_runner.py NOTEBOOK RESULT.json EXECUTED.ipynb PROGRESS CELL_TIMEOUT_S BUDGET_S

nbclient enforces the per-cell timeout (cut down to what is left of the notebook's budget,
which starts with the first cell). PROGRESS gets one line per event, flushed at once, so
the parent can say where a run got stuck even if it has to kill this process: ``kernel
PID`` when the kernel is up, ``cell N`` when cell N starts. RESULT.json says ``ok`` or why
not (``error``, ``timeout``, ``dead``) and at which cell; EXECUTED.ipynb is the notebook with
its outputs (widget state included).
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def main(notebook: str, result_path: str, executed_path: str, progress_path: str, cell_timeout: str,
         budget: str) -> int:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(notebook)
    cell_limit, budget_s = float(cell_timeout), float(budget)
    nb = nbformat.read(path, as_version=4)
    progress = open(progress_path, "a", buffering=1, encoding="utf-8")  # line-buffered: each line lands at once
    current = {"index": -1}
    deadline = [float("inf")]

    def cell_timeout_of(cell) -> float:
        """The per-cell limit, cut down to what is left of the notebook's budget."""
        return max(1.0, min(cell_limit, deadline[0] - time.monotonic()))

    def on_notebook_start(**_):
        pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
        if pid:
            progress.write(f"kernel {pid}\n")

    def on_cell_start(cell, cell_index, **_):
        if deadline[0] == float("inf"):  # the budget starts with the first cell, after the kernel is up
            deadline[0] = time.monotonic() + budget_s
        current["index"] = cell_index
        progress.write(f"cell {cell_index}\n")

    client = NotebookClient(nb, timeout=int(cell_limit), timeout_func=cell_timeout_of, startup_timeout=60,
                            kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                            on_notebook_start=on_notebook_start, on_cell_start=on_cell_start)
    result = {"status": "ok", "cell": None, "message": ""}
    try:
        client.execute()
    except CellExecutionError as exc:
        result = {"status": "error", "cell": current["index"], "message": _ANSI.sub("", str(exc))}
    except (CellTimeoutError, TimeoutError) as exc:
        result = {"status": "timeout", "cell": current["index"], "message": str(exc)}
    except DeadKernelError as exc:
        result = {"status": "dead", "cell": current["index"], "message": str(exc)}
    nbformat.write(nb, executed_path)
    Path(result_path).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
