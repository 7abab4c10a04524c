"""Content hashes for the duplicate checks (duplicates.py), taken in the workers.

A record's content is what the data layer makes of it, without its label: a raw Datum's
shape and pixels (the bytes of fields 1-4 as convert_imageset writes them, so the batch path
hashes the head and pixels of the record as stored, and the per-record path the same bytes
rebuilt from the parsed fields), a float Datum's shape and float_data, an encoded image's
file bytes, an HDF5 row's data columns. Each is hashed with XXH3-64 (one C call a record,
~0.2 us for a 28x28 Datum where SHA-1 takes ~1 us): two different contents of a set of a
billion records share a hash with odds of about 1 in 40 million.

A shard's ContentLog keeps 24 bytes a record (hash, label, index) and its key (the bytes
the reader gave, kept joined: no object a record). Past SPILL_RECORDS records it writes
them to a temporary file (TMPDIR), so a worker holds at most that many whatever the size of
its shard. The worker files each chunk's entries by the top bits of their hash (chunks.py),
so that the parent (contentindex.ContentIndex) keeps the file as it is, reads a few buckets
of every file at a time when it looks for repeats, and removes the file when it closes: the
parent copies nothing while the workers run.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from operator import getitem
from pathlib import Path

import numpy as np
from xxhash import xxh3_64, xxh3_64_digest

from ..config import ScanConfig
from ..structs import replace
from .chunks import ENTRY, read_chunks, write_chunk
from .keys import Keys

SPILL_RECORDS = 16_384          # records a log holds in memory before it writes them out
NO_LABEL = float("nan")
PACKED_ROW = 4096               # HDF5 rows up to this many bytes are hashed packed (row_digests)


def varint(n: int) -> bytes:
    """A protobuf varint."""
    n &= (1 << 64) - 1          # a negative int32 is ten bytes, as protobuf writes it
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def raw_head(shape: tuple[int, int, int], length: int) -> bytes:
    """Fields 1-3 and field 4's tag and length, as convert_imageset and pycaffe write them."""
    c, h, w = shape
    return b"".join((b"\x08", varint(c), b"\x10", varint(h), b"\x18", varint(w),
                     b"\x22", varint(length)))


def digest(*parts: bytes | memoryview) -> int:
    s = xxh3_64(parts[0])
    for p in parts[1:]:
        s.update(p)
    return s.intdigest()


def digests(values: Sequence[bytes], cut: int | None = None) -> np.ndarray:
    """The hash of each value (of its first `cut` bytes), as uint64, the same as digest()
    gives: C calls only (map, no Python frame a value), hashes joined as 8-byte digests (a
    uint64 above 2**63 is slow to take from a Python int)."""
    if cut is not None:
        values = map(getitem, values, repeat(slice(0, cut)))
    return np.frombuffer(b"".join(map(xxh3_64_digest, values)), ">u8").astype("<u8")


def raw_content(shape: tuple[int, int, int], data: bytes) -> int:
    return digest(raw_head(shape, len(data)), data)


def float_content(shape: tuple[int, int, int], data: bytes, floats: np.ndarray) -> int:
    return digest(b"F", raw_head(shape, len(data)), data, np.ascontiguousarray(floats, "<f4").tobytes())


def image_content(data: bytes) -> int:
    return digest(b"E", data)


def row_digests(column: str, rows: np.ndarray) -> np.ndarray:
    """One hash per row of an HDF5 block, its column's name mixed in: a row's hash is the sum
    (mod 2^64) of its data columns', the same whichever order the columns are read in.
    Narrow rows (a feature vector) are hashed as name + row, packed in one array first: the
    same bytes as digest(name, row), a third of the time on 40-byte rows."""
    flat = np.ascontiguousarray(rows).reshape(len(rows), -1)
    width = flat.shape[1] * flat.itemsize
    name = column.encode()
    if width <= PACKED_ROW:
        packed = np.empty((len(flat), len(name) + width), np.uint8)
        packed[:, :len(name)] = np.frombuffer(name, np.uint8)
        packed[:, len(name):] = flat.view(np.uint8).reshape(len(flat), width)
        return digests(packed.view(f"V{packed.shape[1]}").ravel().tolist())
    buf = memoryview(flat.view(np.uint8).reshape(-1))
    return np.fromiter((digest(name, buf[i * width:(i + 1) * width]) for i in range(len(flat))),
                       np.uint64, len(flat))


def row_table(rows: int, where: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-row hash accumulators and labels for an HDF5 shard's rows (its columns are read
    one after the other): in memory up to SPILL_RECORDS rows, else in a temporary file."""
    if rows <= SPILL_RECORDS:
        return np.zeros(rows, np.uint64), np.full(rows, NO_LABEL)
    fh = tempfile.TemporaryFile(prefix="datascan-rows-", dir=_here(where))
    with fh:     # the mapping keeps the (unlinked) file
        table = np.memmap(fh, np.dtype([("h", "<u8"), ("label", "<f8")]), "w+", shape=(rows,))
    table["label"] = NO_LABEL
    return table["h"], table["label"]


def _here(where: str | None) -> str | None:
    """The scan's directory when this process sees it (a dask worker on another machine
    does not): else TMPDIR, and the parent's index removes the file when it closes."""
    return where if where is not None and os.path.isdir(where) else None


class ContentLog:
    """One shard's records with content: their hash, label and shard-local index, and keys.
    Bounded in memory (SPILL_RECORDS, then a temporary file); picklable."""

    def __init__(self, where: str | None = None) -> None:
        self.where = where               # the directory of its spill file (the scan's)
        self.parts: list[np.ndarray] = []
        self.keys: list[Keys] = []
        self.held = 0
        self.file: str | None = None     # spilled chunks (_write), appended
        self.pending: list[tuple[int, float, int]] = []   # add()s not yet in parts
        self.pending_keys: list = []

    def __len__(self) -> int:
        return self.held

    def add(self, index: int, key: bytes | None, h: int, label: float) -> None:
        self.pending.append((h, label, index))
        self.pending_keys.append(key)
        self.held += 1
        if self.held >= SPILL_RECORDS:
            self.spill()

    def add_many(self, entries: np.ndarray, keys: Sequence | Keys) -> None:
        self._settle()
        self.parts.append(entries)
        self.keys.append(keys if isinstance(keys, Keys) else Keys.of(keys))
        self.held += len(entries)
        if self.held >= SPILL_RECORDS:
            self.spill()

    def _settle(self) -> None:
        if self.pending:
            self.parts.append(np.array(self.pending, ENTRY))
            self.keys.append(Keys.of(self.pending_keys))
            self.pending, self.pending_keys = [], []

    def __getstate__(self) -> dict:
        """A log leaves its worker whole in its file once it has one (the parent then
        copies none of it, contentindex.ContentIndex), else in memory."""
        if self.file is not None:
            self.spill()
        self._settle()
        return self.__dict__

    def take_file(self) -> str | None:
        """The spill file, now the caller's to remove (the index keeps it until it closes),
        with every record this log holds written to it; None if it never spilled."""
        if self.file is not None:
            self.spill()
        path, self.file = self.file, None
        return path

    def _joined(self) -> tuple[np.ndarray, Keys]:
        return np.concatenate(self.parts), Keys.joined(self.keys)

    def spill(self) -> None:
        self._settle()
        if not self.held:
            return
        if self.file is None:
            fd, self.file = tempfile.mkstemp(prefix="datascan-content-", dir=_here(self.where))
            os.close(fd)
        with open(self.file, "ab") as fh:
            write_chunk(fh, *self._joined())
        self.parts, self.keys, self.held = [], [], 0

    def chunks(self, remove: bool = True):
        """(entries, Keys) chunks in the order they were added; the file goes once read."""
        if self.file is not None:
            try:
                yield from read_chunks(self.file)
            finally:
                if remove:
                    self.discard()
        self._settle()
        if self.held:
            yield self._joined()

    def absorb(self, other: ContentLog, shift: int) -> None:
        """Add another log's records, their indexes shifted (a recovered shard's pieces)."""
        if self.where is None:      # spill where its pieces did (the scan's directory), not TMPDIR
            self.where = other.where
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


def entries(hashes, labels, indexes) -> np.ndarray:
    out = np.empty(len(hashes), ENTRY)
    out["h"], out["label"], out["i"] = hashes, labels, indexes
    return out


@contextmanager
def spill_dir(config: ScanConfig) -> Iterator[ScanConfig]:
    """The scan's temporary directory, where workers and the merge spill content hashes
    (checks/content.py): removed when the scan ends, whatever killed its workers."""
    _sweep()
    path = tempfile.mkdtemp(prefix=f"datascan-scan-{os.getpid()}-")
    try:
        yield replace(config, spill_dir=path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _sweep() -> None:
    """Remove the spill directories of scans whose process is gone (killed with SIGKILL:
    nothing ran to remove them)."""
    for d in Path(tempfile.gettempdir()).glob("datascan-scan-*-*"):
        pid = d.name.split("-")[2]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass
