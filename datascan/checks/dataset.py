"""Dataset-wide checks, run once on the merged shard summaries (no second pass over data)."""
from __future__ import annotations

from ..codes import IMAGE_MODE, SHAPE_MISMATCH
from ..model import Finding, Severity
from ..config import MAX_SHAPE_GROUPS, Transform
from .base import SUMMARY, Check
from .crnn import TextPairing
from .loader import caffe_shapes, transform_for
from .shapelist import fmt as _fmt, majority as _majority, minorities as _minorities, span as _span
from .summary import LabelCounts, ShapeTable, ShardSummary


def _mixed_sizes(table: ShapeTable, path: str) -> list[Finding]:
    """Encoded images: name the odd ones out when there is a majority size, else say it once."""
    if not table.overflow and (len(table) < 2 or _majority(table)[1].count * 2 > table.records):
        return _minorities(table, path, SHAPE_MISMATCH, Severity.WARNING, lambda s, m, n:
                           f"image size {_fmt(s)} (HxW), while {n} records are {_fmt(m)} (fine only "
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
                           "force_color/force_gray", severity=Severity.WARNING)]
    return _minorities(table, path, IMAGE_MODE, Severity.WARNING, lambda ch, major, n:
                       f"{ch}-channel image in a {major}-channel set: Caffe stops with \"Check "
                       f"failed: channels == img_channels ({major} vs. {ch})\" unless "
                       "force_color/force_gray", name=lambda ch: f"{ch}-channel")


class Shapes(Check):
    """Records a Caffe data layer reads (Datums), judged as its transform_param has them
    (loader.py): raw Datums and encoded images in the shapes one batch takes (DS600), encoded
    images of one channel count and 8 bits (DS403). Encoded images no Caffe layer reads (bare
    image files) of one size and channel count: warnings, here; none for the images of a
    text-recognition layout (textlayout.py): its loaders convert and resize every image."""
    codes = (SHAPE_MISMATCH,)
    shares = (IMAGE_MODE,)
    reads = (SUMMARY,)

    def find(self, path: str, s: ShardSummary, encoding: str | None = None,
             transform: Transform = Transform()) -> list[Finding]:
        caffe = transform_for(encoding, transform)
        if caffe is not None:
            return caffe_shapes(path, s, caffe)
        if s.text.recognised:   # crnn-style loaders convert and resize every image: sizes are free
            return []
        return _mixed_sizes(s.sizes, path) + _channels(s.channels, path)


def dataset_findings(path: str, s: ShardSummary, encoding: str | None = None,
                     transform: Transform = Transform()) -> list[Finding]:
    return Shapes().find(path, s, encoding, transform) + TextPairing().find(path, s.text)


def label_stats(labels: LabelCounts) -> dict | None:
    return labels.stats()
