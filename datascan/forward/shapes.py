"""Which records of a batch Caffe's data layer aborts on: the batch takes the shape of its
first record, and DataTransformer CHECKs every other record against it (data_transformer.cpp:
a decoded image's img_* names, a raw Datum's datum_* names, in Caffe's order)."""
from __future__ import annotations

import numpy as np

from ..errors import UsageError
from .records import IMAGE, RAW, UNDECODED, Record
from .transform import Transformer


def first_shape(batch: list[Record]) -> tuple | None:
    """The shape Caffe gives the batch: its first record's (the first one that has pixels)."""
    return next((np.shape(r[2]) for r in batch if r[2] is not None), None)


def reject(shape: tuple, first: tuple, transformer: Transformer, kind: str | None,
           ) -> str | None:
    """Why Caffe's data layer would abort on a record of this shape in a batch shaped by
    ``first`` (DataTransformer's CHECKs, in its order: a decoded image's img_* names, a raw
    Datum's datum_* names), or None."""
    if shape == first:
        return None
    if len(shape) != len(first) or len(shape) != 3 or kind not in (IMAGE, RAW):
        return f"record is {'x'.join(map(str, shape))}, the batch's first record " \
               f"{'x'.join(map(str, first))}: Caffe aborts"
    of = "img" if kind == IMAGE else "datum"
    crop = transformer.crop_size
    (c, h, w), (bc, bh, bw) = shape, first
    bh, bw = (crop, crop) if crop else (bh, bw)
    checks = [(f"channels == {of}_channels", bc, c), (f"height <= {of}_height", bh, h),
              (f"width <= {of}_width", bw, w)]
    if not crop:
        checks += [(f"{of}_height == height", h, bh), (f"{of}_width == width", w, bw)]
    for text, a, b in checks:
        if not (a <= b if "<=" in text else a == b):
            return f"Check failed: {text} ({a} vs. {b})"
    try:
        transformer.check(shape)              # the mean must have the record's size
    except UsageError as e:
        return str(e)
    return None


def skip_reason(why: str, ahead: bool, first: tuple | None, transformer: Transformer) -> str:
    """Why Caffe aborts on a record without pixels. An undecodable Datum goes on as an empty
    cv::Mat (1 channel, 0x0) and fails the batch's CHECKs; ``ahead``: it comes before every
    record with pixels, so it gives the batch its shape."""
    if why != UNDECODED:
        return why
    crop = transformer.crop_size
    if ahead and crop:
        return f"{why}: Check failed: img_height >= crop_size (0 vs. {crop})"
    if ahead or first is None:
        return (f"{why}: the batch takes the empty image's shape (1x0x0) and Caffe aborts on "
                "its next record")
    return f"{why}: {reject((1, 0, 0), first, transformer, IMAGE)}"
