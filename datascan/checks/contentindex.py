"""Every record's content hash of one command's sources, bounded in memory, for the
duplicate checks (duplicates.py).

Workers hash each record's content (content.py) into their shard's ContentLog; the scan's
Merger hands each log to one ContentIndex as results come back. A log that spilled comes
as its worker's file, already filed by bucket (chunks.py): the index keeps the file and
copies nothing. Of the small logs that stayed in memory it keeps 24 bytes a record (hash,
label, position) and the keys apart: past INDEX_RECORDS records the entries go to BUCKETS
files by hash, past INDEX_KEYS keys the keys to one file, all in one temporary directory.
The parent's memory does not grow with the dataset: repeats are looked for a few buckets
at a time (GROUP_RECORDS entries), read from every file. A record's position is (source in
the command, shard, index in the shard), so "the first" of a group is the same for any
split into shards.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from .chunks import BUCKETS, ENTRY, Chunk, bucket_of, bucket_runs, chunk_index, write_chunk
from .content import ContentLog

INDEX_RECORDS = 1 << 16     # entries held before they go to the bucket files
INDEX_KEYS = 1 << 16        # keys held before they go to the key file
GROUP_RECORDS = 1 << 18     # entries looked at together for repeats, once written out
TABLES = 8                  # chunks' key tables kept for the next lookups (24 bytes a record)
SRC, SHARD = 48, 36         # position = source << 48 | shard << 36 | index in shard
POSITIONED = np.dtype([("h", "<u8"), ("label", "<f8"), ("pos", "<i8")])


class ContentIndex:
    """Every record's content hash of one command's sources, bounded in memory (module doc).
    A shard's log that spilled is kept as its worker wrote it (its file, filed by bucket:
    chunks.write_chunk); only the small logs that stayed in memory are held here, and
    past INDEX_RECORDS written to this index's own bucket files."""

    def __init__(self, where: str | None = None) -> None:
        self.where = where               # where its directory goes (the scan's)
        self.parts: list[np.ndarray] = []
        self.held = self.keys_held = 0
        self.dir: Path | None = None
        self.spilled = False
        self.files: list[tuple[int, str, list[Chunk]]] = []   # (position base, path, chunks)
        self.tables: dict[tuple[str, int], tuple] = {}          # (path, chunk) -> its key table
        # (source, shard) -> its keys: ("mem", indexes, Keys) or ("file", path, Chunk)
        self.keys: dict[tuple[int, int], list] = defaultdict(list)

    def add(self, src: int, shard: int, log: ContentLog) -> None:
        base = (src << SRC) | (shard << SHARD)
        if (path := log.take_file()) is not None:
            with open(path, "rb") as fh:
                chunks = chunk_index(fh)
            self.files.append((base, path, chunks))
            self.keys[src, shard].extend(("file", path, c) for c in chunks if c.keyed)
        for found, keys in log.chunks():
            e = np.empty(len(found), POSITIONED)
            e["h"], e["label"] = found["h"], found["label"]
            e["pos"] = base | found["i"]
            self._store(e)
            if keys.any:
                idx = found["i"]
                if len(idx) > 1 and (np.diff(idx) < 0).any():     # searchsorted needs order
                    order = np.argsort(idx, kind="stable")
                    idx, keys = idx[order], keys.take(order)
                self.keys[src, shard].append(("mem", idx.copy(), keys))
                self.keys_held += len(keys)
                if self.keys_held > INDEX_KEYS:     # per chunk: a shard's keys never pile up
                    self._spill_keys()

    def _scratch(self) -> Path:
        if self.dir is None:
            self.dir = Path(tempfile.mkdtemp(prefix="datascan-duplicates-", dir=self.where))
        return self.dir

    def _store(self, e: np.ndarray) -> None:
        self.parts.append(e)
        self.held += len(e)
        if self.held > INDEX_RECORDS:
            self._spill_entries()

    def _spill_entries(self) -> None:
        every = np.concatenate(self.parts)
        bucket = bucket_of(every["h"])
        for b in np.unique(bucket).tolist():
            with open(self._scratch() / f"bucket-{b:02d}", "ab") as fh:
                fh.write(every[bucket == b].tobytes())
        self.parts, self.held, self.spilled = [], 0, True

    def _spill_keys(self) -> None:
        path = str(self._scratch() / "keys")
        with open(path, "ab") as fh:
            for chunks in self.keys.values():
                for n, (kind, *rest) in enumerate(chunks):
                    if kind == "mem":
                        idx, keys = rest
                        chunks[n] = ("file", path, write_chunk(fh, _as_entries(idx), keys))
        self.keys_held = 0

    def groups(self):
        """The entries, a few buckets at a time (GROUP_RECORDS) once any were written out,
        all at once else. Equal hashes share a bucket, so no group misses a repeat."""
        if not self.spilled and not self.files:
            if self.parts:
                yield np.concatenate(self.parts)
            return
        if self.parts:              # (none when the last add spilled them)
            self._spill_entries()
        files = [self._scratch() / f"bucket-{b:02d}" for b in range(BUCKETS)]
        sizes = np.array([f.stat().st_size // POSITIONED.itemsize if f.exists() else 0 for f in files])
        for _, _, chunks in self.files:
            for c in chunks:
                sizes += np.diff(c.bounds)
        for first, stop in bucket_runs(sizes, GROUP_RECORDS):
            parts = [(np.fromfile(f, POSITIONED), None) for f in files[first:stop] if f.exists()]
            for base, path, chunks in self.files:    # opened in turn: a scan may have 1000s
                with open(path, "rb") as fh:
                    parts += [(found, base) for c in chunks if len(found := c.buckets(fh, first, stop))]
            if (e := _repeated(parts)) is not None:
                yield e

    def close(self) -> None:
        self.parts, self.keys, self.tables = [], defaultdict(list), {}
        for _, path, _ in self.files:
            try:
                os.unlink(path)
            except OSError:
                pass
        self.files = []
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def key_of(self, pos: int) -> bytes | None:
        src, shard, i = split_position(pos)
        for kind, *rest in self.keys.get((src, shard), ()):
            if kind == "mem":
                idx, keys = rest
            elif rest[1].low <= i <= rest[1].high:
                # A worker's chunk is in the order its records were added, not always by
                # index: the record is looked for in place (Chunk.key), its chunk not
                # re-sorted with its keys (Keys.take: a Python call a key, each lookup).
                with open(rest[0], "rb") as fh:
                    if (found := rest[1].key(fh, i, self._table(rest[0], rest[1], fh))) is not False:
                        return found
                continue
            else:
                continue
            j = int(np.searchsorted(idx, i))
            if j < len(idx) and idx[j] == i:
                return keys[j]
        return None

    def _table(self, path: str, chunk: Chunk, fh) -> tuple:
        """A chunk's key table, the last TABLES kept (findings look keys up in position
        order: most lookups hit a chunk just read)."""
        table = self.tables.pop((path, chunk.at), None)
        if table is None:
            table = chunk.key_table(fh)
            while self.tables and len(self.tables) >= TABLES:
                self.tables.pop(next(iter(self.tables)))
        self.tables[path, chunk.at] = table
        return table


def _repeated(parts: list[tuple[np.ndarray, int | None]]) -> np.ndarray | None:
    """The entries of these parts whose hash is there more than once, positioned (a part
    with a base is a worker's: its indexes are placed at base); None if there are none. Most
    hashes are there once: only the few that repeat are positioned."""
    if not parts:
        return None
    every = np.concatenate([p["h"] for p, _ in parts])
    h = np.sort(every)
    twice = h[1:] == h[:-1]
    if not twice.any():
        return None
    keep = np.isin(every, np.unique(h[1:][twice]))     # once for all parts
    out, at = [], 0
    for found, base in parts:
        found, at = found[keep[at:at + len(found)]], at + len(found)
        if not len(found):
            continue
        if base is None:
            out.append(found)
            continue
        e = np.empty(len(found), POSITIONED)
        e["h"], e["label"] = found["h"], found["label"]
        e["pos"] = base | found["i"]
        out.append(e)
    return np.concatenate(out)


def _as_entries(idx: np.ndarray) -> np.ndarray:
    e = np.zeros(len(idx), ENTRY)
    e["i"] = idx
    return e


def split_position(pos: int) -> tuple[int, int, int]:
    return pos >> SRC, (pos >> SHARD) & ((1 << (SRC - SHARD)) - 1), pos & ((1 << SHARD) - 1)
