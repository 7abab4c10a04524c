"""What LMDB and LevelDB share: records are (key, value) pairs walked in key order."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from operator import itemgetter

from .interface import Shard, StorageDamage

SAMPLE_RECORDS = 64
BATCH = 1024           # records per batch a reader yields, at most ...
BATCH_BYTES = 4 << 20  # ... and about this many bytes of values (sized from the last batch)
FIRST_BATCH = 16


def after(key: bytes) -> bytes:
    """The first possible key after `key` in memcmp order: where a walk goes on from."""
    return key + b"\x00"


def step_over(shard: Shard, found: tuple[str, bytes | None, bytes | None], last: bytes | None,
              at: bytes | None) -> tuple[str | None, bytes | None]:
    """Where a walk of `shard` goes after damage the format located (``damage`` capability:
    message, first key it covers, key to resume from), given the last key read (or the key
    the walk started from): (message to report, or None when the damage lies past the
    shard, which the next shard reports; key to resume from, or None to stop)."""
    message, first, resume = found
    if shard.stop is not None and first is not None and first >= shard.stop:
        return None, None
    floor = last if last is not None else at
    if resume is None or (floor is not None and resume <= floor) or \
            (shard.stop is not None and resume >= shard.stop):
        resume = None
    return message, resume


def sample_encoding(pairs: Iterable[tuple[bytes, bytes]]) -> str:
    from ..decode.datum import dataset_encoding    # numpy and protobuf: not for a fingerprint
    return dataset_encoding([v for _, v in islice(pairs, SAMPLE_RECORDS)])


def split_keys(keys: Iterator[bytes], total: int, n_shards: int) -> list[bytes]:
    """Boundary keys splitting `total` ordered keys into `n_shards` near-equal ranges."""
    if n_shards <= 1 or total < 2 * n_shards:
        return []
    cuts = {round(total * i / n_shards) for i in range(1, n_shards)}
    return [k for i, k in enumerate(keys) if i in cuts]


def split_by_size(size: Callable[[bytes, bytes], int], first: bytes, last: bytes,
                  n_shards: int) -> list[bytes]:
    """Boundary keys splitting [first, last] into `n_shards` ranges of near-equal size,
    found by bisecting the key space with `size(a, b)` (bytes stored in [a, b)), e.g.
    LevelDB's approximate_size: no record is read. Boundaries need not be existing keys."""
    prefix = bytes(os.path.commonprefix([first, last]))
    width = min(16, max(len(first), len(last)) - len(prefix)) or 1

    def number(key: bytes) -> int:
        return int.from_bytes(key[len(prefix):len(prefix) + width].ljust(width, b"\x00"), "big")

    def key(x: int) -> bytes:
        return (prefix + x.to_bytes(width, "big")).rstrip(b"\x00") or b"\x00"

    lo, hi = number(first), number(last) + 1
    total = size(first, after(last))
    if n_shards <= 1 or total <= 0 or hi - lo < 2:
        return []
    bounds = set()
    for i in range(1, n_shards):
        a, b = lo, hi
        while b - a > 1:
            mid = (a + b) // 2
            if size(first, key(mid)) < total * i / n_shards:
                a = mid
            else:
                b = mid
        bounds.add(key(b))
    return sorted(k for k in bounds if first < k <= last)


def shards_from_bounds(source: str, fmt: str, bounds: list[bytes], encoding: str) -> tuple[Shard, ...]:
    edges = [None, *bounds, None]
    return tuple(Shard(source=source, format=fmt, shard_id=i, start=edges[i], stop=edges[i + 1],
                       encoding=encoding) for i in range(len(edges) - 1))


class Batch(list):
    """A list of (key, value) records that knows the bytes of its values (``nbytes``),
    summed once: the walk, the shard and the sizing of the next batch all need it, and a
    sum over 1,024 small values costs as much as reading them."""
    __slots__ = ("nbytes",)


def batched(records: Iterator[tuple[bytes, bytes]], size: int) -> Iterator[Batch]:
    """Lists of up to `size` records, each about BATCH_BYTES of values (sized from the
    last one). Taken from a C iterator with islice: a list is built in C, and nothing is
    read beyond the records handed out."""
    want = min(size, FIRST_BATCH)
    while batch := Batch(islice(records, want)):
        batch.nbytes = sum(map(len, map(itemgetter(1), batch)))
        yield batch
        want = max(1, min(size, BATCH_BYTES * len(batch) // max(batch.nbytes, 1)))


def flatten(batches: Iterator[list | StorageDamage]) -> Iterator[tuple[bytes, bytes] | StorageDamage]:
    for item in batches:
        if isinstance(item, StorageDamage):
            yield item
        else:
            yield from item
