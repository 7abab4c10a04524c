"""HDF5 files and Caffe HDF5Data source lists. A record is a row along the first dimension.

Files are opened "r" only. Every numeric dataset at any depth is a column of the
records: those named in ``config.label_datasets`` are labels, the others data, as
HDF5Data would load them (h5layout.py finds them). Each column is read in blocks of
whole chunks, at most h5layout.BLOCK_BYTES big, one block at a time, so memory does not grow
with the file; read() yields them as RowBlocks (checks/rows.py judges them).
"""
from __future__ import annotations

from math import ceil
from pathlib import Path
from typing import TYPE_CHECKING

from ..codes import CANNOT_OPEN, TRUNCATED
from ..config import ScanConfig
from ..errors import SourceOpenError
from ..model import Finding
from . import h5list
from .interface import ROWS, Format, Plan, RowBlock, Shard, StorageDamage, stat_files, unreadable

# numpy and h5py load when a file is read, not when one is sniffed or fingerprinted (a
# remembered verdict costs only startup): the functions below import what they use, and
# sources.get() says what to install when h5py is missing.
if TYPE_CHECKING:
    from .h5layout import Column, Layout

NAME = "hdf5"
ENCODING = "array"


def block_rows(col: Column) -> int:
    from .h5layout import rows_per_block
    return rows_per_block(col.itemsize * col.width, col.chunk_rows)


def _shard_rows(layout: Layout, target: int) -> int:
    """Rows per shard: about `target`, at least one block of every column together, and
    a whole number of the largest chunk."""
    from .h5layout import rows_per_block
    step = max([c.chunk_rows for c in layout.columns] + [1])
    rows = rows_per_block(sum(c.itemsize * c.width for c in layout.columns), step)
    return ceil(max(target, rows) / step) * step


def sniff(path: Path) -> bool:
    try:
        path = Path(path)
        return path.is_file() and (h5list.signature_offset(path) is not None
                                   or h5list.looks_like_list(path))
    except (OSError, ValueError):
        return False


def _targets(path: Path, findings: list[Finding]) -> list[tuple[Path, str]]:
    """The .h5 files to scan: the file itself, or each distinct file a list names."""
    if h5list.signature_offset(path) is not None:
        return [(path, str(path))]
    if not h5list.is_text(path):
        findings.append(Finding.of(CANNOT_OPEN, str(path), "neither an HDF5 file (no HDF5 signature) "
                                   "nor a text list of HDF5 files"))
        return []
    files, problems = h5list.listed_files(path)
    findings.extend(problems)
    return [(f, str(f)) for f in files]


def _probe(file: Path, shown: str, config: ScanConfig, findings: list[Finding]) -> Layout | None:
    from .h5layout import READ_ERRORS, Files, inspect
    if (why := unreadable(file)) is not None:
        findings.append(Finding.of(CANNOT_OPEN, shown, f"cannot be read: {why}"))
        return None
    if h5list.signature_offset(file) is None:
        findings.append(Finding.of(CANNOT_OPEN, shown, "not an HDF5 file (no HDF5 signature)"))
        return None
    cut = h5list.truncation(file)
    if cut:
        findings.append(Finding.of(TRUNCATED, shown, f"file is {cut[0]} bytes but its superblock "
                                   f"says it ends at byte {cut[1]}"))
        return None
    try:
        with Files() as files:
            layout = inspect(file, shown, config, files)
    except READ_ERRORS as e:
        findings.append(Finding.of(CANNOT_OPEN, shown, f"cannot be opened as HDF5 ({e})"))
        return None
    findings.extend(layout.findings)
    return layout


def plan(path: Path, config: ScanConfig, n_shards: int = 1) -> Plan:
    path = Path(path)
    if not path.is_file():
        raise SourceOpenError(f"{path}: not a file")
    findings: list[Finding] = []
    layouts = [(shown, layout) for file, shown in _targets(path, findings)
               if (layout := _probe(file, shown, config, findings)) is not None]
    total = sum(layout.rows for _, layout in layouts)
    target = ceil(total / max(1, n_shards))
    shards: list[Shard] = []
    for shown, layout in layouts:
        span = _shard_rows(layout, target)
        for start in range(0, layout.rows, span):
            shards.append(Shard(str(path), NAME, len(shards), start, min(start + span, layout.rows),
                                file=shown, first_index=start, encoding=ENCODING))
    return Plan(str(path), NAME, tuple(shards), tuple(findings), ENCODING, total)


def read(shard: Shard, config: ScanConfig, size: int = 0):
    """The shard's rows, column by column, in blocks (RowBlock); chunks that cannot be read
    as StorageDamage naming their rows. ``done`` spreads the shard's rows over the blocks by
    bytes read, so progress moves with the data whichever column is being read."""
    import numpy as np
    from .h5layout import READ_ERRORS, Files, inspect, read_rows
    from .h5map import Mapped
    shown = shard.shown
    start = int(shard.start or 0)
    files = Files()
    try:
        layout = inspect(Path(shown), shown, config, files)
        datasets = [files.dataset(c) for c in layout.columns]
    except READ_ERRORS as e:
        files.__exit__()
        yield StorageDamage(f"cannot be opened as HDF5 ({e})", opened=False)
        return
    stop = min(int(shard.stop if shard.stop is not None else layout.rows), layout.rows)
    rows = max(0, stop - start)
    total = rows * sum(c.itemsize * c.width for c in layout.columns)
    read_bytes = told = 0

    def done(col: Column, a: int, b: int) -> int:
        nonlocal read_bytes, told
        read_bytes += (b - a) * col.itemsize * col.width
        now = rows if read_bytes >= total else read_bytes * rows // total
        told, n = now, now - told
        return n

    with files:
        for col, ds in zip(layout.columns, datasets):
            step, row = block_rows(col), start
            buf = np.empty((min(step, rows), *ds.shape[1:]), ds.dtype)
            mapped = Mapped.of(ds)
            while row < stop:
                end = min(stop, row - row % step + step)
                for a, b, block in read_rows(ds, row, end, buf, mapped):
                    if isinstance(block, Exception):
                        why = f"filter {col.missing_filter} is not available here" \
                            if col.missing_filter else block
                        yield StorageDamage(f"chunk of '{col.name}' holding rows {a}-{b - 1} "
                                            f"cannot be read ({why})", rows=range(a, b),
                                            done=done(col, a, b))
                    else:
                        yield RowBlock(col.name, col.label, a, b, block, done(col, a, b))
                    del block       # free it before the next read, not after
                row = end


def members(path: Path) -> list[h5list.Entry] | None:
    """The files a source list names, in Caffe's order (repeats kept); None for a file."""
    if h5list.signature_offset(path) is not None:
        return None
    return [h5list.resolve(name, path) for name in h5list.read_names(path)]


def fingerprint(path: Path) -> dict:
    """The file, or the list and every file it names (in order, where each was found)."""
    listed = members(path)
    files = [path] + [e.path for e in listed or () if e.path is not None]
    return {"files": stat_files(files), "names": [e.written for e in listed or ()]}


def rows_of(path: Path):
    from .hdf5_write import rows_of
    return rows_of(path)


def copy_rows(*args, **kwargs):
    from .hdf5_write import write_rows
    return write_rows(*args, **kwargs)


def caffe_rows(*args, **kwargs):
    from .hdf5_caffe import caffe_rows
    return caffe_rows(*args, **kwargs)


FORMAT = Format(NAME, ROWS, sniff, plan, read, single_file=lambda path: True, members=members,
                fingerprint=fingerprint, rows_of=rows_of, copy_rows=copy_rows,
                caffe_rows=caffe_rows)
