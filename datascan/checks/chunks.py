"""A content log's chunks on disk (content.ContentLog spills them, contentindex.ContentIndex
reads them where the worker wrote them): each chunk files its entries by the top bits of
their hash (BUCKETS), so that repeats can be looked for a few buckets at a time across
every file, and keeps its keys in the order given, each found by its record's index."""
from __future__ import annotations

import os
import struct
from collections.abc import Iterator

import numpy as np

from .keys import NO_KEY, Keys

ENTRY = np.dtype([("h", "<u8"), ("label", "<f8"), ("i", "<i8")])   # label NaN: none
BUCKET_BITS = 6                 # a spilled chunk's entries are filed in 64 buckets by hash
BUCKETS = 1 << BUCKET_BITS
HEAD = struct.Struct("<qqqq")   # a written chunk's records, key bytes, lowest and highest index
NO_KEYS = -1                    # key bytes of a chunk none of whose records has a key


def bucket_of(h: np.ndarray) -> np.ndarray:
    """The bucket of each hash: its top bits (hashes are uniform, so are the buckets)."""
    return (h >> np.uint64(64 - BUCKET_BITS)).astype(np.intp)


def write_chunk(fh, entries: np.ndarray, keys: Keys) -> Chunk:
    """A chunk: its head (records, key bytes or NO_KEYS, lowest and highest index), the entries by
    bucket (each bucket in the order given), where each bucket starts (BUCKETS + 1), the
    place of each entry in the order given, each key's length, the keys joined."""
    bucket = bucket_of(entries["h"])
    order = np.argsort(bucket, kind="stable")
    bounds = np.zeros(BUCKETS + 1, "<i8")
    np.cumsum(np.bincount(bucket, minlength=BUCKETS), out=bounds[1:])
    idx = entries["i"]
    low, high = (int(idx.min()), int(idx.max())) if len(idx) else (0, -1)   # min(initial=0) is 0
    size = len(keys.blob) if keys.any else NO_KEYS
    at = fh.tell()
    fh.write(HEAD.pack(len(entries), size, low, high))
    fh.write(entries[order].tobytes())
    fh.write(bounds.tobytes())
    fh.write(order.astype("<i8").tobytes())
    fh.write(keys.lengths.astype("<i8").tobytes())
    fh.write(keys.blob)
    return Chunk(at, len(entries), size, low, high, bounds)


class Chunk:
    """Where one written chunk lies in its file (chunk_index): read a bucket or all of it."""
    __slots__ = ("at", "n", "size", "low", "high", "bounds")

    def __init__(self, at: int, n: int, size: int, low: int, high: int, bounds: np.ndarray):
        self.at, self.n, self.size, self.low, self.high, self.bounds = at, n, size, low, high, bounds

    @property
    def keyed(self) -> bool:
        """Has any of its records a key (HDF5 rows have none)?"""
        return self.size != NO_KEYS

    @property
    def end(self) -> int:
        return self.at + HEAD.size + self.n * (ENTRY.itemsize + 16) + 8 * (BUCKETS + 1) + max(0, self.size)

    def buckets(self, fh, first: int, stop: int) -> np.ndarray:
        """Its entries of buckets first..stop-1 (one read: they lie together)."""
        lo, hi = int(self.bounds[first]), int(self.bounds[stop])
        if lo == hi:
            return np.empty(0, ENTRY)
        fh.seek(self.at + HEAD.size + lo * ENTRY.itemsize)
        return np.frombuffer(fh.read((hi - lo) * ENTRY.itemsize), ENTRY)

    def key_table(self, fh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(index of each entry by bucket, where its key starts, its length or NO_KEY): what
        key() looks a record up in; 24 bytes a record, kept by the caller for its next lookups."""
        fh.seek(self.at + HEAD.size)
        idx = np.frombuffer(fh.read(self.n * ENTRY.itemsize), ENTRY)["i"].copy()
        fh.seek(8 * (BUCKETS + 1), os.SEEK_CUR)
        order = np.frombuffer(fh.read(self.n * 8), "<i8")
        lengths = np.frombuffer(fh.read(self.n * 8), "<i8")
        starts = np.concatenate([[0], np.cumsum(np.maximum(lengths, 0))[:-1]]).astype(np.int64)
        return idx, starts[order], lengths[order]

    def key(self, fh, i: int, table: tuple | None = None) -> bytes | None | bool:
        """The key of its record of index i (None: it has none); False if i is not here.
        Given its key_table, one read of that key alone."""
        if not self.keyed:
            return None if self.low <= i <= self.high and self.holds(fh, i) else False
        idx, starts, lengths = table if table is not None else self.key_table(fh)
        if not len(hit := np.flatnonzero(idx == i)):
            return False
        j = int(hit[0])
        if lengths[j] == NO_KEY:
            return None
        fh.seek(self.at + HEAD.size + self.n * (ENTRY.itemsize + 16) + 8 * (BUCKETS + 1) + int(starts[j]))
        return fh.read(int(lengths[j]))

    def holds(self, fh, i: int) -> bool:
        fh.seek(self.at + HEAD.size)
        return bool((np.frombuffer(fh.read(self.n * ENTRY.itemsize), ENTRY)["i"] == i).any())

    def read(self, fh) -> tuple[np.ndarray, Keys]:
        """Its entries in the order they were given, and their keys."""
        fh.seek(self.at + HEAD.size)
        by_bucket = np.frombuffer(fh.read(self.n * ENTRY.itemsize), ENTRY)
        fh.seek(8 * (BUCKETS + 1), os.SEEK_CUR)
        order = np.frombuffer(fh.read(self.n * 8), "<i8")
        found = np.empty(self.n, ENTRY)
        found[order] = by_bucket
        lengths = np.frombuffer(fh.read(self.n * 8), "<i8").astype(np.int64)
        return found, Keys(fh.read(max(0, self.size)), lengths)


def chunk_index(fh) -> list[Chunk]:
    """The chunks of a file write_chunk wrote, from their heads and bounds alone."""
    out = []
    while len(head := fh.read(HEAD.size)) == HEAD.size:
        at = fh.tell() - HEAD.size
        n, size, low, high = HEAD.unpack(head)
        fh.seek(at + HEAD.size + n * ENTRY.itemsize)
        bounds = np.frombuffer(fh.read(8 * (BUCKETS + 1)), "<i8")
        out.append(Chunk(at, n, size, low, high, bounds))
        fh.seek(out[-1].end)
    return out


def read_chunks(path: str) -> Iterator[tuple[np.ndarray, Keys]]:
    with open(path, "rb") as fh:
        for chunk in chunk_index(fh):
            yield chunk.read(fh)


def bucket_runs(sizes: np.ndarray, most: int) -> list[tuple[int, int]]:
    """Consecutive buckets taken together up to `most` entries (a bucket alone if larger)."""
    out, first, held = [], 0, 0
    for b, n in enumerate(sizes.tolist()):
        if held and held + n > most:
            out.append((first, b))
            first, held = b, 0
        held += n
    out.append((first, len(sizes)))
    return out
