"""HDF5 files and Caffe HDF5Data source lists. A record is a row along the first dimension.

Files are opened "r" only. Every numeric dataset at any depth is a column of the
records: those named in ``config.label_datasets`` are labels, the others data, as
HDF5Data would load them. Each column is read in blocks of whole chunks, at most
BLOCK_BYTES big, one block at a time, so memory does not grow with the file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from math import ceil, prod
from pathlib import Path

import h5py

from ..checks import arrays
from ..config import INFO_CAP, ScanConfig
from ..errors import SourceOpenError
from ..model import Finding, Severity
from . import h5list
from .interface import Plan, Shard, ShardResult, ShardSummary

NAME = "hdf5"
ENCODING = "array"
BLOCK_BYTES = 8 << 20      # one block of rows, all columns together
READ_ERRORS = (OSError, RuntimeError, ValueError, KeyError)
_NUMERIC = (h5py.h5t.FLOAT, h5py.h5t.INTEGER)


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

    def block_rows(self) -> int:
        """Rows per read: about BLOCK_BYTES, whole chunks (a read that cuts a chunk
        makes HDF5 visit it twice)."""
        rows = max(1, BLOCK_BYTES // max(1, self.itemsize * self.width))
        return rows - rows % self.chunk_rows if 0 < self.chunk_rows <= rows else rows


@dataclass
class Layout:
    columns: list[Column] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    rows: int = 0

    def step(self) -> int:
        return max([c.chunk_rows for c in self.columns] + [1])

    def block_rows(self) -> int:
        rows = max(1, BLOCK_BYTES // max(1, sum(c.itemsize * c.width for c in self.columns)))
        return rows - rows % self.step() if rows >= self.step() else rows


class _Files:
    """Open files by real path, closed together (an external link opens a second file)."""

    def __init__(self) -> None:
        self.open: dict[str, h5py.File] = {}

    def get(self, path: Path) -> h5py.File:
        key = os.path.realpath(path)
        if key not in self.open:
            self.open[key] = h5py.File(path, "r")
        return self.open[key]

    def dataset(self, col: Column) -> h5py.Dataset:
        return _open_dataset(self.get(Path(col.file)).id, col.path.encode(), Path(col.file))

    def __enter__(self) -> _Files:
        return self

    def __exit__(self, *exc) -> None:
        for f in self.open.values():
            f.close()


def _open_dataset(loc, name: bytes, file: Path) -> h5py.Dataset:
    # HDF5 resolves external raw storage against the working directory by default:
    # make it, and virtual sources, resolve beside the file that holds the dataset.
    dapl = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    home = os.fsencode(os.path.dirname(os.path.abspath(file)))
    dapl.set_efile_prefix(home)
    dapl.set_virtual_prefix(home)
    return h5py.Dataset(h5py.h5d.open(loc, name, dapl))


def inspect(file: Path, shown: str, config: ScanConfig, files: _Files) -> Layout:
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
            note("DS101", f"group '{prefix or '/'}' cannot be read ({e})")
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
                    note("DS105", f"'{full}' is an external link to {link.filename}:{link.path}, "
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
                    col = _column(_open_dataset(loc.id, path.encode(), target), full, target,
                                  home, config, note)
                    if col is not None:
                        out.columns.append(col)
            except READ_ERRORS as e:
                note("DS101", f"object '{full}' cannot be read ({e})")
    firsts = {c.name: c.shape[0] for c in out.columns}
    if len(set(firsts.values())) > 1:
        listed = ", ".join(f"'{n}' {r}" for n, r in list(firsts.items())[:8])
        note("DS601", f"datasets disagree on the first dimension ({listed}): HDF5Data aborts "
             "(\"Check failed: hdf_blobs_[i]->shape(0) == num\"); rows not scanned")
        out.columns = []
    elif not out.columns and not out.findings:
        note("DS100", "holds no numeric dataset for HDF5Data to read")
    out.rows = next(iter(firsts.values())) if out.columns else 0
    return out


def _column(ds: h5py.Dataset, full: str, file: Path, home: Path, config: ScanConfig,
            note) -> Column | None:
    cls = ds.id.get_type().get_class()
    if cls not in _NUMERIC:
        note("DS602", f"'{full}' holds {ds.dtype} data: HDF5Data reads only float and integer "
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
        note("DS105", f"'{full}' is {kind} ({', '.join(sorted({str(r) for r in refs}))[:300]}): "
             + (f"{bad[0]} is outside {home} or missing: not scanned" if bad
                else "inside the dataset's directory: scanned"))
        if bad:
            return None
    if not ds.shape:
        note("DS601", f"'{full}' is scalar: HDF5Data needs a first dimension; not scanned",
             Severity.WARNING)
        return None
    label = full.rsplit("/", 1)[-1] in config.label_datasets
    if cls == h5py.h5t.INTEGER and not label:
        note("DS602", f"'{full}' holds {ds.dtype} data: HDF5Data converts it to float silently",
             Severity.INFO)
    missing = [f"{fname.decode(errors='replace') or 'unnamed'} (id {fid})"
               for fid, _, _, fname in map(dcpl.get_filter, range(dcpl.get_nfilters()))
               if not h5py.h5z.filter_avail(fid)]
    return Column(full, str(file), ds.name, label, ds.shape, ds.dtype.itemsize,
                  ds.chunks[0] if ds.chunks else 0, ", ".join(missing))


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
        findings.append(Finding.of("DS100", str(path), "neither an HDF5 file (no HDF5 signature) "
                                   "nor a text list of HDF5 files"))
        return []
    files, problems = h5list.listed_files(path)
    findings.extend(problems)
    return [(f, str(f)) for f in files]


def _probe(file: Path, shown: str, config: ScanConfig, findings: list[Finding]) -> Layout | None:
    if h5list.signature_offset(file) is None:
        findings.append(Finding.of("DS100", shown, "not an HDF5 file (no HDF5 signature)"))
        return None
    cut = h5list.truncation(file)
    if cut:
        findings.append(Finding.of("DS102", shown, f"file is {cut[0]} bytes but its superblock "
                                   f"says it ends at byte {cut[1]}"))
        return None
    try:
        with _Files() as files:
            layout = inspect(file, shown, config, files)
    except READ_ERRORS as e:
        findings.append(Finding.of("DS100", shown, f"cannot be opened as HDF5 ({e})"))
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
        step = layout.step()
        span = ceil(max(target, layout.block_rows()) / step) * step
        for start in range(0, layout.rows, span):
            shards.append(Shard(str(path), NAME, len(shards), start, min(start + span, layout.rows),
                                file=shown, first_index=start, encoding=ENCODING))
    return Plan(str(path), NAME, tuple(shards), tuple(findings), ENCODING, total)


def _read(ds: h5py.Dataset, col: Column, a: int, b: int):
    """Yield (first row, stop row, array or the read error). A failing block is retried
    chunk by chunk so only the rows of the chunk that cannot be read are lost."""
    try:
        block = ds[a:b]
    except READ_ERRORS as e:
        if not col.chunk_rows:
            yield a, b, e
            return
    else:
        yield a, b, block
        return
    lo = a
    while lo < b:
        hi = min(b, lo - lo % col.chunk_rows + col.chunk_rows)
        try:
            piece = ds[lo:hi]
        except READ_ERRORS as e:
            piece = e
        yield lo, hi, piece
        lo = hi


class _Checker:
    """Turns array hits into findings for one shard (indexes shard-local)."""

    def __init__(self, shown: str, config: ScanConfig, start: int, counted: Column | None):
        self.shown, self.config, self.start, self.counted = shown, config, start, counted
        self.findings: list[Finding] = []
        self.summary = ShardSummary()
        self.info_rows: dict[str, int] = {}

    def add(self, code: str, row: int, message: str) -> None:
        self.findings.append(Finding.of(code, self.shown, message, index=row - self.start))

    def unreadable(self, col: Column, a: int, b: int, error: Exception) -> None:
        why = f"filter {col.missing_filter} is not available here" if col.missing_filter else error
        for row in range(a, b):
            self.add("DS101", row, f"chunk of '{col.name}' holding rows {a}-{b - 1} cannot be "
                     f"read ({why})")

    def block(self, col: Column, first: int, block) -> None:
        rows, what, cfg = arrays.as_rows(block), f"'{col.name}'", self.config
        problems = arrays.value_problems(rows, what)
        if col.label:
            problems += arrays.label_problems(rows, what, cfg.num_classes, cfg.ignore_label)
        for r, code, message in problems:
            if code == "DS302":     # info only: a float set in raw units would list every row
                # Listing the first INFO_CAP per column and shard keeps the first INFO_CAP
                # of the file whatever the split; scan's merge cuts to those and counts the rest.
                seen = self.info_rows[col.name] = self.info_rows.get(col.name, 0) + 1
                if seen > INFO_CAP:
                    self.summary.capped[self.shown, code] += 1
                    continue
            self.add(code, first + r, message)
        if col is self.counted:
            self.summary.labels.update(arrays.integer_histogram(rows))


def run(shard: Shard, config: ScanConfig) -> ShardResult:
    shown = shard.file or shard.source
    start = int(shard.start or 0)
    try:
        files = _Files()
        layout = inspect(Path(shown), shown, config, files)
        datasets = [files.dataset(c) for c in layout.columns]
    except READ_ERRORS as e:
        files.__exit__()
        return ShardResult(shard, 0, [Finding.of("DS100", shown, f"cannot be opened as HDF5 ({e})")])
    counted = next((c for c in layout.columns if c.label and c.width == 1), None)
    check = _Checker(shown, config, start, counted)
    stop = min(int(shard.stop if shard.stop is not None else layout.rows), layout.rows)
    nbytes = 0
    with files:
        for col, ds in zip(layout.columns, datasets):
            step, row = col.block_rows(), start
            while row < stop:
                end = min(stop, row - row % step + step)
                for a, b, block in _read(ds, col, row, end):
                    if isinstance(block, Exception):
                        check.unreadable(col, a, b, block)
                    else:
                        nbytes += block.nbytes
                        check.block(col, a, block)
                    del block       # free it before the next read, not after
                row = end
    return ShardResult(shard, max(0, stop - start), check.findings, check.summary, nbytes)
