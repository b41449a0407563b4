"""Commands that run no simulation: the ``schema`` of scenario files, ``reshard`` arithmetic, ``docs`` sheets."""

# No postponed annotations here: typer reads every command's signature at each start, and would
# evaluate string annotations twice (10 ms of `sdsim --help`; simulator/cli/startup.py).

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import console
from .edge import Exit
from .options import JsonOpt, ParamOpt, SetOpt, load, writable

__all__ = ["DOC_SHEETS", "docs", "reshard", "schema"]

MAX_KEYS = 10_000_000
"""The largest key space ``reshard`` places key by key (``--keys`` or a scenario's workload)."""
MAX_SHARDS = 10_000
"""The most shards ``--from``/``--to`` take: as many instances as one component may have."""


def schema(
    output: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the JSON Schema of scenario files (for editor completion and checks)."""
    from ..scenario.schema import scenario_schema_text

    writable(output, folder=False)
    text = scenario_schema_text()
    if output is None:
        sys.stdout.write(text)
    else:
        from ..artifacts.files import write_text

        output.parent.mkdir(parents=True, exist_ok=True)
        write_text(output, text)


def reshard(
    scenario: Annotated[Optional[Path], typer.Argument(help="A scenario with a sharded database (optional).",
                                                       exists=True, dir_okay=False)] = None,
    component: Annotated[Optional[str], typer.Option("--component", "-c", help="The sharded database in SCENARIO "
                                                     "(default: the only one).")] = None,
    n_from: Annotated[Optional[int], typer.Option("--from", min=1, max=MAX_SHARDS,
                                                  help="Shards before (default: the scenario's).")] = None,
    n_to: Annotated[Optional[int], typer.Option("--to", min=1, max=MAX_SHARDS, help="Shards after (default: one more).")] = None,
    keys: Annotated[int, typer.Option("--keys", min=1, max=MAX_KEYS,
                                      help="Key space 0..keys-1 (default: the scenario's).")] = 100_000,
    strategy: Annotated[Optional[list[str]], typer.Option("--strategy", help="Only these strategies (repeatable).")] = None,
    virtual_nodes: Annotated[int, typer.Option("--virtual-nodes", min=1, max=10_000,
                                               help="Ring points per shard (consistent).")] = 100,
    json_: JsonOpt = False,
    param: ParamOpt = None,
    set_: SetOpt = None,
) -> None:
    """How many keys (and how much traffic) move when a sharded store grows or shrinks, per strategy."""
    from ..balancing.hashing import MAX_RING_POINTS
    from ..components.database.spec import DatabaseSpec
    from ..resharding import reshard_report

    popularity = None
    if scenario is not None:
        spec = load(scenario, param, set_)
        sharded = {name: c for name, c in spec.components.items() if isinstance(c, DatabaseSpec) and c.sharding}
        if component is None and len(sharded) == 1:
            component = next(iter(sharded))
        if component not in sharded:
            console.err.print(f"{scenario}: no sharded database {component!r} (sharded: "
                              f"{', '.join(sharded) or 'none'}); use --component", highlight=False)
            raise typer.Exit(Exit.USAGE)
        db = sharded[component]
        n_from = n_from or db.sharding.shards
        virtual_nodes = db.sharding.virtual_nodes
        strategy = strategy or [db.sharding.strategy]
        zipf = [w.keys for w in spec.workload if w.keys is not None]
        if zipf:
            key_spec = max(zipf, key=lambda k: k.n)
            if key_spec.n > MAX_KEYS:  # uniform(n) may name up to 10^18 keys: each would be placed
                console.err.print(f"{scenario}: the workload's key space has {key_spec.n:,} keys; reshard places at "
                                  f"most {MAX_KEYS:,} one by one (use --set to give a smaller one)", highlight=False)
                raise typer.Exit(Exit.USAGE)
            keys = key_spec.n
            s = getattr(key_spec, "s", 0.0)
            popularity = [1.0 / (i + 1) ** s for i in range(keys)]
    if n_from is None:
        raise typer.BadParameter("give --from (or a scenario with a sharded database)", param_hint="--from")
    n_to = n_to or n_from + 1
    if (strategy is None or "consistent" in strategy) and max(n_from, n_to) * virtual_nodes > MAX_RING_POINTS:
        raise typer.BadParameter(f"a ring of {max(n_from, n_to):,} shards × {virtual_nodes:,} virtual nodes holds more "
                                 f"than {MAX_RING_POINTS:,} points: use fewer virtual nodes (or --strategy without "
                                 "consistent)", param_hint="--virtual-nodes")
    try:
        rows = reshard_report(n_from, n_to, keys, strategy, popularity, virtual_nodes)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--strategy")
    if json_:
        sys.stdout.write(json.dumps({"from": n_from, "to": n_to, "keys": keys, "rows": rows}, indent=2) + "\n")
        return
    from rich.table import Table

    table = Table(title=f"resharding {n_from} → {n_to} shards over {keys:,} keys", title_justify="left")
    for col in ("strategy", "keys moved", "traffic moved", "ideal (consistent)", "exact (mod N)"):
        table.add_column(col, justify="left" if col == "strategy" else "right")
    pct = lambda v: "–" if v is None else f"{100 * v:.2f}%"
    for row in rows:
        table.add_row(row["strategy"], pct(row["keys_moved"]), pct(row.get("traffic_moved")), pct(row["ideal"]),
                      pct(row.get("exact")))
    console.out.print(table)


DOC_SHEETS = {"golden": "closed-form and published results (cited as golden §3, golden G3.4)",
              "typical-numbers": "sourced latencies, service times and prices (cited as Typical numbers §10.2)"}


def docs(
    name: Annotated[Optional[str], typer.Argument(help="golden or typical-numbers (none: list them).")] = None,
    path: Annotated[bool, typer.Option("--path", help="Print where the sheet is installed instead.")] = False,
) -> None:
    """Print a reference sheet the scenarios and labs cite (plain markdown on stdout)."""
    from importlib.resources import files

    if name is None:
        sys.stdout.write("".join(f"{key:16} {about}\n" for key, about in DOC_SHEETS.items()))
        return
    if name not in DOC_SHEETS:
        console.err.print(f"unknown sheet {name!r}; valid names: {', '.join(DOC_SHEETS)}", markup=False,
                          highlight=False)
        raise typer.Exit(Exit.USAGE)
    sheet = files("simulator") / "docs" / f"{name}.md"
    sys.stdout.write(f"{sheet}\n" if path else sheet.read_text(encoding="utf-8"))
