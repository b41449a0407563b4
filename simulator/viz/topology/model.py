"""What a laid-out diagram is: boxes (:class:`Node`) placed in rows, and edge routes (:class:`Layout`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx


@dataclass
class Node:
    """One box of the layout: a component, a workload or (``dummy``) a waypoint of a long edge."""

    id: str
    row: int
    width: float
    height: float = 0.0
    x: float = 0.0
    y: float = 0.0  # centre
    dummy: bool = False
    right: float = 0.0  # room kept free on the right (a self-call's loop)
    lines: list[tuple[str, float, str]] = field(default_factory=list)  # (text, size, weight)


@dataclass
class Layout:
    """Result of :func:`layout`: nodes with centres and sizes, each edge's route, rows and tiers."""

    graph: nx.DiGraph
    nodes: dict[str, Node]
    rows: list[list[str]]  # node ids (dummies included) left to right
    row_y: list[float]
    row_h: list[float]
    routes: dict[tuple[str, str], list[str]]  # edge -> node ids from caller to callee (dummies between)
    back: set[tuple[str, str]]  # edges that go up (cycles' back edges and calls to an earlier tier)
    tiers: list[tuple[Any, list[int]]]  # (zone or marker, rows) top-down
