"""What Caffe's data layer does with the records it reads, given its transform_param
(config.Transform): DS403 and DS600 for records in Datums (the Data and AnnotatedData layers)
are errors exactly when the layer aborts on them, and are not raised when the transform makes
them fine (data_transformer.cpp, CAFFE_FACTS 1.5):

- the batch shape comes from a batch's first record; without crop_size every later record must
  have its channels, height and width, with crop_size its channels and sides >= crop_size;
- a record with a side below crop_size aborts ("datum_height >= crop_size");
- encoded images decode as stored ("imdecode(..., -1)": gray stays 1 channel, RGBA is 4,
  16-bit stays 16-bit and aborts) unless force_color / force_gray decode them to 3 / 1
  channels of 8 bits; both set abort; raw Datums are not touched by either.

With Caffe's defaults (nothing said: Transform.origin "defaults") each finding names the
setting that would change its verdict. Images no Caffe layer reads (bare image files in an
LMDB, text-recognition sets) are judged in dataset.py and image.py as before.
"""
from __future__ import annotations

from collections import Counter

from ..codes import IMAGE_MODE, SHAPE_MISMATCH
from ..config import MAX_SHAPE_GROUPS, Transform
from ..decode import datum as dm
from ..decode.result import ALPHA, DEPTH
from ..model import Finding, Severity
from .base import Problem
from .shapelist import fmt, listed, majority, minorities, span
from .summary import ShapeTable, ShardSummary

E, W = Severity.ERROR, Severity.WARNING
CAFFE_READ = (dm.DATUM, dm.ANNOTATED)      # encodings a Caffe layer reads through DataTransformer


def transform_for(encoding: str | None, transform: Transform) -> Transform | None:
    """The transform a source's records go through; None when no Caffe layer reads them."""
    return transform if encoding in CAFFE_READ else None


# ------------------------------------------------------------------ what the verdict depends on

def _where(t: Transform) -> str:
    return "the options given" if t.origin == "options" else f"{t.origin}'s transform_param"


def _unforced(t: Transform, gives: str = "") -> str:
    """A verdict that force_color / force_gray would change: what it depends on."""
    if not t.given:
        return f" unless the net's transform_param sets force_color: true (or force_gray: true){gives}"
    if t.origin == "options":
        return " (neither --force-color nor --force-gray given)"
    if t.layer == "ImageData":
        return f" ({t.origin}'s image_data_param sets is_color: false)"
    return f" ({_where(t)} sets neither force_color nor force_gray)"


def _uncropped(t: Transform, side: int) -> str:
    """A verdict that a crop_size <= side would change: what it depends on."""
    if side < 1:
        return ""
    if not t.given:
        return f" unless the net's transform_param sets crop_size <= {side}"
    if t.origin == "options":
        return f" (no --crop-size given; one <= {side} would take them)"
    return f" ({_where(t)} sets no crop_size; crop_size <= {side} would take them)"


def _crop(t: Transform) -> str:
    return f"crop_size {t.crop_size} ({'--crop-size' if t.origin == 'options' else _where(t)})"


# ------------------------------------------------------------------------- one encoded image

def mode_problem(note: str, t: Transform | None) -> Problem | None:
    """A decoder's note on an image's mode, judged as the transform reads the image (t None:
    no Caffe layer reads it; a warning, as the note says)."""
    kind = getattr(note, "kind", None)
    if t is None:
        return (IMAGE_MODE.at(W), str(note))
    if kind == DEPTH:   # imdecode without IMREAD_ANYDEPTH (force_color/gray) gives 8 bits
        return None if t.forced else (IMAGE_MODE.at(E), note + _unforced(t, ", which decode it to 8 bits"))
    if kind == ALPHA:   # forced: 3 or 1 channels; unforced, dataset-wide channels judge the mix
        return None if t.forced else (IMAGE_MODE.at(W), str(note))
    return (IMAGE_MODE.at(W), str(note))


# ------------------------------------------------------------------------- the whole source

def _batch_check(first: tuple, other: tuple, who: str) -> str:
    """The CHECK that fails when `other` follows `first` in a batch without crop_size:
    DataTransformer::Transform's order (channels, height <=, width <=, then equality)."""
    (c0, h0, w0), (c, h, w) = first, other
    if c0 != c:
        return f"channels == {who}_channels ({c0} vs. {c})"
    if h0 > h:
        return f"height <= {who}_height ({h0} vs. {h})"
    if w0 > w:
        return f"width <= {who}_width ({w0} vs. {w})"
    if h != h0:
        return f"{who}_height == height ({h} vs. {h0})"
    return f"{who}_width == width ({w} vs. {w0})"


def _too_small(h: int, w: int, crop: int, who: str) -> str:
    """The CHECKs a record with a side below crop_size fails: as a batch's first record
    (InferBlobShape), else in Transform."""
    side, n = ("height", h) if h < crop else ("width", w)
    return (f"\"Check failed: {side} <= {who}_{side} ({crop} vs. {n})\", or "
            f"\"{who}_{side} >= crop_size ({n} vs. {crop})\" when it starts a batch")


def _small_groups(table: ShapeTable, path: str, t: Transform, sides, what: str,
                  who: str) -> list[Finding]:
    """Records with a side below crop_size, by name (or one finding past the table's bound)."""
    crop = t.crop_size
    if table.overflow:
        lo, _ = table.ranges()
        if min(sides(lo)) >= crop:
            return []
        dims = ("channels", "height", "width") if who == "datum" else ("height", "width")
        return [Finding.of(SHAPE_MISMATCH, path, f"some {what}s are smaller than {_crop(t)} "
                           f"({span(table, dims)}; more than {MAX_SHAPE_GROUPS} shapes, too many "
                           f"to name the records of each): Caffe's {t.layer} layer aborts on them",
                           severity=E)]
    out = []
    for shape, group in table.items():
        h, w = sides(shape)
        if min(h, w) < crop:
            hxw = " (HxW)" if who == "img" else ""
            out += listed(group, SHAPE_MISMATCH, path, f"{what} {fmt(shape)}{hxw} is smaller than "
                          f"{_crop(t)}: Caffe's {t.layer} layer aborts on it ({_too_small(h, w, crop, who)})",
                          fmt(shape), E)
    return out


def _raw_shapes(table: ShapeTable, path: str, t: Transform) -> list[Finding]:
    if not table.records:
        return []
    lo, hi = table.ranges()
    forced = " (force_color and force_gray apply only to encoded Datums: Caffe logs \"force_color " \
             "and force_gray only for encoded datum\")" if t.forced else ""
    if t.crop_size:
        return _raw_channels(table, path, t, forced) + \
            _small_groups(table, path, t, lambda s: s[1:], "shape", "datum")
    why = f": Caffe's {t.layer} layer aborts on the batch mixing them"
    if table.overflow:
        fix = _uncropped(t, min(lo[1:])) if lo[0] == hi[0] else forced
        return [Finding.of(SHAPE_MISMATCH, path, f"{table.records} Datums come in more than "
                           f"{MAX_SHAPE_GROUPS} shapes ({span(table, ('channels', 'height', 'width'))}), "
                           f"too many to name the records of each{why}{fix}", severity=E)]
    return minorities(table, path, SHAPE_MISMATCH, E, lambda s, m, n: (
        f"shape {fmt(s)}, while {n} records are {fmt(m)}: Caffe's {t.layer} layer aborts on a batch "
        f"that starts with a {fmt(m)} record (\"Check failed: {_batch_check(m, s, 'datum')}\")"
        + (_uncropped(t, min(lo[1:])) if s[0] == m[0] else forced)))


def _raw_channels(table: ShapeTable, path: str, t: Transform, forced: str) -> list[Finding]:
    """With crop_size, raw Datums of several sizes batch together: only channels must agree."""
    lo, hi = table.ranges()
    if lo[0] == hi[0]:
        return []
    if table.overflow:
        return [Finding.of(SHAPE_MISMATCH, path, f"Datums come in channel counts {lo[0]}..{hi[0]} "
                           f"(more than {MAX_SHAPE_GROUPS} shapes, too many to name the records of "
                           f"each): Caffe's {t.layer} layer aborts on a batch mixing them{forced}",
                           severity=E)]
    counts = Counter()
    for shape, group in table.items():
        counts[shape[0]] += group.count
    major = max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return [f for shape, group in table.items() if shape[0] != major
            for f in listed(group, SHAPE_MISMATCH, path, f"{shape[0]}-channel Datum ({fmt(shape)}) "
                            f"in a {major}-channel set: Caffe's {t.layer} layer aborts on a batch mixing "
                            f"them (\"Check failed: channels == datum_channels ({major} vs. "
                            f"{shape[0]})\"); crop_size does not change channels{forced}",
                            fmt(shape), E)]


def _image_sizes(table: ShapeTable, path: str, t: Transform) -> list[Finding]:
    if not table.records:
        return []
    if t.resize:      # ImageData's new_height/new_width: every image has that size before the crop
        h, w = t.resize
        if t.crop_size and min(h, w) < t.crop_size:
            return [Finding.of(SHAPE_MISMATCH, path, f"every image is resized to {h}x{w} "
                               f"(new_height x new_width), smaller than {_crop(t)}: Caffe's "
                               f"{t.layer} layer aborts on the first one "
                               f"({_too_small(h, w, t.crop_size, 'img')})", severity=E)]
        return []
    if t.crop_size:
        return _small_groups(table, path, t, lambda s: s, "image size", "img")
    if len(table) < 2 and not table.overflow:
        return []
    lo, _ = table.ranges()
    fix = _uncropped(t, min(lo))
    if not table.overflow and majority(table)[1].count * 2 > table.records:
        return minorities(table, path, SHAPE_MISMATCH, E, lambda s, m, n: (
            f"image size {fmt(s)} (HxW), while {n} records are {fmt(m)}: Caffe's {t.layer} layer aborts on a "
            f"batch that starts with a {fmt(m)} image (\"Check failed: "
            f"{_batch_check((0, *m), (0, *s), 'img')}\"){fix}"))
    sizes = f"more than {MAX_SHAPE_GROUPS}" if table.overflow else len(table)
    many = ", too many to name the records of each" if table.overflow else ""
    pair = _first_pair(table)
    check = "\"Check failed: height <= img_height\" or the like" if pair is None else (
        f"record #{pair[0][1]} is {fmt(pair[0][0])} (HxW) and #{pair[1][1]} {fmt(pair[1][0])}: \"Check "
        f"failed: {_batch_check((0, *pair[0][0]), (0, *pair[1][0]), 'img')}\" if they share a batch")
    return [Finding.of(SHAPE_MISMATCH, path, f"images come in {sizes} sizes "
                       f"({span(table, ('height', 'width'))}){many}: Caffe's {t.layer} layer aborts on "
                       f"the first batch mixing two sizes ({check}){fix}", severity=E)]


def _first_pair(table: ShapeTable):
    """((shape, position) of the source's first record, (shape, position) of the first record
    of another shape), when the table still holds their refs; else None."""
    firsts = sorted((g.runs[0][0], shape) for shape, g in table.items() if g.runs)
    if len(firsts) < 2 or firsts[0][0] != 0:
        return None
    (i0, s0), (i1, s1) = firsts[:2]
    return (s0, i0), (s1, i1)


def _image_channels(table: ShapeTable, path: str, t: Transform) -> list[Finding]:
    if t.forced or len(table) < 2 and not table.overflow:
        return []
    fix = _unforced(t)
    if table.overflow:
        return [Finding.of(IMAGE_MODE, path, f"images come in more than {MAX_SHAPE_GROUPS} channel "
                           f"counts ({span(table, ('channels',))}): Caffe's {t.layer} layer aborts on a "
                           f"batch mixing them{fix}", severity=E)]
    return minorities(table, path, IMAGE_MODE, E, lambda ch, major, n: (
        f"{ch}-channel image in a {major}-channel set: Caffe's {t.layer} layer stops with \"Check "
        f"failed: channels == img_channels ({major} vs. {ch})\"{fix}"),
        name=lambda ch: f"{ch}-channel")


def caffe_shapes(path: str, s: ShardSummary, t: Transform) -> list[Finding]:
    """The source's shape findings as a Caffe data layer with transform `t` reads its records."""
    out = _raw_shapes(s.shapes, path, t)
    if s.encoded and t.force_color and t.force_gray:
        return out + [Finding.of(IMAGE_MODE, path, f"{_where(t)} sets both force_color and "
                                 "force_gray: Caffe's DataTransformer aborts on the first encoded "
                                 "record (\"cannot set both force_color and force_gray\")",
                                 severity=E)]
    return out + _image_sizes(s.sizes, path, t) + _image_channels(s.channels, path, t)
