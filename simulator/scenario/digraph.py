"""The two graph questions every scenario check asks, answered without networkx.

Importing networkx takes longer than the rest of ``sdsim validate`` together, and most
designs have no loop of calls. The checks ask :func:`has_cycle` first and import networkx
only for a graph that has one (to find and name its loops); which components a workload
reaches is a plain walk (:func:`descendants`). A graph here is its edges: ``(a, b)`` pairs
of hashable nodes, or a successor mapping ``{a: [b, ...]}``.
"""

from __future__ import annotations

from typing import Hashable, Iterable, Mapping

_END = object()


def successors(edges: Iterable[tuple[Hashable, Hashable]]) -> dict[Hashable, list[Hashable]]:
    """``{node: [its successors]}`` from ``(a, b)`` edge pairs (a node without outgoing edges is absent)."""
    out: dict[Hashable, list[Hashable]] = {}
    for a, b in edges:
        out.setdefault(a, []).append(b)
    return out


def has_cycle(edges: Iterable[tuple[Hashable, Hashable]]) -> bool:
    """Whether the directed graph of *edges* has a cycle (an edge from a node to itself is one)."""
    succ = successors(edges)
    done: set[Hashable] = set()
    for root in succ:
        if root in done:
            continue
        on_path = {root}
        stack = [(root, iter(succ.get(root, ())))]
        while stack:  # depth first, iteratively: a long chain of calls needs no deep recursion
            node, children = stack[-1]
            child = next(children, _END)
            if child is _END:
                stack.pop()
                on_path.discard(node)
                done.add(node)
            elif child in on_path:
                return True
            elif child not in done:
                on_path.add(child)
                stack.append((child, iter(succ.get(child, ()))))
    return False


def descendants(succ: Mapping[Hashable, Iterable[Hashable]], start: Hashable) -> set[Hashable]:
    """Every node reachable from *start* along *succ*, *start* itself left out (as
    ``networkx.descendants``)."""
    seen: set[Hashable] = set()
    stack = [start]
    while stack:
        for child in succ.get(stack.pop(), ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    seen.discard(start)
    return seen
