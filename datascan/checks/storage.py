"""Checks whose findings the sources make while they plan and read, declared here so every
code has its check. The logic stays where the bytes are: sources/ (lmdb.py and hdf5.py
truncation, h5list.py list entries, h5layout.py an HDF5 file's layout), shard.py
(StorageDamage from a reader) and recovery.py (a worker that died)."""
from __future__ import annotations

from ..codes import (BAD_DTYPE, CANNOT_OPEN, LABEL_MISSING, LINK_OUTSIDE, LIST_MISSING, LIST_MOVED,
                     CHANGED, NO_READER_TABLE, NO_RECORDS, ROWS_DISAGREE, STORAGE_CORRUPT,
                     TRUNCATED)
from .base import LAYOUT, STORAGE, Check


class Storage(Check):
    """The source opens (DS100), its pages, blocks and chunks read (DS101), no file is shorter
    than its own metadata says (DS102), an HDF5 list names files that exist where it
    says (DS103, DS104), it holds records at all (DS106, scan.Merger), and every part of
    the scan read the same transaction (DS107; DS108 when LMDB's reader table is out of reach)."""
    codes = (CANNOT_OPEN, STORAGE_CORRUPT, TRUNCATED, LIST_MISSING, LIST_MOVED, NO_RECORDS,
             CHANGED, NO_READER_TABLE)
    reads = (STORAGE,)


class HDF5Layout(Check):
    """What HDF5Data will make of a file's datasets (sources/h5layout.py, at plan time): one row
    count for all (DS601), dtypes it can read (DS602), links and external storage inside the
    dataset (DS105), a label dataset when labels are asked for (DS502), and what its walk
    could not open or read (DS100, DS101)."""
    codes = (ROWS_DISAGREE, BAD_DTYPE, LINK_OUTSIDE)
    shares = (LABEL_MISSING, CANNOT_OPEN, STORAGE_CORRUPT)
    reads = (LAYOUT,)
