"""Content hashes for the duplicate checks (duplicates.py), taken in the workers.

A record's content is what the data layer makes of it, without its label: a raw Datum's
shape and pixels (the bytes of fields 1-4 as convert_imageset writes them, so the batch path
hashes the head and pixels of the record as stored, and the per-record path the same bytes
rebuilt from the parsed fields), a float Datum's shape and float_data, an encoded image's
file bytes, an HDF5 row's data columns. Each is hashed with SHA-1 (C speed, one call a
record), of which 8 bytes are kept: two different contents of a set of a billion records
share a hash with odds of about 1 in 40 million.

A shard's ContentLog keeps 24 bytes a record (hash, label, index) and its key (bytes as
the reader gave it, None for an HDF5 row). Past
SPILL_RECORDS records it writes them to a temporary file (TMPDIR), so a worker holds at most
that many whatever the size of its shard; the parent (duplicates.ContentIndex) reads the
file and removes it.
"""
from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from collections.abc import Sequence

import numpy as np

SPILL_RECORDS = 16_384          # records a log holds in memory before it writes them out
ENTRY = np.dtype([("h", "<u8"), ("label", "<f8"), ("i", "<i8")])   # label NaN: none
NO_LABEL = float("nan")
_sha1 = hashlib.sha1


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def raw_head(shape: tuple[int, int, int], length: int) -> bytes:
    """Fields 1-3 and field 4's tag and length, as convert_imageset and pycaffe write them."""
    c, h, w = shape
    return b"".join((b"\x08", _varint(c), b"\x10", _varint(h), b"\x18", _varint(w),
                     b"\x22", _varint(length)))


def digest(*parts: bytes | memoryview) -> int:
    s = _sha1(parts[0])
    for p in parts[1:]:
        s.update(p)
    return int.from_bytes(s.digest()[:8], "little")


def digests(values: Sequence[bytes]) -> np.ndarray:
    """The 8-byte hash of each value, as uint64: one C call a value."""
    joined = b"".join([_sha1(v).digest()[:8] for v in values])
    return np.frombuffer(joined, "<u8")


def raw_content(shape: tuple[int, int, int], data: bytes) -> int:
    return digest(raw_head(shape, len(data)), data)


def float_content(shape: tuple[int, int, int], data: bytes, floats: np.ndarray) -> int:
    return digest(b"F", raw_head(shape, len(data)), data, np.ascontiguousarray(floats, "<f4").tobytes())


def image_content(data: bytes) -> int:
    return digest(b"E", data)


def row_digests(column: str, rows: np.ndarray) -> np.ndarray:
    """One hash per row of an HDF5 block, its column's name mixed in: a row's hash is the sum
    (mod 2^64) of its data columns', the same whichever order the columns are read in."""
    flat = np.ascontiguousarray(rows).reshape(len(rows), -1)
    width = flat.shape[1] * flat.itemsize
    buf = memoryview(flat.view(np.uint8).reshape(-1))
    name = column.encode()
    return np.fromiter((digest(name, buf[i * width:(i + 1) * width]) for i in range(len(flat))),
                       np.uint64, len(flat))


def row_table(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row hash accumulators and labels for an HDF5 shard's rows (its columns are read
    one after the other): in memory up to SPILL_RECORDS rows, else in a temporary file."""
    if rows <= SPILL_RECORDS:
        return np.zeros(rows, np.uint64), np.full(rows, NO_LABEL)
    fh = tempfile.TemporaryFile(prefix="datascan-rows-")
    with fh:     # the mapping keeps the (unlinked) file
        table = np.memmap(fh, np.dtype([("h", "<u8"), ("label", "<f8")]), "w+", shape=(rows,))
    table["label"] = NO_LABEL
    return table["h"], table["label"]


class ContentLog:
    """One shard's records with content: their hash, label and shard-local index, and keys.
    Bounded in memory (SPILL_RECORDS, then a temporary file); picklable."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []
        self.keys: list = []
        self.held = 0
        self.file: str | None = None     # spilled chunks (_write), appended
        self.pending: list[tuple[int, float, int]] = []   # add()s not yet in parts

    def __len__(self) -> int:
        return self.held

    def add(self, index: int, key: bytes | None, h: int, label: float) -> None:
        self.pending.append((h, label, index))
        self.keys.append(key)
        self.held += 1
        if self.held >= SPILL_RECORDS:
            self.spill()

    def add_many(self, entries: np.ndarray, keys: Sequence) -> None:
        self._settle()
        self.parts.append(entries)
        self.keys.extend(keys)
        self.held += len(entries)
        if self.held >= SPILL_RECORDS:
            self.spill()

    def _settle(self) -> None:
        if self.pending:
            self.parts.append(np.array(self.pending, ENTRY))
            self.pending = []

    def __getstate__(self) -> dict:
        self._settle()
        return self.__dict__

    def spill(self) -> None:
        self._settle()
        if not self.held:
            return
        if self.file is None:
            fd, self.file = tempfile.mkstemp(prefix="datascan-content-")
            os.close(fd)
        with open(self.file, "ab") as fh:
            _write(fh, np.concatenate(self.parts), self.keys)
        self.parts, self.keys, self.held = [], [], 0

    def chunks(self, remove: bool = True):
        """(entries, keys) chunks in the order they were added; the file goes once read."""
        if self.file is not None:
            try:
                with open(self.file, "rb") as fh:
                    while (chunk := _read(fh)) is not None:
                        yield chunk
            finally:
                if remove:
                    self.discard()
        self._settle()
        if self.held:
            yield np.concatenate(self.parts), self.keys

    def absorb(self, other: ContentLog, shift: int) -> None:
        """Add another log's records, their indexes shifted (a recovered shard's pieces)."""
        for found, keys in other.chunks():
            found = found.copy()
            found["i"] += shift
            self.add_many(found, keys)

    def discard(self) -> None:
        if self.file is not None:
            try:
                os.unlink(self.file)
            except OSError:
                pass
            self.file = None


def _write(fh, entries: np.ndarray, keys: Sequence) -> None:
    """A chunk: its record count, the entries, each key's length (-1: none), the keys."""
    lengths = np.array([-1 if k is None else len(k) for k in keys], "<i4")
    fh.write(struct.pack("<q", len(entries)))
    fh.write(entries.tobytes())
    fh.write(lengths.tobytes())
    fh.write(b"".join(k for k in keys if k is not None))


def _read(fh):
    head = fh.read(8)
    if len(head) < 8:
        return None
    (n,) = struct.unpack("<q", head)
    found = np.frombuffer(fh.read(n * ENTRY.itemsize), ENTRY)
    lengths = np.frombuffer(fh.read(n * 4), "<i4").tolist()
    blob = fh.read(sum(x for x in lengths if x > 0))
    keys, at = [], 0
    for x in lengths:
        keys.append(None if x < 0 else blob[at:at + x])
        at += max(x, 0)
    return found, keys


def entries(hashes, labels, indexes) -> np.ndarray:
    out = np.empty(len(hashes), ENTRY)
    out["h"], out["label"], out["i"] = hashes, labels, indexes
    return out
