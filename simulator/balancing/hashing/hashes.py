"""The one key hash (SplitMix64 for integers, BLAKE2b for strings), jump hash and primality.

:func:`hash64` is stable across processes and machines (Python's ``hash`` is salted per
process, so it is never used); every ring, table and strategy in
:mod:`simulator.balancing.hashing` and every hash-based balancing policy hashes through it.
"""

from __future__ import annotations

import hashlib
import math

from ...arguments import integer as _count

MASK64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15  # SplitMix64's increment (the golden ratio in 64 bits)
RING_SPACE = 1 << 64  # hash64 values, and so ring positions, lie in [0, 2**64)


def _splitmix64(z: int) -> int:
    """SplitMix64 output for state ``z`` (Steele, Lea & Flood 2014; Vigna's splitmix64.c)."""
    z = (z + _GAMMA) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def _salt_mask(salt: int) -> int:
    """The 64-bit word XORed into integer inputs for ``salt`` (0 for the unsalted hash)."""
    if isinstance(salt, bool) or not isinstance(salt, int) or not 0 <= salt <= MASK64:
        raise ValueError(f"salt must be an integer in [0, 2**64), got {salt!r}")
    return _splitmix64(salt) if salt else 0


def _domain_mask(label: str, salt: int) -> int:
    """A salt word private to one use (ring points, maglev offsets, ...), so uses never align."""
    _salt_mask(salt)
    return hash64(f"{label}:{salt}")


def hash64(value: int | str, salt: int = 0) -> int:
    """A stable 64-bit hash of an integer or a string.

    * An integer ``x`` in ``[0, 2**64)`` hashes to the SplitMix64 output for state ``x``
      (so ``hash64(0) == 0xE220A8397B1DCDAF``, the generator's first output from seed 0).
      The function is a bijection on 64-bit words: distinct keys never collide.
    * A string hashes to its UTF-8 bytes' 8-byte BLAKE2b digest, read little-endian.

    Args:
        value: The key: an integer in ``[0, 2**64)`` or a string.
        salt: Selects one of a family of unrelated hash functions (an integer in
            ``[0, 2**64)``); 0 is the plain hash above. A non-zero salt XORs
            ``hash64(salt)`` into an integer key before mixing, and keys BLAKE2b for strings.

    Returns:
        An integer in ``[0, 2**64)``, identical on every machine and in every process.
    """
    if isinstance(value, str):
        mask = _salt_mask(salt)
        digest = hashlib.blake2b(value.encode("utf-8"), digest_size=8,
                                 key=mask.to_bytes(8, "little") if salt else b"").digest()
        return int.from_bytes(digest, "little")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MASK64:
        raise ValueError(f"hash64 takes a string or an integer in [0, 2**64), got {value!r}")
    return _splitmix64(value ^ _salt_mask(salt) if salt else value)


def jump_hash(key: int, buckets: int) -> int:
    """Lamping & Veach jump consistent hash, the canonical 64-bit LCG version (golden G4.3).

    Each step advances ``key = key * 2862933555777941757 + 1 (mod 2**64)`` and jumps to
    ``j = floor((b + 1) * 2**31 / ((key >> 33) + 1))``; the last bucket ``b < buckets``
    reached is the answer. Growing ``buckets`` from ``n`` to ``n + 1`` moves a key only
    to the new bucket ``n``, and does so for a fraction ``1/(n + 1)`` of keys.

    Args:
        key: A 64-bit key (an integer in ``[0, 2**64)``); hash it first if it is not
            already uniformly distributed.
        buckets: Number of buckets (>= 1).

    Returns:
        The bucket, in ``0..buckets-1``.
    """
    if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key <= MASK64:
        raise ValueError(f"jump_hash key must be an integer in [0, 2**64), got {key!r}")
    _count("buckets", buckets)
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & MASK64
        j = int((b + 1) * (2147483648.0 / float((key >> 33) + 1)))  # float division, as in C
    return b


def is_prime(n: int) -> bool:
    """Whether ``n`` is a prime number (deterministic trial division by 6k +/- 1)."""
    if n < 2:
        return False
    if n % 2 == 0 or n % 3 == 0:
        return n in (2, 3)
    for d in range(5, math.isqrt(n) + 1, 6):
        if n % d == 0 or n % (d + 2) == 0:
            return False
    return True
