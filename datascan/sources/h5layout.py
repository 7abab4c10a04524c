"""What an HDF5 file holds for HDF5Data: its numeric datasets (columns of the records), found
by walking every group, external link and dataset, and what is not scanned and why.

Files are opened "r" only; an external link or external raw storage is followed only
inside the dataset's own directory (DS105). HDF5 itself resolves those against the
working directory by default: open_dataset makes them resolve beside the file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from math import prod
from pathlib import Path

import h5py
import numpy as np

from ..codes import BAD_DTYPE, CANNOT_OPEN, LABEL_MISSING, LINK_OUTSIDE, ROWS_DISAGREE, STORAGE_CORRUPT
from ..config import ScanConfig
from ..model import Finding, Severity
from . import h5list

READ_ERRORS = (OSError, RuntimeError, ValueError, KeyError)
BLOCK_BYTES = 8 << 20      # the most one read holds
MAX_BLOCK_ROWS = 1 << 16        # rows per read at most: a block's findings (one a row at worst) stay bounded
NUMERIC = (h5py.h5t.FLOAT, h5py.h5t.INTEGER)     # the type classes HDF5Data reads


@dataclass(frozen=True)
class Column:
    """One numeric dataset, read row-wise."""
    name: str              # its path in the scanned file, as findings name it
    file: str              # the file holding it (another one behind an external link)
    path: str              # its path inside `file`
    label: bool
    shape: tuple
    itemsize: int
    chunk_rows: int        # rows per chunk; 0 for contiguous storage
    missing_filter: str = ""   # compression filters this build of HDF5 cannot decode

    @property
    def width(self) -> int:
        return prod(self.shape[1:])


@dataclass
class Layout:
    columns: list[Column] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    rows: int = 0


class Files:
    """Open files by real path, closed together (an external link opens a second file)."""

    def __init__(self) -> None:
        self.open: dict[str, h5py.File] = {}

    def get(self, path: Path) -> h5py.File:
        key = os.path.realpath(path)
        if key not in self.open:
            self.open[key] = h5py.File(path, "r")
        return self.open[key]

    def dataset(self, col: Column) -> h5py.Dataset:
        return open_dataset(self.get(Path(col.file)).id, col.path.encode(), Path(col.file))

    def __enter__(self) -> Files:
        return self

    def __exit__(self, *exc) -> None:
        for f in self.open.values():
            f.close()


def open_dataset(loc, name: bytes, file: Path) -> h5py.Dataset:
    # HDF5 resolves external raw storage against the working directory by default:
    # make it, and virtual sources, resolve beside the file that holds the dataset.
    dapl = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    home = os.fsencode(os.path.dirname(os.path.abspath(file)))
    dapl.set_efile_prefix(home)
    dapl.set_virtual_prefix(home)
    return h5py.Dataset(h5py.h5d.open(loc, name, dapl))


def inspect(file: Path, shown: str, config: ScanConfig, files: Files) -> Layout:
    """Walk every group and dataset of ``file``; say what is scanned and what is not."""
    out = Layout()
    home = file.resolve().parent

    def note(code: str, message: str, severity: Severity | None = None) -> None:
        out.findings.append(Finding.of(code, shown, message, severity=severity))

    seen: set = set()
    todo = [(files.get(file), "", file)]
    while todo:
        group, prefix, where = todo.pop(0)
        try:
            names = list(group)
        except READ_ERRORS as e:
            note(STORAGE_CORRUPT, f"group '{prefix or '/'}' cannot be read ({e})")
            continue
        for name in names:
            full = prefix + name
            try:
                link = group.get(name, getlink=True)
                if isinstance(link, h5py.SoftLink):
                    continue                    # its target is reached through its hard link
                loc, path, target = group, name, where
                if isinstance(link, h5py.ExternalLink):
                    target = Path(link.filename)
                    target = target if target.is_absolute() else where.parent / target
                    ok = h5list.inside(target, home) and h5list.is_hdf5(target)
                    note(LINK_OUTSIDE, f"'{full}' is an external link to {link.filename}:{link.path}, "
                         + ("inside the dataset's directory: scanned" if ok
                            else f"outside {home} or missing: not scanned"))
                    if not ok:
                        continue
                    loc, path = files.get(target), link.path
                info = h5py.h5o.get_info(loc.id, path.encode())
                if (info.fileno, info.addr) in seen:
                    continue
                seen.add((info.fileno, info.addr))
                if info.type == h5py.h5o.TYPE_GROUP:
                    todo.append((loc[path], full + "/", target))
                elif info.type == h5py.h5o.TYPE_DATASET:
                    col = _column(open_dataset(loc.id, path.encode(), target), full, target,
                                  home, config, note)
                    if col is not None:
                        out.columns.append(col)
            except READ_ERRORS as e:
                note(STORAGE_CORRUPT, f"object '{full}' cannot be read ({e})")
    firsts = {c.name: c.shape[0] for c in out.columns}
    if len(set(firsts.values())) > 1:
        listed = ", ".join(f"'{n}' {r}" for n, r in list(firsts.items())[:8])
        note(ROWS_DISAGREE, f"datasets disagree on the first dimension ({listed}): HDF5Data aborts "
             "(\"Check failed: hdf_blobs_[i]->shape(0) == num\"); rows not scanned")
        out.columns = []
    elif not out.columns and not out.findings:
        note(CANNOT_OPEN, "holds no numeric dataset for HDF5Data to read")
    elif labels_asked(config) and not any(c.label for c in out.columns):
        names = " or ".join(repr(n) for n in config.label_datasets)
        held = ", ".join(repr(c.name) for c in out.columns[:8])
        note(LABEL_MISSING, f"no label dataset: none is named {names} (it holds {held}), so no label "
             "is checked; name the labels with --label-dataset", Severity.WARNING)
    out.rows = next(iter(firsts.values())) if out.columns else 0
    return out


def labels_asked(config: ScanConfig) -> bool:
    """Labels are expected: a class count to check them against, or datasets named for them."""
    return config.num_classes is not None or config.label_datasets != ScanConfig().label_datasets


def _column(ds: h5py.Dataset, full: str, file: Path, home: Path, config: ScanConfig,
            note) -> Column | None:
    cls = ds.id.get_type().get_class()
    if cls not in NUMERIC:
        note(BAD_DTYPE, f"'{full}' holds {ds.dtype} data: HDF5Data reads only float and integer "
             "classes (\"Unsupported datatype class\")")
        return None
    dcpl = ds.id.get_create_plist()
    refs = [Path(os.fsdecode(dcpl.get_external(i)[0])) for i in range(dcpl.get_external_count())]
    if ds.is_virtual:
        refs += [Path(m.file_name) for m in ds.virtual_sources() if m.file_name != "."]
    if refs:
        refs = [r if r.is_absolute() else file.parent / r for r in refs]
        bad = [r for r in refs if not (h5list.inside(r, home) and r.is_file())]
        kind = "a virtual dataset" if ds.is_virtual else "stored in external raw files"
        note(LINK_OUTSIDE, f"'{full}' is {kind} ({', '.join(sorted({str(r) for r in refs}))[:300]}): "
             + (f"{bad[0]} is outside {home} or missing: not scanned" if bad
                else "inside the dataset's directory: scanned"))
        if bad:
            return None
    if not ds.shape:
        note(ROWS_DISAGREE, f"'{full}' is scalar: HDF5Data needs a first dimension; not scanned",
             Severity.WARNING)
        return None
    label = full.rsplit("/", 1)[-1] in config.label_datasets
    if cls == h5py.h5t.INTEGER and not label:
        note(BAD_DTYPE, f"'{full}' holds {ds.dtype} data: HDF5Data converts it to float silently",
             Severity.INFO)
    missing = [f"{fname.decode(errors='replace') or 'unnamed'} (id {fid})"
               for fid, _, _, fname in map(dcpl.get_filter, range(dcpl.get_nfilters()))
               if not h5py.h5z.filter_avail(fid)]
    return Column(full, str(file), ds.name, label, ds.shape, ds.dtype.itemsize,
                  ds.chunks[0] if ds.chunks else 0, ", ".join(missing))


def rows_per_block(row_bytes: int, chunk_rows: int = 0) -> int:
    """Rows per read: about BLOCK_BYTES, whole chunks (a read that cuts a chunk makes HDF5
    visit it twice). The scan, clean's copy and --forward all read this way."""
    rows = max(1, min(MAX_BLOCK_ROWS, BLOCK_BYTES // max(1, row_bytes)))
    return rows - rows % chunk_rows if 0 < chunk_rows <= rows else rows


def read_rows(ds: h5py.Dataset, a: int, b: int, buf: np.ndarray | None = None, mapped=None):
    """Yield (first row, stop row, array or the read error) for rows [a, b) of `ds`: views
    of the file's pages where `mapped` (h5map.Mapped) can map them, else read into `buf` when
    given (one buffer per column, reused: memory stays at one block, and its pages are not
    faulted in again for every read). A failing block is retried chunk by chunk so that
    only the rows of the chunk that cannot be read are lost."""
    runs = mapped.plan(a, b) if mapped is not None else None
    for lo, hi, off in runs or ():
        try:
            rows = mapped.view(lo, hi, off)
        except (OSError, ValueError):
            yield from _read_rows(ds, lo, hi, buf)
            continue
        yield lo, hi, rows
        del rows       # the mapping goes with its last view
    if runs is None:
        yield from _read_rows(ds, a, b, buf)


def _read_rows(ds: h5py.Dataset, a: int, b: int, buf: np.ndarray | None = None):
    try:
        if buf is None:
            block = ds[a:b]
        else:
            block = buf[:b - a]
            ds.read_direct(block, np.s_[a:b], np.s_[0:b - a])
    except READ_ERRORS as e:
        if not ds.chunks:
            yield a, b, e
            return
    else:
        yield a, b, block
        return
    lo, step = a, ds.chunks[0]
    while lo < b:
        hi = min(b, lo - lo % step + step)
        try:
            piece = ds[lo:hi]
        except READ_ERRORS as e:
            piece = e
        yield lo, hi, piece
        lo = hi
