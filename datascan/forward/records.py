"""Records in the order Caffe's data layers read them, as the arrays those layers see.

Keyed formats (LMDB/LevelDB, the format's ``walk``): key order, each Datum as its CHW
uint8 ``data`` (or ``float_data`` when data is empty, as DataTransformer chooses),
encoded images decoded like ``cv::imdecode(..., -1)`` (native channels, BGR) or forced
to colour/gray. Row formats (HDF5) read themselves in HDF5Data's order: the format's
``caffe_rows`` capability (sources/hdf5_caffe.py).

A record the data layer could not use (unparsable, wrong length, undecodable image, an
image list's missing file or blank line) keeps its index (the plain scan's) and, with
``skips``, comes as a record without an array and with why Caffe would abort on it, so the
forward pass counts it as skipped. A source the pass cannot read at all is NotRun.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..model import key_text
from ..sources.interface import Format, StorageDamage

Record = tuple[int, "str | None", np.ndarray, object]   # (index, key, array, label)
# With ``skips``: (index, key, array, label, kind), kind IMAGE (a decoded image: Caffe's cv::Mat
# CHECKs) or RAW (a raw Datum: its datum_* CHECKs); a record the layer cannot feed has array
# None and, in place of its label, why.
IMAGE, RAW = "image", "raw"


class NotRun(UsageError):
    """The forward pass cannot read or feed this source at all: the report keeps the scan and
    says why the pass did not run (one source of several, a net's layer)."""


# ---------------------------------------------------------------------------- LMDB, LevelDB

def kv_records(path: Path, fmt: Format, encoding: str, *, force_color: bool = False,
               force_gray: bool = False, skips: bool = False) -> Iterator[Record]:
    """Every record in key order. Without ``skips`` only the records the data layer can feed
    (4-tuples); with it every record, as 5-tuples (see Record)."""
    from ..decode import datum as dm
    if encoding not in (dm.DATUM,):
        what = "SSD's AnnotatedDatum" if encoding == "annotated_datum" else f"{encoding}"
        raise NotRun(f"--forward reads Caffe Datum records; this {fmt.name} holds {what} "
                     "records")
    if force_color and force_gray:
        raise UsageError("cannot set both force_color and force_gray")
    listed = fmt.name == "imagelist"        # ImageData: cv::imread, CHECK(cv_img.data)
    n = 0
    for item in fmt.walk(path):
        if isinstance(item, StorageDamage):   # counted like the plain scan counts it
            if item.key is not None:
                if skips:
                    yield n, key_text(item.key), None, _unreadable(item), IMAGE
                n += 1
            continue
        key, value = item
        index, n = n, n + 1
        try:
            s = dm.parse(value, encoding)
        except dm.DatumError:
            if skips:
                yield (index, key_text(key), None, "the record does not parse as a Datum: Caffe "
                       "ignores the parse error and aborts on the empty Datum's shape CHECKs", RAW)
            continue
        image = bool(s.encoded or (s.data and not s.channels and dm.looks_like_image(s.data)))
        array, why = _datum_array(s, image, force_color, force_gray, listed)
        label = 0 if s.label is None else s.label     # label() is 0
        if array is not None:
            yield (index, key_text(key), array, label, IMAGE if image or listed else RAW) \
                if skips else (index, key_text(key), array, label)
        elif skips:
            yield index, key_text(key), None, why, IMAGE if image else RAW


UNDECODED = "Could not decode datum"    # Caffe logs it and goes on with an empty cv::Mat
LOAD_FAILED = 'Check failed: cv_img.data Could not load'    # ImageData, image_data_layer.cpp


def _unreadable(damage: StorageDamage) -> str:
    """Why ImageData aborts on a list line whose file cannot be read."""
    if damage.key.endswith(b": ") or "names no file" in damage.message:   # "line N: " + path
        return f"{LOAD_FAILED} (a blank line: no file)"
    return f"{LOAD_FAILED} (the file cannot be read: missing or not readable)"


def _datum_array(s, image: bool, force_color: bool, force_gray: bool, listed: bool,
                 ) -> tuple[np.ndarray | None, str | None]:
    """The record's CHW array as the data layer sees it, or None and why it cannot feed it."""
    if image:
        array, why = decode(s.data, force_color=force_color, force_gray=force_gray)
        if array is None and listed:
            return None, f"{LOAD_FAILED} ({why})"
        if array is None and why == DEPTH:
            return None, ("Check failed: cv_img.depth() == CV_8U Image data type must be "
                          "unsigned byte")
        if array is None:              # the batch's CHECK on the empty image: shapes.py
            return None, UNDECODED
        return array, None
    c, h, w = s.channels, s.height, s.width
    if min(c, h, w) <= 0:
        return None, f"Check failed: datum_channels > 0 (a {c}x{h}x{w} raw Datum)"
    if s.data:                                   # DataTransformer: uint8 when data is set
        if len(s.data) == c * h * w:
            return np.frombuffer(s.data, np.uint8).reshape(c, h, w), None
        return None, (f"data holds {len(s.data):,} bytes, not {c}x{h}x{w}: Caffe reads past "
                      "it (no CHECK), so these values are not forwarded")
    if s.float_data is not None and s.float_data.size == c * h * w:
        return s.float_data.reshape(c, h, w), None
    return None, f"float_data does not hold {c}x{h}x{w} values: Caffe reads past it (no CHECK)"


DEPTH = "not 8-bit pixels"


def decode_image(data: bytes, *, force_color: bool = False, force_gray: bool = False,
                 ) -> np.ndarray | None:
    """CHW uint8 like cv::imdecode: native channels (gray 1, colour 3 BGR, alpha 4 BGRA),
    or 3/1 channels when forced. None when it does not decode to 8-bit pixels."""
    return decode(data, force_color=force_color, force_gray=force_gray)[0]


def decode(data: bytes, *, force_color: bool = False, force_gray: bool = False,
           ) -> tuple[np.ndarray | None, str | None]:
    """decode_image's array, or None and why: DEPTH, or that it does not decode."""
    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            if force_gray:
                img = img.convert("L")
            elif force_color:
                img = img.convert("RGB")
            elif img.mode in ("P", "CMYK", "YCbCr"):
                img = img.convert("RGBA" if "transparency" in img.info else "RGB")
            elif img.mode == "LA":
                img = img.convert("RGBA")
            elif img.mode not in ("L", "RGB", "RGBA"):
                return None, DEPTH                # 16-bit etc.: Caffe stops (DS403)
            a = np.asarray(img, dtype=np.uint8)
    except Exception:   # noqa: BLE001 - any decode failure is a DS400/DS401 already
        return None, "the file does not decode as an image"
    if a.ndim == 2:
        return a[None], None
    a = a[:, :, [2, 1, 0, 3][:a.shape[2]]]         # RGB(A) -> BGR(A), as OpenCV stores it
    return np.ascontiguousarray(a.transpose(2, 0, 1)), None
