"""Rows of an HDF5 dataset read where they lie in the file, through a memory map: the checks
read the page cache directly instead of a copy of it (h5py's read copies every byte once
more, which is most of a scan's time on an uncompressed float file; measured on a 1.1 GB
file: 0.12-0.15 s of CPU for a mapped pass with max and min, 0.33-0.43 s with the reads).

Only where the bytes in the file *are* the rows: no filter (compression, shuffle, checksum),
no external or virtual storage, no user block, a native-order integer or float type, and
either contiguous storage or chunks holding whole rows (a chunk of 16 rows of 3x64x64 is
those rows, row-major). Each chunk must lie inside the file as it is now (a mapping beyond
its end would kill the process with SIGBUS); one that is not allocated, or anything
else, is read by h5py as before. The first rows mapped are compared with h5py's read of
them once per dataset; any difference and the dataset is read by h5py.

A block's mapping goes when its last view does: the reader drops it before the next, so a
worker maps at most a block or two (its RSS stays at one block, as with the reused buffer).
"""
from __future__ import annotations

import mmap
import os

import h5py
import numpy as np

GRANULE = mmap.ALLOCATIONGRANULARITY


class Mapped:
    """Where a dataset's rows are in its file (see the module doc); None from ``of`` when
    they cannot be read from a mapping."""

    def __init__(self, ds: h5py.Dataset, path: str, size: int):
        self.ds, self.path, self.size = ds, path, size
        self.dtype = ds.dtype
        self.row_bytes = ds.dtype.itemsize * int(np.prod(ds.shape[1:], dtype=np.int64))
        self.chunked = ds.chunks is not None
        self.step = ds.chunks[0] if self.chunked else 0
        self.checked = self.broken = False

    @classmethod
    def of(cls, ds: h5py.Dataset) -> Mapped | None:
        try:
            dtype = ds.dtype
            if dtype.kind not in "fiu" or not dtype.isnative or ds.is_virtual or not ds.shape \
                    or ds.file.userblock_size:
                return None
            plist = ds.id.get_create_plist()
            if plist.get_nfilters() or plist.get_external_count():
                return None
            layout = plist.get_layout()
            if layout == h5py.h5d.CHUNKED:
                if tuple(ds.chunks[1:]) != tuple(ds.shape[1:]):
                    return None        # a row is spread over several chunks
            elif layout != h5py.h5d.CONTIGUOUS or ds.id.get_offset() is None:
                return None
            path = ds.file.filename
            return cls(ds, path, os.stat(path).st_size)
        except (OSError, RuntimeError, ValueError, KeyError, AttributeError, TypeError):
            return None

    def runs(self, a: int, b: int) -> list[tuple[int, int, int]] | None:
        """Rows [a, b) as (first row, stop row, file offset) runs, adjacent chunks joined;
        None when a chunk is not stored whole inside the file."""
        if not self.chunked:
            off = self.ds.id.get_offset()
            if off is None or off + b * self.row_bytes > self.size:
                return None
            return [(a, b, off + a * self.row_bytes)]
        out: list[list[int]] = []
        first = a - a % self.step
        coord = [0] * len(self.ds.shape)
        for c in range(first, b, self.step):
            coord[0] = c
            info = self.ds.id.get_chunk_info_by_coord(tuple(coord))
            if info.byte_offset is None or info.size != self.step * self.row_bytes \
                    or info.byte_offset + info.size > self.size:
                return None
            lo, hi = max(a, c), min(b, c + self.step)
            off = info.byte_offset + (lo - c) * self.row_bytes
            if out and out[-1][1] == lo and out[-1][2] + (lo - out[-1][0]) * self.row_bytes == off:
                out[-1][1] = hi
            else:
                out.append([lo, hi, off])
        return [tuple(r) for r in out]

    def view(self, a: int, b: int, off: int) -> np.ndarray:
        """Rows [a, b) at `off`, a read-only view of a mapping of just those bytes."""
        start = off - off % GRANULE
        length = off - start + (b - a) * self.row_bytes
        with open(self.path, "rb") as fh:
            mm = mmap.mmap(fh.fileno(), length, access=mmap.ACCESS_READ, offset=start)
        rows = np.frombuffer(mm, self.dtype, (b - a) * self.row_bytes // self.dtype.itemsize,
                             off - start)
        return rows.reshape(b - a, *self.ds.shape[1:])

    def plan(self, a: int, b: int) -> list[tuple[int, int, int]] | None:
        """The runs of rows [a, b) to map (runs()), or None to read them with h5py. The
        first time, the first row mapped is compared with h5py's read of it."""
        if self.broken:
            return None
        try:
            runs = self.runs(a, b)
            if runs and not self.checked:
                lo, _, off = runs[0]
                self.checked = True
                if self.view(lo, lo + 1, off).tobytes() != \
                        np.ascontiguousarray(self.ds[lo:lo + 1]).tobytes():
                    self.broken = True
                    return None
        except (OSError, RuntimeError, ValueError, KeyError, AttributeError, TypeError):
            self.broken = True
            return None
        return runs or None
