"""What a resize of a sharded store moves: keys and traffic, per placement strategy.

:func:`reshard_report` compares the placement of keys ``0..keys-1`` with ``n_from``
shards and with ``n_to`` shards under each strategy of
:mod:`simulator.balancing.hashing`, and reports the fraction of keys that change shard
(each of which must be copied, and is a cache miss on the new shard) next to the ideal
a consistent scheme can reach, ``|n_to − n_from| / max(n_from, n_to)``, and the exact
mod-N figure. With a key popularity (Zipf ranks, as workloads draw them) it also
reports the share of *traffic* whose shard changes: moving the few hot keys matters more
than moving many cold ones.
"""

from __future__ import annotations

from typing import Any, Sequence

from .balancing import STRATEGIES, make_strategy
from .theory import consistent_keys_moved, mod_n_keys_moved


def reshard_report(n_from: int, n_to: int, keys: int = 100_000, strategies: Sequence[str] | None = None,
                   popularity: Sequence[float] | None = None, virtual_nodes: int = 100) -> list[dict[str, Any]]:
    """One row per strategy: ``strategy``, ``keys_moved``, ``traffic_moved`` (with *popularity*), ``ideal``.

    *popularity* (if given) weighs key ``i`` by ``popularity[i]`` and its length overrides
    *keys*. ``range`` shards the key space ``0..keys-1`` in contiguous ranges.
    """
    if popularity is not None:
        keys = len(popularity)
    names = list(strategies or STRATEGIES)
    unknown = [n for n in names if n not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategy {unknown[0]!r} (expected one of: {', '.join(STRATEGIES)})")
    rows = []
    for name in names:
        knobs: dict[str, Any] = {"range": {"key_space": keys}, "consistent": {"virtual_nodes": virtual_nodes}}.get(
            name, {})
        before = make_strategy(name, n_from, **knobs).shard
        after = make_strategy(name, n_to, **knobs).shard
        moved = [before(k) != after(k) for k in range(keys)]
        row: dict[str, Any] = {"strategy": name, "keys_moved": sum(moved) / keys,
                               "ideal": consistent_keys_moved(n_from, n_to)}
        if name == "mod_n":
            row["exact"] = mod_n_keys_moved(n_from, n_to)
        if popularity is not None:
            total = float(sum(popularity))
            row["traffic_moved"] = sum(p for p, m in zip(popularity, moved) if m) / total if total else 0.0
        rows.append(row)
    return rows
