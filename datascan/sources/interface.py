"""The contract every storage format implements, written once: ``Format``.

A format is one module in sources/ that defines ``FORMAT = Format(...)`` and one line in
the registry (sources/__init__.py). Required:

    name      "lmdb", "leveldb", "hdf5": what --source-format and the report call it
    records   KEYED: read() yields batches of (key, value) pairs, in key order;
              ROWS:  read() yields RowBlocks, one column's rows at a time
    sniff(path) -> bool
              a cheap look at layout and magic bytes; never opens the dataset for real and
              works without the format's library (so a missing one can be named)
    plan(path, config, n_parts) -> Plan
              opens the dataset read-only, reports storage problems found up front (DS102
              truncation, DS103 missing list entries, ...) and splits it into shards.
              Raises SourceOpenError (exit 2) only when nothing at all can be read.
    read(shard, config, batch) -> Iterator[batch | RowBlock | StorageDamage | LineFacts]
              opens the source itself (it may run in another process or on another
              machine) and reads the shard's range. It never judges a record: the shard
              runner (datascan/shard.py) hands what it reads to the checks.

Optional capabilities, None when the format has not got them (callers look at the
attribute, never at the format's name):

    damage(shard, after_key, at_key) -> (message, first key, resume key)
              names the damaged page a keyed walk died on (LMDB), for recovery.py
    walk(path) -> Iterator[(key, value) | StorageDamage]
              every record of a keyed source, in key order, one by one (clean, --forward)
    fetch(path, keys) -> Iterator[(key, value or None)]
              records by key, unverified: what can still be read (clean's quarantine)
    write(path, records, like=None, **options) -> int
              a new dataset of this format from (key, value) pairs (clean), stored as the
              dataset `like` is (LMDB: a directory or a single file)
    count(path) -> int | None
              the record count without a walk, when the format stores it
    single_file(path) -> bool
              the dataset is one file rather than a directory
    errors    the exception types its library raises (a failed write is one error line)
    fingerprint(path) -> dict
              what changes whenever the dataset's bytes can have changed (remembered
              verdicts, cache.py): {"files": stat_files(...)} plus what the format itself
              records. It must not load the format's library or numpy (a remembered verdict
              costs only startup). Keys starting with "~" hold what datascan's own scan
              changes (LevelDB's ctimes: the snapshot's hard links): taken again after a
              scan and compared at the next lookup, but not required to hold across a scan
    members(path) -> list | None
              the files a list source names, in order, repeats kept: objects with
              ``written`` (the name as listed) and ``path`` (None when it is not found);
              None when the path is one dataset, not a list (HDF5 source lists)
    rows_of(path) -> FileRows
              a row file's row count and the datasets rows are dropped from, or why its
              rows cannot be dropped (clean)
    caffe_rows(path, data=, label=) -> (Iterator[(index, None, row, label row)], locate)
              a row source in the order Caffe's data layer reads it (--forward), and the
              map from a stream index back to (file, row); keyed formats' ``walk`` is
              already in Caffe's (key) order
    bind(path, config)
              remember, in this process, what the path-only capabilities (walk, fetch,
              count, line_facts) need from the scan's options: an image list's root_folder.
              plan() does it too; a caller that reads records without planning (show, clean
              --from-report, the HTML report's pictures) calls it first
    line_facts(path, key) -> LineFacts | None
              what the reader says of the line a key names (image lists), as read() gives
              it to the checks: `show` judges a line as the scan does
    copy_rows(src, dst, drop, quarantine, tick, layout) -> CopiedRows
              a copy of a row file without the rows in `drop`, stored as the source is;
              raises RowsUnreadable when a row to keep cannot be read (clean)

Shards are descriptions, never record bytes. Indexes in a shard's result are
shard-local (0 = first record of the shard); scan.Merger adds each shard's offset.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..model import Finding, dataclass, field

KEYED, ROWS = "keyed", "rows"


@dataclass(frozen=True)
class Shard:
    source: str                 # the dataset path as the user named it
    format: str
    shard_id: int               # position among the source's shards (merge order)
    start: bytes | int | None = None   # first key (inclusive) or first row
    stop: bytes | int | None = None    # key or row where the next shard starts (exclusive)
    file: str | None = None     # the file to read when it differs from `source` (HDF5 lists)
    first_index: int | None = None     # absolute index of the shard's first record, if known
    encoding: str = "unknown"   # decided once at plan time from a sample (keyed formats)
    view: str | None = None     # a private copy-free view the planner made (LevelDB's shared
                                # snapshot); a worker that cannot see it reads the source
    version: int | None = None  # the version the planner saw (LMDB's transaction id)
    seek: tuple[int, int] | None = None   # (record, byte offset): where a text list's reader
                                # can start, at or before `start` (image lists)

    @property
    def shown(self) -> str:
        """The path findings about this shard's records name."""
        return self.file or self.source


@dataclass(frozen=True)
class Plan:
    source: str
    format: str
    shards: tuple[Shard, ...]
    findings: tuple[Finding, ...] = ()   # storage findings found while planning
    encoding: str = "unknown"
    records: int | None = None           # known up front (LMDB entries, HDF5 rows), else None
    scratch: tuple[str, ...] = ()        # temporary directories the scan removes when it ends
    validated: bool = False              # every byte a read will touch was validated while
                                         # planning (a tiny LMDB's pages): reading it cannot
                                         # kill the reader, so it may run in the scan's process


KeyValueBatch = list  # [(key bytes, value bytes), ...] as a keyed reader yields them


@dataclass(frozen=True)
class RowBlock:
    """Rows [start, stop) of one column (a numeric dataset) of an HDF5 file, as an array
    with one record per first-axis entry. ``done`` is how many records this block
    completes (the rows of the last column read): what progress counts."""
    column: str
    label: bool
    start: int
    stop: int
    values: Any          # numpy array; valid until the reader is asked for the next block
    done: int = 0


@dataclass(frozen=True)
class StorageDamage:
    """Something the reader could not read. With ``key`` it is one record (it still counts
    as a record of the source); with ``rows`` those rows of the shard's file; with neither a
    range of the source that could not be walked. ``opened`` is False when the shard's
    file could not be opened at all."""
    message: str
    key: bytes | None = None
    rows: range | None = None
    done: int = 0
    opened: bool = True
    code: str | None = None     # the code the scan gives this record when it is not DS101
                                # (an image list's unreadable file: DS130), for walk()'s callers


def unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be read by this process ("Permission denied", ...), None when it
    can: a directory is listed, a file opened. A reader that skips a file it cannot open
    (LevelDB's log, for one) would otherwise report a dataset it never read as clean."""
    try:
        if path.is_dir():
            os.listdir(path)
        else:
            with open(path, "rb"):
                pass
    except OSError as e:
        return e.strerror or str(e)
    return None


@dataclass(frozen=True)
class LineFacts:
    """What a list's reader found about one of its lines (image lists), for the checks to
    judge (checks/imagelist.py): the label as written and what Caffe's atoi makes of it, and
    why the file it names cannot be read (``unreadable``; the line then stands for its
    record: ``done`` 1, and no (key, value) pair follows). A line whose file reads comes
    before its record, with ``done`` 0."""
    key: bytes
    line: int                     # 1-based line number in the list
    path: bytes                   # the path as written (everything before the last space)
    label_text: bytes | None      # the text after the last space; None: the line has no space
    label: int                    # what Caffe's atoi reads
    file: str                     # root_folder + path, the file Caffe opens
    unreadable: str | None = None
    done: int = 0


@dataclass(frozen=True)
class Changed:
    """The reader found the dataset at another version than the planner saw (a writer
    committed): what it read does not belong to the same state as the other shards."""
    message: str


def stat_files(files, ctime: bool = True) -> dict[str, list[int]]:
    """Device, inode, size, mtime_ns and ctime_ns of each file, by name: an in-place write
    changes ctime even when mtime is set back (touch -r), and a replaced file its inode."""
    out = {}
    for f in files:
        st = os.stat(f)
        out[str(f)] = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns] + [st.st_ctime_ns] * ctime
    return out


@dataclass(frozen=True)
class FileRows:
    """What rows_of() says of a row file."""
    rows: int                          # the first dimension the numeric datasets share
    row_datasets: tuple[str, ...]      # the datasets rows are dropped from
    problem: str | None = None         # why the file cannot be cleaned row-wise


@dataclass
class CopiedRows:
    """What copy_rows() did."""
    kept: int = 0
    dropped: int = 0
    quarantined: int = 0
    unreadable: list[int] = field(default_factory=list)   # dropped rows not in the quarantine


class RowsUnreadable(Exception):
    """A row to keep cannot be read: the copy would not be faithful."""


@dataclass(frozen=True)
class Format:
    name: str
    records: str
    sniff: Callable[[Path], bool]
    plan: Callable[..., Plan]
    read: Callable[..., Iterator]
    damage: Callable | None = None
    walk: Callable[[Path], Iterator] | None = None
    fetch: Callable | None = None
    write: Callable[..., int] | None = None
    count: Callable[[Path], int | None] | None = None
    single_file: Callable[[Path], bool] | None = None
    errors: tuple[type[BaseException], ...] = ()
    fingerprint: Callable[[Path], dict] | None = None
    members: Callable[[Path], list | None] | None = None
    rows_of: Callable[[Path], FileRows] | None = None
    copy_rows: Callable[..., CopiedRows] | None = None
    caffe_rows: Callable[..., tuple] | None = None
    bind: Callable[..., None] | None = None
    line_facts: Callable[..., LineFacts | None] | None = None
