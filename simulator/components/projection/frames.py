"""A projection's reads after a run, as DataFrames: the stale-read curve P(stale | age).

The runtime records one row per read in the record table ``reads`` (full records only);
these functions read it::

    from simulator.components.projection.frames import reads, stale_curve
    reads(result, "trade_view")                                   # time, key, age, stale, own, behind, wait
    stale_curve(result, "trade_view", [0, 0.002, 0.007, 0.015, 0.03])   # P(stale) per age bin

Golden G11.1 predicts the curve of one M/M/1 projector: ``exp(-(mu - lambda) age)`` for reads of
one's own write (:func:`simulator.theory.stale_read_probability`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import pandas as pd


def reads(result, component: str) -> "pd.DataFrame":
    """One row per read of projection *component*: when it was served, its key, the age of the key's
    last acknowledged write (NaN: never written), whether it was stale and stale for its own write,
    how far behind (NaN: fresh) and the consistency token's wait."""
    frame = result.components[component].table("reads")
    return frame.astype({"key": int, "stale": bool, "own": bool})


def stale_curve(result, component: str, edges: Sequence[float]) -> "pd.DataFrame":
    """P(stale | age): the reads of *component* whose age lies in ``[edges[i], edges[i+1])``, per bin:
    ``age_from``, ``age_to``, ``reads``, ``stale``, ``stale_ratio`` (NaN for an empty bin)."""
    import pandas as pd

    frame = reads(result, component)
    bins = pd.cut(frame["age"], list(edges), right=False)
    grouped = frame.groupby(bins, observed=False)["stale"].agg(["size", "sum"])
    out = pd.DataFrame({"age_from": [b.left for b in grouped.index], "age_to": [b.right for b in grouped.index],
                        "reads": grouped["size"].to_numpy(), "stale": grouped["sum"].astype(int).to_numpy()})
    out["stale_ratio"] = out["stale"] / out["reads"].where(out["reads"] > 0)
    return out
