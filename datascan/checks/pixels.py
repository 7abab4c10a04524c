"""Pixel checks on raw (decoded) Datum images: the bytes rawbatch.py proves clean in batches."""
from __future__ import annotations

import numpy as np

from ..codes import GRAY_FILL
from ..config import GRAY_FILL_MIN_FRACTION, GRAY_FILL_MIN_ROWS
from .base import KEYED, Check, Problem

MIN_HEIGHT = 8      # shorter images are not looked at: a few gray rows are a real picture


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


class GrayFill(Check):
    """Bottom rows of flat gray 128: a truncated JPEG as convert_imageset stored it (DS303)."""
    codes = (GRAY_FILL,)
    reads = (KEYED,)
    reads_pixels = True

    def pixels(self, data: bytes, shape: tuple[int, int, int]) -> list[Problem]:
        c, h, w = shape
        if h < MIN_HEIGHT:
            return []
        rows = gray_fill_rows(data, c, h, w)
        if not is_gray_filled(rows, h):
            return []
        return [(GRAY_FILL, f"bottom {rows} of {h} rows are exactly 128 in every channel")]

    def clean_rows(self, pixels: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
        """A record needs every channel's bottom row gray: channel 0's decides most."""
        _, h, w = shape
        if h < MIN_HEIGHT:
            return np.ones(pixels.shape[0], bool)
        return ~(pixels[:, (h - 1) * w:h * w] == 128).all(axis=1)
