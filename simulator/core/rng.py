"""Independent, reproducible random streams.

Every consumer of randomness (a component's work, a workload's arrivals, a network link)
gets its own numpy ``Generator`` derived from ``(seed, stream name)`` through
``SeedSequence``. Streams do not depend on creation order, so changing one part of a
design leaves the randomness of every other part untouched (common random numbers), and
the same seed gives the same numbers on any machine.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream_key(name: str) -> tuple[int, ...]:
    """A stable integer key for *name* (Python's ``hash`` is salted per process; this is not)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))


def stream(seed: int, name: str) -> np.random.Generator:
    """The random generator for stream *name* under *seed*."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=stream_key(name))))


def replication_seeds(base_seed: int, count: int) -> list[int]:
    """*count* independent run seeds derived from *base_seed* (the first is *base_seed* itself).

    Derived seeds come from ``SeedSequence(base_seed).spawn``, so they are reproducible on
    any machine and statistically independent of each other.
    """
    children = np.random.SeedSequence(base_seed).spawn(max(count - 1, 0))
    return [base_seed] + [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]
