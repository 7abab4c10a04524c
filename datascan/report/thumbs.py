"""A small picture of one record, drawn the way datascan judged it: the HTML report's
thumbnails and `datascan show`'s image files.

    picture(value, encoding) -> Picture      never raises; says why when there is nothing to draw

A raw Datum is drawn from its CHW bytes (BGR as Caffe stores them, shown as RGB); an encoded
image is decoded as the loader gets it (a truncated JPEG with the gray rows libjpeg fills in,
outlined); a float record is drawn as a gray map with its NaN (red) and inf (magenta) values
marked; a decompression bomb is never decoded (decode/image.py looks at its header only).
An SSD AnnotatedDatum is its image with its boxes outlined (the drawable ones: finite, and
at least partly inside the image).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, replace

import numpy as np

from ..config import EXTREME_MAGNITUDE, MAX_IMAGE_PIXELS
from ..decode import datum as datum_codec
from ..decode.image import inspect_image

THUMB = 128                 # longest side of a thumbnail, in pixels
NAN_RGB, INF_RGB, HUGE_RGB = (230, 30, 30), (220, 0, 220), (255, 150, 0)
BOX_RGB = (0, 230, 60)


@dataclass(frozen=True)
class Picture:
    """What can be drawn of one record. ``pixels`` is HxWx3 uint8 RGB (None: nothing to draw,
    ``caption`` says why); ``outline`` the (first, last) rows to outline, e.g. gray fill."""
    caption: str
    pixels: np.ndarray | None = None
    outline: tuple[int, int] | None = None
    stored: bytes | None = None          # the encoded image as stored, when there is one
    stored_format: str | None = None     # its format: jpeg, png, ...
    text: bool = False                   # a text value (a label-N key): the caption shows it

    def thumbnail(self, side: int = THUMB) -> tuple[bytes, str, int, int] | None:
        """(encoded bytes, mime type, width, height) of a thumbnail no larger than `side`."""
        if self.pixels is None:
            return None
        from PIL import Image
        image = Image.fromarray(self.pixels)
        if max(image.size) > side:
            image.thumbnail((side, side))
        buf = io.BytesIO()
        if image.width * image.height > 64 * 64 and self.outline is None and self.stored:
            image.save(buf, "JPEG", quality=82)     # a photo: a few kB instead of tens
            return buf.getvalue(), "image/jpeg", image.width, image.height
        image.save(buf, "PNG", optimize=True)
        return buf.getvalue(), "image/png", image.width, image.height

    def png(self) -> bytes | None:
        """The drawing at full size, as PNG (`datascan show -o`)."""
        if self.pixels is None:
            return None
        from PIL import Image
        buf = io.BytesIO()
        Image.fromarray(self.pixels).save(buf, "PNG")
        return buf.getvalue()


def picture(value: bytes | None, encoding: str) -> Picture:
    """Draw one record value of a dataset of this encoding (datum, image, ...)."""
    try:
        return _picture(value, encoding)
    except Exception as e:   # a drawing bug must not lose the report
        return Picture(f"cannot be drawn ({type(e).__name__}: {e})")


def _picture(value: bytes | None, encoding: str) -> Picture:
    if value is None:
        return Picture("the record cannot be read from the source")
    if not value:
        return Picture("empty value: nothing to draw")
    if encoding == datum_codec.IMAGE_TEXT and datum_codec.classify(value) != datum_codec.IMAGE:
        return label_text(value)
    if encoding in (datum_codec.IMAGE, datum_codec.IMAGE_TEXT) or \
            encoding not in (datum_codec.DATUM, datum_codec.ANNOTATED) and \
            datum_codec.classify(value) == datum_codec.IMAGE:
        return encoded_image(value)
    if encoding not in (datum_codec.DATUM, datum_codec.ANNOTATED):
        return Picture(f"a {encoding} value: not an image")
    try:
        sample = datum_codec.parse(value, encoding)
    except datum_codec.DatumError as e:
        return Picture(f"not a Datum ({e}): nothing to draw")
    if sample.annotated:
        return with_boxes(_sample_picture(sample), sample.groups)
    return _sample_picture(sample)


def label_text(value: bytes, limit: int = 80) -> Picture:
    """A text value beside the images (a text-recognition set's label-N): its text, not a
    picture; bytes that are not UTF-8 in hex."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return Picture(f"text (not UTF-8): bytes {value[:24].hex(' ')}"
                       + (" ..." if len(value) > 24 else ""), text=True)
    shown = repr(text[:limit]) + (f" ... ({len(text)} characters)" if len(text) > limit else "")
    return Picture(f"text {shown}", text=True)


def _sample_picture(sample: datum_codec.Sample) -> Picture:
    if sample.encoded:
        return encoded_image(sample.data)
    c, h, w = sample.channels, sample.height, sample.width
    if sample.float_data is not None:
        if sample.float_data.size != c * h * w or c * h * w == 0:
            return Picture(f"float_data holds {sample.float_data.size} values, "
                           f"{c}x{h}x{w} needs {c * h * w}: not drawn")
        return float_map(sample.float_data.reshape(c, h, w))
    if not sample.data:
        return Picture(f"Datum {c}x{h}x{w} has no data: nothing to draw")
    if c * h * w != len(sample.data) or c <= 0 or h <= 0 or w <= 0:
        return Picture(f"data holds {len(sample.data)} bytes, {c}x{h}x{w} needs "
                       f"{max(c, 0) * max(h, 0) * max(w, 0)}: not drawn")
    if h * w > MAX_IMAGE_PIXELS:
        return Picture(f"{h}x{w} is beyond the size datascan decodes: not drawn")
    chw = np.frombuffer(sample.data, np.uint8).reshape(c, h, w)
    return raw_pixels(chw)


def with_boxes(pic: Picture, groups) -> Picture:
    """The picture with an SSD record's boxes outlined, their normalised corners scaled to it."""
    if pic.pixels is None or not groups:
        return pic
    rgb = pic.pixels.copy()
    h, w = rgb.shape[:2]
    t = max(1, max(h, w) // THUMB)      # still visible once shrunk to a thumbnail
    drawn = 0
    for box in (b for group in groups for b in group.boxes):
        if box is None or not all(math.isfinite(v) for v in box):
            continue
        (x0, x1), (y0, y1) = sorted((box.xmin, box.xmax)), sorted((box.ymin, box.ymax))
        if x1 <= 0 or y1 <= 0 or x0 >= 1 or y0 >= 1:
            continue
        c0, c1 = (int(min(max(x, 0.0), 1.0) * (w - 1)) for x in (x0, x1))
        r0, r1 = (int(min(max(y, 0.0), 1.0) * (h - 1)) for y in (y0, y1))
        rgb[r0:r0 + t, c0:c1 + 1] = rgb[max(r1 - t + 1, 0):r1 + 1, c0:c1 + 1] = BOX_RGB
        rgb[r0:r1 + 1, c0:c0 + t] = rgb[r0:r1 + 1, max(c1 - t + 1, 0):c1 + 1] = BOX_RGB
        drawn += 1
    if not drawn:
        return pic
    return replace(pic, pixels=rgb, caption=f"{pic.caption}; {drawn} box"
                   f"{'es' if drawn != 1 else ''} outlined in green")


def raw_pixels(chw: np.ndarray) -> Picture:
    """A raw Datum's CHW bytes: BGR (as Caffe stores them) shown as RGB."""
    c, h, w = chw.shape
    if c == 1:
        rgb = np.repeat(chw[0][:, :, None], 3, axis=2)
    elif c >= 3:
        rgb = chw[2::-1].transpose(1, 2, 0) if c == 3 else chw[[2, 1, 0]].transpose(1, 2, 0)
    else:
        rgb = np.repeat(chw[0][:, :, None], 3, axis=2)
    note = "" if c in (1, 3) else f" (first 3 of {c} channels)" if c > 3 else " (channel 0)"
    rgb = np.ascontiguousarray(rgb)
    gray = _gray_rows(rgb, tolerance=0)
    return Picture(f"raw Datum {c}x{h}x{w}, BGR bytes shown as RGB{note}{_said(gray)}", rgb, gray)


def encoded_image(data: bytes) -> Picture:
    """An encoded image decoded as the loader gets it; a bomb or an undecodable one is not drawn."""
    facts = inspect_image(data)
    fmt = facts.format
    if facts.bomb:
        return Picture(f"{fmt.upper()}: {facts.fatal}", stored=data, stored_format=fmt)
    if facts.fatal:
        return Picture(f"does not decode: {facts.fatal}", stored=data, stored_format=fmt)
    rgb = _decode(data, fmt)
    if rgb is None:
        return Picture(f"{fmt.upper()} {facts.height}x{facts.width} (HxW): decoding it again failed",
                       stored=data, stored_format=fmt)
    how = "decoded as the loader gets it, corruption included" if facts.warnings else "decoded"
    outline = _gray_rows(rgb, tolerance=2) if fmt == "jpeg" and facts.warnings else None
    return Picture(f"{fmt.upper()} {facts.height}x{facts.width} (HxW) {facts.mode}, {how}{_said(outline)}",
                   rgb, outline, stored=data, stored_format=fmt)


def _said(outline: tuple[int, int] | None) -> str:
    return "" if outline is None else \
        f"; rows {outline[0]}..{outline[1]} are flat gray 128 (outlined)"


def _decode(data: bytes, fmt: str) -> np.ndarray | None:
    if fmt == "jpeg":
        import simplejpeg
        try:   # libjpeg-turbo, not strict: a truncated scan ends in the gray OpenCV also gives
            gray = simplejpeg.decode_jpeg_header(data, strict=False)[2] == "Gray"
            out = simplejpeg.decode_jpeg(data, colorspace="GRAY" if gray else "RGB", strict=False)
        except Exception:
            return None
        return np.repeat(out, 3, axis=2) if out.shape[2] == 1 else out
    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as image:    # not a bomb: inspect_image said so
            image.seek(0)
            return np.asarray(image.convert("RGB"))
    except Exception:
        return None


def float_map(values: np.ndarray) -> Picture:
    """A float record as a gray map (its finite values scaled), NaN red, inf magenta, values
    of extreme magnitude orange. Channels are drawn side by side."""
    c, h, w = values.shape
    finite = np.isfinite(values)
    huge = finite & (np.abs(values) >= EXTREME_MAGNITUDE)
    ok = finite & ~huge
    lo, hi = (float(values[ok].min()), float(values[ok].max())) if ok.any() else (0.0, 1.0)
    scaled = np.zeros(values.shape, np.uint8)
    if hi > lo:
        scaled[ok] = ((values[ok] - lo) / (hi - lo) * 255).astype(np.uint8)
    rgb = np.repeat(scaled[..., None], 3, axis=3)
    rgb[np.isnan(values)] = NAN_RGB
    rgb[np.isinf(values)] = INF_RGB
    rgb[huge] = HUGE_RGB
    gap = np.full((h, 1, 3), 255, np.uint8)
    tiles = [p for i in range(min(c, 8)) for p in ((rgb[i],) if i == 0 else (gap, rgb[i]))]
    nans, infs = int(np.isnan(values).sum()), int(np.isinf(values).sum())
    marks = ", ".join(x for x in (f"{nans} NaN (red)" * bool(nans), f"{infs} inf (magenta)" * bool(infs),
                                  f"{int(huge.sum())} |x| >= 1e8 (orange)" * bool(huge.any())) if x)
    shown = f", channels 0..{min(c, 8) - 1} side by side" if c > 1 else ""
    return Picture(f"float {c}x{h}x{w}, {lo:.3g}..{hi:.3g} as gray{shown}"
                   + (f"; {marks}" if marks else ""), np.ascontiguousarray(np.hstack(tiles)))


def float_row(row: np.ndarray) -> Picture:
    """An HDF5 row of any shape: a (C,)H,W row as a float map, anything else as a strip."""
    values = np.asarray(row, dtype=np.float64)
    if values.ndim == 3:
        return float_map(values)
    if values.ndim == 2:
        return float_map(values[None])
    flat = values.ravel()
    side = max(1, int(np.ceil(np.sqrt(flat.size))))
    padded = np.full(side * side, np.nan if flat.size == 0 else flat[np.isfinite(flat)].min()
                     if np.isfinite(flat).any() else 0.0)
    padded[:flat.size] = flat
    pic = float_map(padded.reshape(1, side, side))
    return Picture(f"{flat.size} values laid out {side}x{side}; " + pic.caption.split(", ", 1)[1],
                   pic.pixels)


def _gray_rows(rgb: np.ndarray, tolerance: int) -> tuple[int, int] | None:
    """The bottom rows that are flat gray 128 (what a truncated JPEG decodes to)."""
    flat = (np.abs(rgb.astype(np.int16) - 128) <= tolerance).all(axis=(1, 2))
    if not len(flat) or not flat[-1]:
        return None
    first = len(flat) - int(np.argmax(~flat[::-1])) if (~flat).any() else 0
    return (first, len(flat) - 1) if len(flat) - first >= 2 else None
