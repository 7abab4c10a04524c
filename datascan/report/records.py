"""The records a report names, read again from their sources to be drawn (the HTML report's
thumbnails, `datascan show`). Read-only and bounded: at most PER_CODE records per code and
TOTAL in all are chosen, each read once, through the format's own capabilities (``fetch``
for keyed formats; HDF5 rows through the layout helpers, one row at a time).

A source that is gone or cannot be opened costs its pictures, never the report: the reason
is returned, and the page says it.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .. import sources
from ..config import ScanConfig
from ..errors import DatascanError
from ..model import Finding, Report
from ..sources.interface import ROWS
from .thumbs import Picture, float_row, picture

PER_CODE, TOTAL = 50, 500
DRAWN = ("DS2", "DS3", "DS4", "DS5", "DS6", "DS7")     # record-level codes worth a picture

RecordId = tuple[str, "str | None", "int | None"]      # (path, key text, index)


def record_id(f: Finding) -> RecordId:
    return (f.path, f.key, f.index)


def key_bytes(key: str) -> bytes:
    """A key as the report writes it (UTF-8 text, else ``hex:...``) back to its bytes."""
    if key.startswith("hex:"):
        try:
            return bytes.fromhex(key[4:])
        except ValueError:
            pass
    return key.encode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class Chosen:
    """The records picked for pictures, and how many more findings could have had one."""
    ids: tuple[RecordId, ...]
    left_out: dict[str, int] = field(default_factory=dict)   # code -> records not drawn


def choose(findings: Iterable[Finding], per_code: int = PER_CODE, total: int = TOTAL) -> Chosen:
    """The first records of each drawable code, up to the bounds, each record once."""
    ids: dict[RecordId, None] = {}
    taken: Counter = Counter()
    left: Counter = Counter()
    for f in findings:
        if not f.code.startswith(DRAWN) or (f.key is None and f.index is None):
            continue
        rid = record_id(f)
        if rid in ids:
            continue
        if taken[f.code] >= per_code or len(ids) >= total:
            left[f.code] += 1
            continue
        ids[rid] = None
        taken[f.code] += 1
    return Chosen(tuple(ids), dict(left))


@dataclass(frozen=True)
class Pictures:
    by_record: dict[RecordId, Picture]
    problems: tuple[str, ...] = ()       # why some sources' records are not drawn


def pictures(report: Report, chosen: Chosen) -> Pictures:
    """Read the chosen records from their sources and draw each; never raises for a
    source that is missing or unreadable (it is named in ``problems``)."""
    encodings = {s.path: s.encoding for s in report.sources}
    # A scan of paths recorded its --root (none: ""); under --net each layer had its own
    # root_folder, known only to the process that planned it.
    o = report.options
    root = None if o is None or o.net is not None else (o.root or "")
    by_path: dict[str, list[RecordId]] = {}
    for rid in chosen.ids:
        by_path.setdefault(rid[0], []).append(rid)
    out: dict[RecordId, Picture] = {}
    problems = []
    for path, ids in by_path.items():
        try:
            out.update(_read(Path(path), ids, encodings.get(path, "unknown"), root))
        except (DatascanError, OSError, ValueError, KeyError, RuntimeError) as e:
            problems.append(f"{path}: {e}")
    return Pictures(out, tuple(problems))


def _read(path: Path, ids: list[RecordId], encoding: str,
          root: str | None = None) -> Iterator[tuple[RecordId, Picture]]:
    if not path.exists():
        raise DatascanError("not there any more: its records cannot be shown")
    fmt = sources.detect(path)
    if fmt.bind is not None and root is not None:     # an image list's files: --root + path
        fmt.bind(path, ScanConfig(root=root))
    if fmt.fetch is not None:
        keyed = [rid for rid in ids if rid[1] is not None]
        values = dict(fmt.fetch(path, [key_bytes(rid[1]) for rid in keyed]))
        for rid in keyed:
            yield rid, picture(values.get(key_bytes(rid[1])), encoding)
        return
    if fmt.records == ROWS:
        yield from hdf5_rows(path, [rid for rid in ids if rid[2] is not None])


def hdf5_rows(path: Path, ids: list[RecordId]) -> Iterator[tuple[RecordId, Picture]]:
    """Each row's data (the first numeric dataset that is not a label) of an HDF5 file,
    read one row at a time."""
    from ..sources.h5layout import READ_ERRORS, Files, inspect
    from ..sources.h5list import is_hdf5
    if not is_hdf5(path):
        raise DatascanError("an HDF5 list: its findings name the .h5 files that hold the rows")
    with Files() as files:
        layout = inspect(path, str(path), ScanConfig(), files)
        data = [c for c in layout.columns if not c.label]
        column = max(data, key=lambda c: c.width, default=None)
        for rid in ids:
            row = rid[2]
            if column is None or not 0 <= row < column.shape[0]:
                yield rid, Picture("no numeric data row to draw")
                continue
            try:
                values = files.dataset(column)[row]
            except READ_ERRORS as e:
                yield rid, Picture(f"row {row} of {column.name} cannot be read ({e})")
                continue
            pic = float_row(values)
            yield rid, Picture(f"{column.name}[{row}]: {pic.caption}", pic.pixels, pic.outline)
