"""HDF5 writer for `datascan clean`: a copy of a file without some rows, stored as the source is.

Every object of the source is recreated in the copy, in the source's link order:
groups with their creation properties (link and attribute order tracking) and
attributes; datasets that are not row data and named datatypes copied whole
(H5Ocopy); soft links and second hard links as links. A *row dataset* (its first
dimension is the row count all numeric datasets of the file share, as HDF5Data
needs) is created from the source's own creation property list — chunk shape, every
filter (gzip, shuffle, fletcher32, scaleoffset, plugins), fill value and fill time,
allocation time — and datatype, with only the first dimension shrunk; its attributes
are copied; then all row datasets are filled together, one chunk-aligned block of
rows at a time (hdf5.rows_per_block over all of them), so memory does not grow with
the file. Rows are dropped from every row dataset together.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from h5py import h5, h5d, h5o, h5p, h5s, h5t

from .h5layout import NUMERIC, READ_ERRORS, read_rows, rows_per_block
from .interface import CopiedRows as Written, FileRows, RowsUnreadable


@dataclass(frozen=True)
class _Link:
    group: h5py.Group
    name: str
    full: str
    link: object
    info: object | None                # h5o info of a hard link's object
    first: str | None                  # the path this object was first reached by, if not this


def _links(f: h5py.File) -> Iterator[_Link]:
    """Every link below the root, breadth first, each group entered once."""
    seen: dict[tuple, str] = {}
    todo = [(f, "/")]
    while todo:
        group, prefix = todo.pop(0)
        for name in group:
            full = prefix + name
            link = group.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                yield _Link(group, name, full, link, None, None)
                continue
            info = h5o.get_info(group.id, name.encode())
            first = seen.setdefault((info.fileno, info.addr), full)
            yield _Link(group, name, full, link, info, first if first != full else None)
            if first == full and info.type == h5o.TYPE_GROUP:
                todo.append((group[name], full + "/"))


def rows_of(path: Path) -> FileRows:
    """The file's row count and row datasets, or why its rows cannot be dropped (a file
    HDF5 cannot open included)."""
    try:
        return inspect(path)
    except READ_ERRORS as e:
        return FileRows(0, (), f"cannot be opened as HDF5 ({e})")


def inspect(path: Path) -> FileRows:
    """The file's row count and row datasets, or why its rows cannot be dropped."""
    firsts: dict[str, int] = {}
    shapes: dict[str, tuple] = {}
    with h5py.File(path, "r") as f:
        for lk in _links(f):
            if isinstance(lk.link, h5py.ExternalLink):
                return FileRows(0, (), f"'{lk.full}' is an external link to {lk.link.filename}: "
                                "clean copies only self-contained files (h5repack it first)")
            if lk.info is None or lk.first or lk.info.type != h5o.TYPE_DATASET:
                continue
            ds = lk.group[lk.name]
            dcpl = ds.id.get_create_plist()
            if ds.is_virtual or dcpl.get_external_count():
                return FileRows(0, (), f"'{lk.full}' keeps its data in other files (virtual or "
                                "external storage): clean copies only self-contained files")
            if not dcpl.all_filters_avail():
                return FileRows(0, (), f"'{lk.full}' is compressed with a filter not available "
                                "here: its rows cannot be read")
            shapes[lk.full] = ds.shape or ()
            if ds.shape and ds.id.get_type().get_class() in NUMERIC:
                firsts[lk.full] = ds.shape[0]
    if len(set(firsts.values())) > 1:
        listed = ", ".join(f"'{n}' {r}" for n, r in list(firsts.items())[:8])
        return FileRows(0, (), f"datasets disagree on the first dimension ({listed}): "
                        "rows cannot be dropped from it")
    rows = next(iter(firsts.values()), 0)
    row_datasets = tuple(n for n, s in shapes.items() if firsts and s and s[0] == rows)
    return FileRows(rows, row_datasets)


def _lcpl(name: str) -> h5p.PropLCID:
    lcpl = h5p.create(h5p.LINK_CREATE)
    lcpl.set_char_encoding(h5t.CSET_ASCII if name.isascii() else h5t.CSET_UTF8)
    return lcpl


def copy_attrs(src_id, dst_id) -> None:
    """Every attribute, in the source's order, with its own datatype and dataspace."""
    plist = src_id.get_create_plist()
    tracked = plist.get_attr_creation_order() & h5p.CRT_ORDER_TRACKED
    order = h5.INDEX_CRT_ORDER if tracked else h5.INDEX_NAME
    for i in range(h5py.h5a.get_num_attrs(src_id)):
        a = h5py.h5a.open(src_id, index=i, index_type=order)
        space = a.get_space()
        b = h5py.h5a.create(dst_id, a.name, a.get_type().copy(), space)
        if space.get_simple_extent_type() != h5s.NULL:
            buf = np.zeros(a.shape, dtype=a.dtype)
            mtype = h5t.py_create(a.dtype)
            a.read(buf, mtype=mtype)
            b.write(buf, mtype=mtype)


def _create_rows(dst: h5py.Group, name: str, src: h5py.Dataset, n: int) -> h5py.Dataset:
    """An empty dataset of ``n`` rows stored exactly as ``src`` is."""
    dcpl = src.id.get_create_plist()
    space = src.id.get_space()
    dims = space.get_simple_extent_dims()
    maxdims = space.get_simple_extent_dims(True)
    if maxdims[0] == h5s.UNLIMITED:
        max0 = h5s.UNLIMITED
    elif maxdims[0] > dims[0]:
        max0 = maxdims[0] - (dims[0] - n)   # as much room to grow as the source had
    else:
        max0 = n
    if dcpl.get_layout() == h5d.CHUNKED:
        chunk = dcpl.get_chunk()
        if max0 != h5s.UNLIMITED and chunk[0] > max0:
            if n == 0:
                max0 = h5s.UNLIMITED             # no chunk fits a fixed empty extent
            else:
                dcpl.set_chunk((max0,) + tuple(chunk[1:]))
    new_space = h5s.create_simple((n,) + tuple(dims[1:]), (max0,) + tuple(maxdims[1:]))
    dsid = h5d.create(dst.id, name.encode(), src.id.get_type().copy(), new_space, dcpl=dcpl,
                      lcpl=_lcpl(name))
    copy_attrs(src.id, dsid)
    return h5py.Dataset(dsid)


def _read(ds: h5py.Dataset, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows [a, b) and which of them could be read (the fill value where not)."""
    pieces = list(read_rows(ds, a, b))
    if len(pieces) == 1 and not isinstance(pieces[0][2], Exception):
        return pieces[0][2], np.ones(b - a, dtype=bool)
    ok = np.zeros(b - a, dtype=bool)
    out = np.zeros((b - a,) + ds.shape[1:], dtype=ds.dtype)
    try:
        out[...] = ds.fillvalue
    except (TypeError, ValueError):
        pass
    for lo, hi, piece in pieces:
        if not isinstance(piece, Exception):
            out[lo - a:hi - a] = piece
            ok[lo - a:hi - a] = True
    return out, ok


class _Output:
    """One file being written: the cleaned copy or the quarantine."""

    def __init__(self, path: Path, src: h5py.File, rows: int, rdcc: int):
        root = src["/"].id.get_create_plist()
        # A chunk cache holding a few chunks per dataset: output rows shift against the
        # source's chunks, so a chunk is completed across two blocks without being re-read.
        self.file = h5py.File(path, "w", libver=src.libver, userblock_size=src.userblock_size or None,
                              rdcc_nbytes=rdcc, rdcc_nslots=10007,
                              track_order=bool(root.get_link_creation_order() & h5p.CRT_ORDER_TRACKED))
        self.rows = rows
        self.at = 0
        self.datasets: list[h5py.Dataset] = []


def write_rows(src: Path, dst: Path, drop: np.ndarray, quarantine: Path | None = None,
               tick: Callable[[int], None] = lambda n: None, layout: FileRows | None = None) -> Written:
    """Copy ``src`` to ``dst`` without the rows in ``drop`` (sorted); those go to ``quarantine``."""
    layout = layout or inspect(src)
    if layout.problem:
        raise RowsUnreadable(layout.problem)
    drop = np.unique(np.asarray(drop, dtype=np.int64))
    if drop.size and (drop[0] < 0 or drop[-1] >= layout.rows):
        raise RowsUnreadable(f"row {int(drop[-1])} is named but the file has {layout.rows} rows")
    stats = Written(kept=layout.rows - drop.size, dropped=int(drop.size))
    with h5py.File(src, "r") as f:
        row_src = [f[n] for n in layout.row_datasets]
        chunk_bytes = max([int(np.prod(ds.chunks)) * ds.dtype.itemsize
                           for ds in row_src if ds.chunks] + [1 << 20])
        outs = [_Output(dst, f, stats.kept, 4 * chunk_bytes)]
        if quarantine is not None:
            outs.append(_Output(quarantine, f, stats.dropped, 4 * chunk_bytes))
        try:
            _structure(f, outs, set(layout.row_datasets))
            _stream(row_src, outs, drop, layout.rows, stats, tick)
        finally:
            for o in outs:
                o.file.close()
    if src_ub := _userblock(src):
        for o in [dst] + ([quarantine] if quarantine is not None else []):
            with open(o, "r+b") as fh:
                fh.write(src_ub)
    return stats


def _userblock(path: Path) -> bytes:
    with h5py.File(path, "r") as f:
        size = f.userblock_size
    if not size:
        return b""
    with open(path, "rb") as fh:
        return fh.read(size)


def _structure(f: h5py.File, outs: list[_Output], row_names: set[str]) -> None:
    for o in outs:
        copy_attrs(f["/"].id, o.file["/"].id)
    for lk in _links(f):
        for o in outs:
            parent = o.file[lk.group.name]
            if isinstance(lk.link, h5py.SoftLink):
                parent.id.links.create_soft(lk.name.encode(), lk.link.path.encode(), lcpl=_lcpl(lk.name))
            elif isinstance(lk.link, h5py.ExternalLink):
                parent.id.links.create_external(lk.name.encode(), lk.link.filename.encode(),
                                                lk.link.path.encode(), lcpl=_lcpl(lk.name))
            elif lk.first is not None:
                parent.id.links.create_hard(lk.name.encode(), o.file.id, lk.first.encode(),
                                            lcpl=_lcpl(lk.name))
            elif lk.info.type == h5o.TYPE_GROUP:
                gid = h5py.h5g.create(parent.id, lk.name.encode(), lcpl=_lcpl(lk.name),
                                      gcpl=lk.group[lk.name].id.get_create_plist())
                copy_attrs(lk.group[lk.name].id, gid)
            elif lk.full in row_names:
                o.datasets.append(_create_rows(parent, lk.name, lk.group[lk.name], o.rows))
            else:
                h5o.copy(lk.group.id, lk.name.encode(), parent.id, lk.name.encode(), lcpl=_lcpl(lk.name))


def _block_rows(row_src: list[h5py.Dataset]) -> int:
    """Rows per block over all row datasets together, whole chunks of the largest."""
    step = max([ds.chunks[0] for ds in row_src if ds.chunks] + [1])
    width = sum(ds.dtype.itemsize * int(np.prod(ds.shape[1:])) for ds in row_src)
    return max(step, rows_per_block(width, step))


def _stream(row_src: list[h5py.Dataset], outs: list[_Output], drop: np.ndarray, rows: int,
            stats: Written, tick: Callable[[int], None]) -> None:
    if not row_src:
        return
    span = _block_rows(row_src)
    for a in range(0, rows, span):
        b = min(rows, a + span)
        dropped = np.zeros(b - a, dtype=bool)
        dropped[drop[np.searchsorted(drop, a):np.searchsorted(drop, b)] - a] = True
        blocks, readable = [], np.ones(b - a, dtype=bool)
        for ds in row_src:
            block, ok = _read(ds, a, b)
            blocks.append(block)
            readable &= ok
        lost = np.flatnonzero(~readable & ~dropped)
        if lost.size:
            raise RowsUnreadable(f"row {a + int(lost[0])} cannot be read but is not to be dropped")
        stats.unreadable += (np.flatnonzero(~readable & dropped) + a).tolist()
        # The quarantine keeps every dropped row, in order, so its row i is the i-th dropped
        # row; one that cannot be read holds the fill value (the manifest says which).
        for o, mask in zip(outs, (~dropped, dropped)):
            n = int(mask.sum())
            if not n:
                continue
            for block, ds in zip(blocks, o.datasets):
                ds[o.at:o.at + n] = block[mask]
            o.at += n
        tick(b - a)
    if len(outs) > 1:
        stats.quarantined = stats.dropped - len(stats.unreadable)
