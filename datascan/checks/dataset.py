"""Dataset-wide checks, run once on the merged shard summaries (no second pass over data)."""
from __future__ import annotations

from collections.abc import Callable

from ..codes import IMAGE_MODE, SHAPE_MISMATCH
from ..model import Finding, Severity
from ..config import MAX_SHAPE_GROUPS
from .base import SUMMARY, Check
from .crnn import TextPairing
from .summary import LabelCounts, ShapeTable, ShardSummary


def _fmt(shape) -> str:
    return "x".join(map(str, shape)) if isinstance(shape, tuple) else str(shape)


def _span(table: ShapeTable, names: tuple[str, ...]) -> str:
    lo, hi = table.ranges()
    return ", ".join(f"{name} {a}..{b}" for name, a, b in zip(names, lo, hi))


def _majority(table: ShapeTable):
    """(shape, group) with the most records; ties go to the larger shape, not to the order
    in which shards came back."""
    return max(table.items(), key=lambda kv: (kv[1].count, str(kv[0])))


def _listed(group, code: str, path: str, msg: str, name: str, severity: Severity | None) -> list[Finding]:
    """The group's records by name, then one line counting those not kept."""
    out = [Finding.of(code, path, msg, key=k, index=i, severity=severity) for i, k in group.refs]
    if group.truncated:
        out.append(Finding.of(code, path, f"{group.count - group.kept} more records "
                              f"are {name} (not listed one by one)", severity=severity))
    return out


def _minorities(table: ShapeTable, path: str, code: str, severity: Severity | None,
                message: Callable[[object, object, int], str], name=_fmt) -> list[Finding]:
    """Every record whose shape is not the majority's, each with message(its shape, the
    majority shape, records of the majority)."""
    if len(table) < 2:
        return []
    majority, top = _majority(table)
    return [f for shape, group in table.items() if shape != majority
            for f in _listed(group, code, path, message(shape, majority, top.count), name(shape),
                             severity)]


def _raw_shapes(table: ShapeTable, path: str) -> list[Finding]:
    why = ": Caffe's Data layer aborts on the batch mixing them"
    if not table.overflow:
        return _minorities(table, path, SHAPE_MISMATCH, Severity.ERROR, lambda s, m, n:
                           f"shape {_fmt(s)}, while {n} records are {_fmt(m)}{why}")
    return [Finding.of(SHAPE_MISMATCH, path, f"{table.records} Datums come in more than "
                       f"{MAX_SHAPE_GROUPS} shapes ({_span(table, ('channels', 'height', 'width'))}), "
                       f"too many to name the records of each{why}", severity=Severity.ERROR)]


def _mixed_sizes(table: ShapeTable, path: str) -> list[Finding]:
    """Encoded images: name the odd ones out when there is a majority size, else say it once."""
    if not table.overflow and (len(table) < 2 or _majority(table)[1].count * 2 > table.records):
        return _minorities(table, path, SHAPE_MISMATCH, Severity.WARNING, lambda s, m, n:
                           f"image size {_fmt(s)}, while {n} records are {_fmt(m)} (fine only "
                           "with crop_size <= the smallest side, or resizing)")
    (h0, w0), _ = table.ranges()
    sizes = f"more than {MAX_SHAPE_GROUPS}" if table.overflow else len(table)
    many = ", too many to name the records of each" if table.overflow else ""
    return [Finding.of(SHAPE_MISMATCH, path, f"images come in {sizes} sizes "
                       f"({_span(table, ('height', 'width'))}){many}: Caffe's Data layer needs "
                       f"crop_size <= {min(h0, w0)} or resized images", severity=Severity.WARNING)]


def _channels(table: ShapeTable, path: str) -> list[Finding]:
    if table.overflow:
        return [Finding.of(IMAGE_MODE, path, f"images come in more than {MAX_SHAPE_GROUPS} channel "
                           f"counts ({_span(table, ('channels',))}): Caffe needs one, or "
                           "force_color/force_gray")]
    return _minorities(table, path, IMAGE_MODE, None, lambda ch, major, n:
                       f"{ch}-channel image in a {major}-channel set: Caffe stops with \"Check "
                       f"failed: channels == img_channels ({major} vs. {ch})\" unless "
                       "force_color/force_gray", name=lambda ch: f"{ch}-channel")


class Shapes(Check):
    """Every raw Datum of the source in the majority shape (DS600); encoded images of one size
    (DS600, a warning: a crop fixes it) and of one channel count (DS403, the image-mode
    finding seen across the set). Not the images of a text-recognition layout (textlayout.py):
    its loaders convert and resize every image."""
    codes = (SHAPE_MISMATCH,)
    shares = (IMAGE_MODE,)
    reads = (SUMMARY,)

    def find(self, path: str, s: ShardSummary) -> list[Finding]:
        if s.text.recognised:   # crnn-style loaders convert and resize every image: sizes are free
            return _raw_shapes(s.shapes, path)
        return _raw_shapes(s.shapes, path) + _mixed_sizes(s.sizes, path) + _channels(s.channels, path)


def dataset_findings(path: str, s: ShardSummary) -> list[Finding]:
    return Shapes().find(path, s) + TextPairing().find(path, s.text)


def label_stats(labels: LabelCounts) -> dict | None:
    return labels.stats()
