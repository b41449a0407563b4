"""Placement: where keys land when a key space is spread over nodes by hashing (golden §4).

Keys have uniformly distributed hashes; consistent-hashing rings have ``v`` uniformly
hashed points per node.
"""

from __future__ import annotations

import math

from ..arguments import integer as _integer


def ring_share_cv(nodes: int, virtual_nodes: int) -> float:
    """Coefficient of variation of one node's share of a consistent-hashing ring.

    With ``n`` nodes of ``v`` uniformly hashed points each, the ``n v`` points cut the
    ring into spacings that are jointly Dirichlet(1, ..., 1); a node's share is the sum
    of ``v`` of them, ``Beta(v, (n - 1) v)``, with mean ``1/n`` and
    ``CV = sqrt((n - 1) / (n v + 1))`` (golden G4.1: 0.9045, 0.2985, 0.0948, 0.0300 at
    ``n = 10`` and ``v = 1, 10, 100, 1000``).

    Args:
        nodes: Number of nodes ``n`` (>= 1).
        virtual_nodes: Points per node ``v`` (>= 1).
    """
    n, v = _integer("nodes", nodes, 1), _integer("virtual_nodes", virtual_nodes, 1)
    return math.sqrt((n - 1) / (n * v + 1))


def mod_n_keys_moved(n_from: int, n_to: int) -> float:
    """Fraction of keys that change node under ``hash mod n`` when ``n_from`` nodes become ``n_to``.

    A key with uniformly distributed hash ``h`` stays iff ``h mod n_from == h mod n_to``.
    Over one period ``L = lcm(n_from, n_to)`` that holds for exactly ``min(n_from, n_to)``
    residues (one per common value, by the Chinese remainder theorem), so the fraction
    moved is ``1 - min / lcm``: 10/11 for 10 -> 11 (golden G4.2), 1/2 for 10 -> 20.

    Args:
        n_from: Node count before (>= 1).
        n_to: Node count after (>= 1).
    """
    a, b = _integer("n_from", n_from, 1), _integer("n_to", n_to, 1)
    return 1.0 - min(a, b) / math.lcm(a, b)


def consistent_keys_moved(n_from: int, n_to: int) -> float:
    """Fraction of keys an ideal consistent hash moves when ``n_from`` nodes become ``n_to``.

    Only the keys the added nodes take (or the removed nodes held) move:
    ``|n_to - n_from| / max(n_from, n_to)``, the minimum any balanced placement can
    achieve: 1/11 for 10 -> 11 and 1/6 for 10 -> 12 (golden G4.2). Rings, jump hash and
    Maglev achieve it on average.

    Args:
        n_from: Node count before (>= 1).
        n_to: Node count after (>= 1).
    """
    a, b = _integer("n_from", n_from, 1), _integer("n_to", n_to, 1)
    return abs(b - a) / max(a, b)
