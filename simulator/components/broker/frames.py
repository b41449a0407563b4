"""A broker's per-group and per-topic numbers after a run, as DataFrames with names.

The runtime records them in the component's record tables ``groups`` and ``topics``
(numbers only, groups and topics by index); these functions put the names back::

    from simulator.components.broker.frames import groups, topics
    groups(result, "bus")      # one row per (topic, group): produced, processed, lost, lag, latency, ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def groups(result, component: str) -> "pd.DataFrame":
    """One row per group of broker *component*: its counts, end state, lag and latency (:mod:`.ledger`)."""
    spec = result.scenario.components[component]
    frame = result.components[component].table("groups")
    keys = spec.group_keys()
    codes = frame.pop("group").astype(int)
    frame.insert(0, "group", [keys[c][1] for c in codes])
    frame.insert(0, "topic", [keys[c][0] for c in codes])
    counts = [c for c in frame.columns if c not in ("topic", "group") and not c.startswith(("lag_seconds", "latency"))]
    return frame.astype({c: int for c in counts})


def topics(result, component: str) -> "pd.DataFrame":
    """One row per topic of broker *component*: produced, rejected (by reason), lost unread, stored at the end."""
    names = list(result.scenario.components[component].topics)
    frame = result.components[component].table("topics")
    codes = frame.pop("topic").astype(int)
    frame.insert(0, "topic", [names[c] for c in codes])
    return frame.astype({c: int for c in frame.columns if c != "topic"})


def lag(result, component: str) -> "pd.DataFrame":
    """Every group's lag each ``sample_interval``: time, topic, group, lag (messages), lag_seconds, stored."""
    keys = result.scenario.components[component].group_keys()
    frame = result.components[component].table("consumer_lag")
    codes = frame.pop("group").astype(int)
    frame.insert(1, "group", [keys[c][1] for c in codes])
    frame.insert(1, "topic", [keys[c][0] for c in codes])
    return frame


def partition_lag(result, component: str) -> "pd.DataFrame":
    """Each group's lag per partition each ``sample_interval`` (topics of at most
    :data:`~.runtime.PARTITION_LAG_MAX` partitions): time, topic, group, partition, lag, lag_seconds."""
    keys = result.scenario.components[component].group_keys()
    frame = result.components[component].table("partition_lag")
    codes = frame.pop("group").astype(int)
    frame.insert(1, "group", [keys[c][1] for c in codes])
    frame.insert(1, "topic", [keys[c][0] for c in codes])
    return frame.astype({"partition": int, "lag": int})
