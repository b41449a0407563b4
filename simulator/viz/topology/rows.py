"""Layered rows (pure): tiers and call depth, barycenter ordering to reduce crossings, x placement.

Sugiyama-style: each node gets a row (its call depth inside its zone's tier), edges
spanning several rows pass through dummy waypoints, rows are reordered by barycenter sweeps
and x positions balanced over the neighbours with a minimum gap between boxes.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from .look import H_GAP
from .model import Node


def _layers(graph: nx.DiGraph, zone_order: list[str],
            stores: set[str] = frozenset()) -> tuple[dict[str, int], list[tuple[Any, list[int]]]]:
    """Row of every node and the tiers (groups of rows), top-down; *stores* (data stores that call
    nothing) sit on the bottom row of their tier."""
    workloads = [n for n, d in graph.nodes(data=True) if d.get("role") == "workload"]
    comps = [n for n, d in graph.nodes(data=True) if d.get("role") != "workload"]

    # 1. break cycles: depth-first from the workloads, then from anything left (declaration order)
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for root in workloads + comps:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(graph.successors(root)))]
        while stack:
            node, it = stack[-1]
            for nxt in it:
                if nxt == node:
                    continue
                if state.get(nxt) == 1:
                    back.add((node, nxt))
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(graph.successors(nxt))))
                    break
            else:
                state[node] = 2
                stack.pop()
    dag = nx.DiGraph()
    dag.add_nodes_from(graph.nodes)
    dag.add_edges_from((u, v) for u, v in graph.edges if u != v and (u, v) not in back)

    # 2. depth: longest path from the workloads (workloads 0, components at least 1)
    depth: dict[str, int] = {}
    for n in nx.topological_sort(dag):
        preds = [depth[p] + 1 for p in dag.predecessors(n)]
        depth[n] = 0 if n in workloads else max(preds + [1])

    # 3. tiers: workloads, then one per zone (components without zone form one unboxed tier)
    groups: dict[Any, list[str]] = {}
    for n in comps:
        groups.setdefault(graph.nodes[n].get("zone"), []).append(n)

    def tier_key(z: Any) -> tuple:
        ds = [depth[n] for n in groups[z]]
        declared = zone_order.index(z) if z in zone_order else len(zone_order)
        return (min(ds), sum(ds) / len(ds), declared, str(z))

    # tiers in call order: a tier goes below every tier that calls it (cycles broken by depth)
    between = {(graph.nodes[u].get("zone"), graph.nodes[v].get("zone")) for u, v in dag.edges
               if u not in workloads and graph.nodes[u].get("zone") != graph.nodes[v].get("zone")}
    left, ordered = set(groups), []
    while left:
        free = [z for z in left if not any((a, z) in between for a in left if a != z)]
        z = min(free or left, key=tier_key)
        ordered.append(z)
        left.remove(z)
    row: dict[str, int] = {w: 0 for w in workloads}
    tiers: list[tuple[Any, list[int]]] = []
    next_row = 0
    if workloads:
        tiers.append((_WORKLOADS, [0]))
        next_row = 1
    for z in ordered:
        members = groups[z]
        local = dag.subgraph(members)
        d: dict[str, int] = {}
        for n in nx.topological_sort(local):
            d[n] = max([d[p] + 1 for p in local.predecessors(n)] + [0])
        bottom = max(d.values())
        for n in members:
            if n in stores and local.out_degree(n) == 0:
                d[n] = bottom
        for n in members:
            row[n] = next_row + d[n]
        tiers.append((z, list(range(next_row, next_row + bottom + 1))))
        next_row += bottom + 1
    return row, tiers


_WORKLOADS = object()  # marker of the workloads' tier


def _crossings(rows: list[list[str]], links: dict[str, set[str]]) -> int:
    total = 0
    for upper, lower in zip(rows, rows[1:]):
        pos = {n: i for i, n in enumerate(lower)}
        segs = [(i, pos[m]) for i, n in enumerate(upper) for m in links[n] if m in pos]
        for a in range(len(segs)):
            for b in range(a + 1, len(segs)):
                (i1, j1), (i2, j2) = segs[a], segs[b]
                if (i1 - i2) * (j1 - j2) < 0:
                    total += 1
    return total


def _order(rows: list[list[str]], links: dict[str, set[str]], sweeps: int = 12) -> list[list[str]]:
    """Barycenter heuristic, alternating down and up sweeps; keeps the order with fewest crossings."""
    best = [r[:] for r in rows]
    best_c = _crossings(best, links)
    cur = [r[:] for r in rows]
    for s in range(sweeps):
        down = s % 2 == 0
        idx = range(1, len(cur)) if down else range(len(cur) - 2, -1, -1)
        for r in idx:
            ref = r - 1 if down else r + 1
            pos = {n: i for i, n in enumerate(cur[ref])}
            old = {n: i for i, n in enumerate(cur[r])}

            def bary(n: str) -> tuple[float, int]:
                ps = [pos[m] for m in links[n] if m in pos]
                return (sum(ps) / len(ps) if ps else old[n], old[n])

            cur[r] = sorted(cur[r], key=bary)
        c = _crossings(cur, links)
        if c < best_c:
            best, best_c = [r[:] for r in cur], c
    return best


def _isotonic(values: list[float], weights: list[float]) -> list[float]:
    """Least-squares non-decreasing fit (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, w in zip(values, weights):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    out: list[float] = []
    for m, _, c in blocks:
        out += [m] * c
    return out


def _place(rows: list[list[str]], nodes: dict[str, Node], links: dict[str, set[str]], iterations: int = 40) -> None:
    """x of every node: near the mean of its neighbours, boxes in row order at least H_GAP apart."""

    def gap(a: Node, b: Node) -> float:
        g = H_GAP * 0.6 if a.dummy and b.dummy else H_GAP
        return (a.width + b.width) / 2 + a.right + g

    def fit(row: list[str], desired: list[float]) -> None:
        offs = [0.0]
        for a, b in zip(row, row[1:]):
            offs.append(offs[-1] + gap(nodes[a], nodes[b]))
        weights = [0.5 if nodes[n].dummy else 1.0 for n in row]
        ys = _isotonic([d - o for d, o in zip(desired, offs)], weights)
        for n, y, o in zip(row, ys, offs):
            nodes[n].x = y + o

    for row in rows:  # compact start, centred on 0
        fit(row, [0.0] * len(row))
        shift = (nodes[row[0]].x + nodes[row[-1]].x) / 2
        for n in row:
            nodes[n].x -= shift
    order = list(range(len(rows)))
    for it in range(iterations):
        for r in (order if it % 2 == 0 else order[::-1]):
            desired = []
            for n in rows[r]:
                # waypoints of one long edge pull hard on each other: long edges run straight
                ws = [(nodes[m].x, 4.0 if nodes[n].dummy and nodes[m].dummy else 1.0) for m in links[n]]
                total = sum(w for _, w in ws)
                desired.append(sum(x * w for x, w in ws) / total if ws else nodes[n].x)
            fit(rows[r], desired)
