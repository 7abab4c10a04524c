"""`datascan show SRC KEY|#INDEX`: what datascan knows about one record, the step after a
finding; and `datascan explain CODE`: what a finding code means, like `ruff rule`.

A record is found by key (keyed formats, through FORMAT.fetch) or by #INDEX (its position:
a keyed source is walked to it, an HDF5 file read at that row). Its record-level checks are
run on it alone (dataset-wide ones, such as DS600, need the whole scan)."""
from __future__ import annotations

from dataclasses import replace
from itertools import islice
from pathlib import Path

from . import sources
from .checks.record import RecordChecker
from .checks.summary import ShardSummary
from .checks.imagelist import ListLines
from .codes import CODES, STORAGE_CORRUPT
from .config import ScanConfig
from .decode import datum as dm
from .decode.image import inspect_image
from .errors import UsageError
from .model import Finding
from .report.records import hdf5_rows, key_bytes
from .report.text import finding_line
from .report.thumbs import Picture, picture
from .report.words import key_shown, plural
from .sources.interface import ROWS, StorageDamage

SAMPLE = 64        # records read to decide a keyed dataset's encoding, as the scan does


def explain(code: str) -> str:
    row = CODES.get(code.strip().upper())
    if row is None:
        raise UsageError(f"no finding code {code!r} (codes run {min(CODES)}..{max(CODES)}; "
                         "`datascan explain` lists them)")
    return (f"{row.code} ({row.severity.value}): {row.title}\n\n{row.hint}\n\n"
            f"Select it with --select {row.code}, or its area with --select {row.code[:3]}; "
            f"drop it with --ignore {row.code}.\n")


def explain_all() -> str:
    return "".join(f"{c.code} {c.severity.value:<7} {c.title}\n" for c in CODES.values())


def show(src: str, which: str, config: ScanConfig, output: str | None = None) -> str:
    path = Path(src)
    fmt = sources.detect(path, config.format)
    if fmt.bind is not None:
        fmt.bind(path, config)
    index = _index(which)
    if fmt.records == ROWS:
        config.transform.refuse_rows(src)
        if index is None:
            raise UsageError(f"{src} is an HDF5 source: name a row as #INDEX, not a key")
        (_, pic), = hdf5_rows(path, [(src, None, index)])
        lines = [f"{src}  #{index}", f"  row          {pic.caption}"]
        return "\n".join(lines + _write(pic, output)) + "\n"
    key, value, index = _keyed(fmt, path, which, index)
    facts = fmt.line_facts(path, key) if fmt.line_facts is not None else None
    if index is None and facts is not None:
        index = facts.line - 1            # every line of a list is a record, a blank one too
    listed = [] if facts is None else \
        [Finding.of(code, src, message, key=_text(key), index=index)
         for code, message in ListLines().judge(facts)]
    head = f"{src}  key {key_shown(_text(key))}  #{'?' if index is None else index}"
    if isinstance(value, StorageDamage):
        found = listed or [Finding.of(STORAGE_CORRUPT, src, value.message, key=_text(key),
                                      index=index)]
        lines = [head, f"  value        cannot be read: {value.message}", "  findings"]
        lines += [f"    {finding_line(f)}" for f in found]
        return "\n".join(lines + ["  wrote        nothing: the record cannot be read"] * bool(output)) \
            + "\n"
    encoding = dm.dataset_encoding([v for _, v in islice(_pairs(fmt, path), SAMPLE)])
    lines = [head,
             f"  value        {plural(len(value), 'byte')}, looks like {dm.classify(value)} "
             f"(the dataset: {encoding})"]
    lines += _fields(value, encoding)
    checker = RecordChecker(src, encoding, config, ShardSummary())
    found = listed + [f if index is not None else replace(f, index=None)
                      for f in checker.check(0 if index is None else index, key, value)]
    pic = picture(value, encoding)
    lines.append(f"  {'label' if pic.text else 'picture':<12} {pic.caption}")
    lines.append("  findings     " + ("none at record level (dataset-wide checks such as DS600 "
                                      "need `datascan check`)" if not found else ""))
    lines += [f"    {finding_line(f)}" for f in found]
    return "\n".join(lines + ([] if pic.text and not output else _write(pic, output))) + "\n"


def _index(which: str) -> int | None:
    if not which.startswith("#"):
        return None
    try:
        return int(which[1:])
    except ValueError:
        raise UsageError(f"{which!r}: #INDEX takes a record's position, e.g. #17") from None


def _text(key: bytes) -> str:
    from .model import key_text
    return key_text(key) or ""


def _pairs(fmt, path: Path):
    for item in fmt.walk(path):
        if not isinstance(item, StorageDamage):
            yield item


def _keyed(fmt, path: Path, which: str, index: int | None):
    """(key, value or the StorageDamage that stands for it, index). Positions count every
    record as the scan does: one that cannot be read (an image list's missing file, a
    LevelDB block that fails its checksum) keeps its place."""
    if index is None:
        key = key_bytes(which)
        value = dict(fmt.fetch(path, [key])).get(key)
        if value is None:
            facts = fmt.line_facts(path, key) if fmt.line_facts is not None else None
            if facts is None or facts.unreadable is None:
                raise UsageError(f"{path}: no record with key {which!r}")
            return key, StorageDamage(f"{facts.file!r} {facts.unreadable}", key=key), None
        return key, value, None
    for i, item in enumerate(item for item in fmt.walk(path)
                             if not isinstance(item, StorageDamage) or item.key is not None):
        if i == index:
            return (item.key, item, index) if isinstance(item, StorageDamage) else (*item, index)
    raise UsageError(f"{path}: no record #{index} (the source holds fewer records)")


def _fields(value: bytes, encoding: str) -> list[str]:
    if encoding not in (dm.DATUM, dm.ANNOTATED):
        return _image(value) if dm.classify(value) == dm.IMAGE else []
    try:
        s = dm.parse(value, encoding)
    except dm.DatumError as e:
        return [f"  datum        does not parse: {e}"]
    floats = "none" if s.float_data is None else f"{s.float_data.size:,} values"
    out = [f"  datum        channels {s.channels}, height {s.height}, width {s.width}, "
           f"label {s.label}, data {plural(len(s.data), 'byte')}, float_data {floats}, "
           f"encoded {'yes' if s.encoded else 'no'}"]
    return out + (_image(s.data) if s.encoded else []) + (_boxes(s) if s.annotated else [])


def _boxes(s: dm.Sample, groups: int = 20, boxes: int = 8) -> list[str]:
    """An AnnotatedDatum's type and boxes (xmin ymin xmax ymax), the first few of each."""
    kind = "missing" if s.anno_type is None else "BBOX" if s.anno_type == 0 else \
        f"{s.anno_type} (not BBOX)"
    out = [f"  annotation   type {kind}, {plural(len(s.groups), 'group')}"]
    for g, group in enumerate(s.groups[:groups]):
        shown = ", ".join("no bbox" if b is None else "(" + " ".join(f"{v:.4g}" for v in b) + ")"
                          for b in group.boxes[:boxes])
        more = f", and {len(group.boxes) - boxes} more" if len(group.boxes) > boxes else ""
        out.append(f"  group {g:<6} label {group.label}, {plural(len(group.boxes), 'box', 'boxes')}"
                   + (f": {shown}{more}" if shown else ""))
    if len(s.groups) > groups:
        out.append(f"  ...          and {plural(len(s.groups) - groups, 'more group')}")
    return out


def _image(data: bytes) -> list[str]:
    r = inspect_image(data)
    size = f" {r.height}x{r.width} (HxW)" if r.height or r.width else ""
    text = f"{(r.format or 'not an image').upper()}{size} {r.mode}".rstrip()
    extra = [r.fatal] if r.fatal else list(r.warnings) + list(r.notes)
    return [f"  image        {text}" + "".join(f"; {x}" for x in extra)]


def _write(pic: Picture, output: str | None) -> list[str]:
    if not output:
        return ["  (-o FILE writes its picture: as decoded, and the image as stored)"]
    out, wrote = Path(output), []
    png = pic.png()
    if png is not None:
        out.write_bytes(png)
        wrote.append(f"{out} (as decoded, PNG)")
    if pic.stored is not None:
        stored = out.with_suffix(f".stored.{pic.stored_format or 'bin'}")
        stored.write_bytes(pic.stored)
        wrote.append(f"{stored} (as stored)")
    return [f"  wrote        {'; '.join(wrote)}" if wrote else
            "  wrote        nothing: the record has no picture"]
