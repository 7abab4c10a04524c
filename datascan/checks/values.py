"""Pixel checks on raw (decoded) Datum images. Float value checks live in arrays.py."""
from __future__ import annotations

import numpy as np

from ..config import GRAY_FILL_MIN_FRACTION, GRAY_FILL_MIN_ROWS


def gray_fill_rows(data: bytes, c: int, h: int, w: int) -> int:
    """How many bottom rows of a raw CHW uint8 Datum are exactly 128 in every channel.

    convert_imageset decodes a truncated JPEG with OpenCV, which fills the rows it
    could not read with flat gray 128, and stores the result without complaint.
    """
    gray = b"\x80" * w
    plane = h * w
    # The usual case is decided on each channel's bottom row, compared as bytes (hot path).
    if any(data[k * plane + plane - w:(k + 1) * plane] != gray for k in range(c)):
        return 0
    pixels = np.frombuffer(data, np.uint8).reshape(c, h, w)
    flat = (pixels == 128).all(axis=(0, 2))          # one bool per row
    breaks = np.flatnonzero(~flat)
    return pixels.shape[1] - (int(breaks[-1]) + 1 if breaks.size else 0)


def is_gray_filled(rows: int, height: int) -> bool:
    return rows >= GRAY_FILL_MIN_ROWS and rows >= GRAY_FILL_MIN_FRACTION * height
