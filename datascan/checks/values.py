"""Pixel checks on raw (decoded) Datum images. Float value checks live in arrays.py."""
from __future__ import annotations

import numpy as np

from ..config import GRAY_FILL_MIN_FRACTION, GRAY_FILL_MIN_ROWS


def gray_fill_rows(pixels: np.ndarray) -> int:
    """How many bottom rows of a CHW uint8 image are exactly 128 in every channel.

    convert_imageset decodes a truncated JPEG with OpenCV, which fills the rows it
    could not read with flat gray 128, and stores the result without complaint.
    """
    if not (pixels[:, -1, :] == 128).all():          # the usual case, decided on one row
        return 0
    flat = (pixels == 128).all(axis=(0, 2))          # one bool per row
    breaks = np.flatnonzero(~flat)
    return pixels.shape[1] - (int(breaks[-1]) + 1 if breaks.size else 0)


def is_gray_filled(rows: int, height: int) -> bool:
    return rows >= GRAY_FILL_MIN_ROWS and rows >= GRAY_FILL_MIN_FRACTION * height
