"""The ``sdsim`` command line (typer). Commands are thin: load, call the package, print.

Results go to stdout (a table, or with ``--json`` one JSON document and nothing else);
diagnostics go to stderr. Exit codes: 0 ok, 1 an SLO failed, 2 usage error (click's
own), 3 invalid input (a scenario, a lab submission, an output path), 4 an internal
error (a bug), 130 interrupted; :mod:`.edge` maps every error to its code, in one place.

One module per concern:

==================  ======================================================================
``app.py``          the typer app: every command, listed once, in ``--help`` order
``edge.py``         errors → messages and exit codes; :func:`main`, the console script
``console.py``      the two consoles (results, diagnostics) and the progress bars
``options.py``      options several commands share; loading a scenario; output paths checked
``scenarios.py``    ``run``, ``validate``, ``graph``: one scenario
``experiments.py``  ``compare``, ``sweep``, ``knee``, ``plan``: a design run many times
``labs.py``         ``labs list``, ``labs start``, ``grade``
``reference.py``    ``schema``, ``reshard``, ``docs``: no simulation
``startup.py``      the garbage collector paused while the command line starts
==================  ======================================================================

A command that writes an output path checks it before any work (exit 3 naming the path),
and its folder appears whole (:mod:`simulator.artifacts.folders`).
"""

from __future__ import annotations

from . import experiments
from .app import app, labs_app
from .console import err, out
from .edge import Exit, main
from .experiments import compare, knee, plan, sweep
from .labs import grade, labs_list, labs_start
from .options import JsonOpt, ParamOpt, SetOpt, SloOpt
from .reference import DOC_SHEETS, docs, reshard, schema
from .scenarios import graph, run, validate

_checks_cells = experiments._checks_cells  # private, but tests/test_papercuts.py imports it from here

__all__ = ["DOC_SHEETS", "Exit", "JsonOpt", "ParamOpt", "SetOpt", "SloOpt", "app", "compare", "docs", "err", "grade",
           "graph", "knee", "labs_app", "labs_list", "labs_start", "main", "out", "plan", "reshard", "run", "schema",
           "sweep", "validate"]
