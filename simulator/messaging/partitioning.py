"""Keyed partitioning as Kafka's default partitioner does it: ``toPositive(murmur2(key)) % partitions``.

A message with a key always goes to the same partition (so messages of one key keep their
order: ordering is per partition only); changing the partition count remaps most keys
(12 → 13 partitions moves 12/13 of them, golden G8.6). sdsim's keys are integers (a
request's ``keys:`` draw); they are serialized as their decimal text, as a producer with a
``StringSerializer`` would send them, so ``partition_for(42, 12)`` is the partition a Java
producer picks for the key ``"42"``.
"""

from __future__ import annotations

__all__ = ["key_bytes", "murmur2", "partition_for"]

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2`` (MurmurHash2, seed ``0x9747b28c``) as a signed 32-bit int."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    whole = length & ~3
    for i in range(0, whole, 4):
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    tail = length & 3
    if tail == 3:
        h ^= data[whole + 2] << 16
    if tail >= 2:
        h ^= data[whole + 1] << 8
    if tail >= 1:
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def key_bytes(key: int | str | bytes) -> bytes:
    """The bytes a ``StringSerializer`` would send for *key* (bytes pass through)."""
    if isinstance(key, bytes):
        return key
    return str(key).encode("utf-8")


def partition_for(key: int | str | bytes, partitions: int) -> int:
    """The partition of a keyed message among *partitions*: ``(murmur2(key) & 0x7fffffff) % partitions``."""
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, not {partitions}")
    return (murmur2(key_bytes(key)) & 0x7FFFFFFF) % partitions
