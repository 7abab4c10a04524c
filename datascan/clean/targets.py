"""One Target per source kind: what it reads, what DST looks like, and how to write it.

    inputs        the source's paths (DST and the quarantine may not touch them)
    dst_is_dir    DST is a directory (LMDB dir, LevelDB, HDF5 list) or a file
    records()     the record count when it is known without a full walk, else None
    precheck()    refuse early what cannot be cleaned (before the scan)
    write(...)    copy into temporaries; returns an Outcome (counts, drops, what to re-scan)
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..sources.interface import CopiedRows, FileRows, Format, RowsUnreadable
from .kv import write_kept, write_quarantine
from .drops import Drop, Selection, real
from .errors import CleanRefused

Tick = Callable[[str, int | None], Callable[[int], None]]
WRITE_BATCH_BYTES = 8 << 20


@dataclass
class Outcome:
    records: int = 0                          # source records walked while copying
    kept: int = 0
    drops: list[Drop] = field(default_factory=list)
    quarantined: set[tuple[str, int]] = field(default_factory=set)  # (real path, index) quarantined
    dropped_files: list[dict] = field(default_factory=list)
    scan: list[Path] = field(default_factory=list)        # the temporaries to verify


def _find(drops: dict[int, Drop], src: Path, index: int) -> Drop:
    return drops.get(index) or Drop(str(src), index, None, ())


class KVTarget:
    """A keyed format with a writer (LMDB, LevelDB): one database, records by key,
    dropped by ordinal."""

    def __init__(self, fmt: Format, src: Path):
        self.fmt, self.src = fmt, src
        self.inputs = [src]
        self.dst_is_dir = not fmt.single_file(src)
        self.kind = fmt.name

    def replaceable(self, path: Path) -> bool:
        return self.fmt.sniff(path)

    def records(self) -> int | None:
        return self.fmt.count(self.src) if self.fmt.count is not None else None

    def precheck(self) -> None:
        pass

    def write(self, tmp: Path, qtmp: Path | None, sel: Selection, progress: Tick) -> Outcome:
        # A batch is held twice while it commits (Python's list, the writer's dirty pages):
        # keep it small; a commit every few MB costs nothing next to the copying.
        drops = sel.for_file(self.src)
        copy = write_kept(self.fmt, self.src, tmp, drops, progress("copy", self.records()),
                          batch_bytes=WRITE_BATCH_BYTES)
        if qtmp is not None:
            write_quarantine(self.fmt, self.src, qtmp, copy, progress("quarantine", len(copy.dropped)),
                             batch_bytes=WRITE_BATCH_BYTES)
        out = Outcome(copy.records, copy.kept, scan=[tmp])
        out.drops = [_find(drops, self.src, i) for i, _ in copy.dropped]
        if qtmp is not None:
            out.quarantined = {(real(self.src), i) for i, _ in copy.dropped if i not in copy.unreadable}
        return out


class RowsFileTarget:
    """One file of a row format (HDF5): rows dropped from every row dataset together."""

    dst_is_dir = False

    def __init__(self, fmt: Format, src: Path):
        self.fmt, self.src = fmt, src
        self.kind = fmt.name
        self.inputs = [src]
        self._layout = None

    def layout(self) -> FileRows:
        if self._layout is None:
            self._layout = self.fmt.rows_of(self.src)
        return self._layout

    def replaceable(self, path: Path) -> bool:
        return path.is_file() and self.fmt.sniff(path) and self.fmt.members(path) is None

    def records(self) -> int | None:
        return self.layout().rows

    def precheck(self) -> None:
        if self.layout().problem:
            raise CleanRefused(f"{self.src}: {self.layout().problem}")

    def write(self, tmp: Path, qtmp: Path | None, sel: Selection, progress: Tick) -> Outcome:
        layout = self.layout()
        if layout.problem:
            raise CleanRefused(f"{self.src}: {layout.problem}")
        drops = sel.for_file(self.src)
        written = _copy(self.fmt, self.src, tmp, drops, qtmp, progress("copy", layout.rows), layout)
        out = Outcome(layout.rows, written.kept, scan=[tmp])
        out.drops = [_find(drops, self.src, i) for i in sorted(drops)]
        if qtmp is not None:
            out.quarantined = {(real(self.src), i) for i in set(drops) - set(written.unreadable)}
        return out


def _copy(fmt: Format, src: Path, tmp: Path, drops: dict[int, Drop], qtmp: Path | None, tick,
          layout: FileRows) -> CopiedRows:
    try:
        return fmt.copy_rows(src, tmp, np.array(sorted(drops), dtype=np.int64), qtmp, tick, layout)
    except RowsUnreadable as e:
        raise CleanRefused(f"{src}: {e}") from None


class RowsListTarget:
    """A list of row files (a Caffe HDF5Data source list): DST is a directory holding a
    new list (same name) that names the cleaned files, by absolute path, in the order and
    multiplicity of the source list. Files left with no row are left out of the list."""

    dst_is_dir = True

    def __init__(self, fmt: Format, src: Path, members: list, drop_files: bool):
        self.fmt, self.src, self.drop_files = fmt, src, drop_files
        self.kind = f"{fmt.name}-list"
        self.entries = members
        files = {real(e.path): e.path for e in self.entries if e.path is not None}
        self.files = list(files.values())
        self.inputs = [src] + self.files
        self.layouts = {real(f): fmt.rows_of(f) for f in self.files}
        self.out_names = _unique_names(self.files, taken={src.name})

    def replaceable(self, path: Path) -> bool:
        """A directory of row files and lists of them, as clean writes (nothing else)."""
        return path.is_dir() and all(p.is_file() and (self.fmt.sniff(p) or p.stat().st_size == 0)
                                     for p in path.iterdir())

    def records(self) -> int | None:
        return sum(lay.rows for lay in self.layouts.values())   # 0 for a file with a problem

    def precheck(self) -> None:
        self._bad_files()

    def _bad_files(self) -> list[dict]:
        bad = []
        for e in self.entries:
            if e.path is None:
                bad.append({"path": e.written, "reason": "listed but not found", "records": 0})
        for f in self.files:
            lay = self.layouts[real(f)]
            if lay.problem:
                bad.append({"path": str(f), "reason": lay.problem, "records": lay.rows})
        if bad and not self.drop_files:
            raise CleanRefused(f"{self.src}: {bad[0]['path']}: {bad[0]['reason']}; "
                               "clean stops (--drop-files leaves such files out of the new list)")
        return bad

    def write(self, tmp: Path, qtmp: Path | None, sel: Selection, progress: Tick,
              final: Path | None = None, qfinal: Path | None = None) -> Outcome:
        out = Outcome()
        out.dropped_files = self._bad_files()
        out.records = sum(d["records"] for d in out.dropped_files)
        skipped = {real(d["path"]) for d in out.dropped_files}
        tick = progress("copy", sum(lay.rows for k, lay in self.layouts.items() if k not in skipped))
        kept_files, q_files = set(), set()
        for f in self.files:
            if real(f) in skipped:
                continue
            layout = self.layouts[real(f)]
            drops = sel.for_file(f)
            name = self.out_names[real(f)]
            written = _copy(self.fmt, f, tmp / name, drops, qtmp / name if qtmp else None, tick,
                            layout)
            out.records += layout.rows
            out.kept += written.kept
            out.drops += [_find(drops, f, i) for i in sorted(drops)]
            if qtmp is not None:
                out.quarantined |= {(real(f), i) for i in set(drops) - set(written.unreadable)}
                if written.dropped:
                    q_files.add(real(f))
                else:
                    (qtmp / name).unlink()
            if written.kept:
                kept_files.add(real(f))
                out.scan.append(tmp / name)
            else:
                (tmp / name).unlink()
        self._write_list(tmp, final or tmp, kept_files)
        if qtmp is not None:
            self._write_list(qtmp, qfinal or qtmp, q_files)
        return out

    def _write_list(self, where: Path, final: Path, present: set[str]) -> None:
        lines = [str(final / self.out_names[real(e.path)]) for e in self.entries
                 if e.path is not None and real(e.path) in present]
        (where / self.src.name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _unique_names(files: list[Path], taken: set[str]) -> dict[str, str]:
    """A file name in DST for each source file: its own name, made unique."""
    out, used = {}, set(taken)
    for f in files:
        stem, suffix = os.path.splitext(f.name)
        name, n = f.name, 1
        while name in used:
            name, n = f"{stem}_{n}{suffix}", n + 1
        used.add(name)
        out[real(f)] = name
    return out
