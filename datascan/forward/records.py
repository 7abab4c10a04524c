"""Records in the order Caffe's data layers read them, as the arrays those layers see.

Keyed formats (LMDB/LevelDB, the format's ``walk``): key order, each Datum as its CHW
uint8 ``data`` (or ``float_data`` when data is empty, as DataTransformer chooses),
encoded images decoded like ``cv::imdecode(..., -1)`` (native channels, BGR) or forced
to colour/gray. Row formats (HDF5) read themselves in HDF5Data's order: the format's
``caffe_rows`` capability (sources/hdf5_caffe.py).

A record the data layer could not use (unparsable, wrong length, undecodable image)
is left out: the plain checks already report it, and the forward pass judges values.
The index of every other record is the one the plain scan gives it.
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


# ---------------------------------------------------------------------------- LMDB, LevelDB

def kv_records(path: Path, fmt: Format, encoding: str, *, force_color: bool = False,
               force_gray: bool = False) -> Iterator[Record]:
    from ..decode import datum as dm
    if encoding not in (dm.DATUM,):
        raise UsageError(f"{path}: --forward reads Caffe Datum records; this {fmt.name} holds "
                         f"{encoding} records")
    if force_color and force_gray:
        raise UsageError("cannot set both force_color and force_gray")
    n = 0
    for item in fmt.walk(path):
        if isinstance(item, StorageDamage):   # counted like the plain scan counts it
            n += item.key is not None
            continue
        key, value = item
        index, n = n, n + 1
        try:
            s = dm.parse(value, encoding)
        except dm.DatumError:
            continue
        array = _datum_array(s, force_color, force_gray)
        if array is not None:
            yield index, key_text(key), array, 0 if s.label is None else s.label  # label() is 0


def _datum_array(s, force_color: bool, force_gray: bool) -> np.ndarray | None:
    from ..decode import datum as dm
    if s.encoded or (s.data and not s.channels and dm.looks_like_image(s.data)):
        return decode_image(s.data, force_color=force_color, force_gray=force_gray)
    c, h, w = s.channels, s.height, s.width
    if min(c, h, w) <= 0:
        return None
    if s.data:                                   # DataTransformer: uint8 when data is set
        return np.frombuffer(s.data, np.uint8).reshape(c, h, w) \
            if len(s.data) == c * h * w else None
    if s.float_data is not None and s.float_data.size == c * h * w:
        return s.float_data.reshape(c, h, w)
    return None


def decode_image(data: bytes, *, force_color: bool = False, force_gray: bool = False,
                 ) -> np.ndarray | None:
    """CHW uint8 like cv::imdecode: native channels (gray 1, colour 3 BGR, alpha 4 BGRA),
    or 3/1 channels when forced. None when it does not decode to 8-bit pixels."""
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
                return None                       # 16-bit etc.: Caffe stops (DS403)
            a = np.asarray(img, dtype=np.uint8)
    except Exception:   # noqa: BLE001 - any decode failure is a DS400/DS401 already
        return None
    if a.ndim == 2:
        return a[None]
    a = a[:, :, [2, 1, 0, 3][:a.shape[2]]]         # RGB(A) -> BGR(A), as OpenCV stores it
    return np.ascontiguousarray(a.transpose(2, 0, 1))
