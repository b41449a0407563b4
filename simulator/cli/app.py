"""The ``sdsim`` typer app: every command, listed once, in the order ``sdsim --help`` shows them."""

# No postponed annotations here: typer reads every command's signature at each start, and would
# evaluate string annotations twice (10 ms of `sdsim --help`; simulator/cli/startup.py).

from typing import Annotated

import typer

from . import console
from .edge import Edge, set_debug
from .experiments import compare, knee, plan, sweep
from .labs import grade, labs_list, labs_start
from .reference import docs, reshard, schema
from .scenarios import graph, run, validate

__all__ = ["app", "labs_app"]

app = typer.Typer(cls=Edge, no_args_is_help=True, rich_markup_mode="rich", pretty_exceptions_show_locals=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="sdsim — simulate system designs, measure latency, throughput and availability.")

for command in (run, compare, sweep, knee, plan, graph, validate, schema, reshard):
    app.command()(command)

labs_app = typer.Typer(no_args_is_help=True, help="Course labs: list them, start one.")
app.add_typer(labs_app, name="labs")
labs_app.command("list")(labs_list)
labs_app.command("start")(labs_start)

for command in (grade, docs):
    app.command()(command)


@app.callback(invoke_without_command=True)
def _root(version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
          debug: Annotated[bool, typer.Option("--debug", help="On an internal error (exit 4), show its traceback.")] = False,
          ) -> None:
    set_debug(debug)
    if version:
        from .. import __version__

        console.out.print(f"sdsim {__version__}")
        raise typer.Exit()
