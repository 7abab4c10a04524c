"""Value checks on float and pixel arrays: measure once, judge against config thresholds."""
from __future__ import annotations

import numpy as np

from ..config import EXTREME_MAGNITUDE, FLOAT16_MAX, GRAY_FILL_MIN_FRACTION, GRAY_FILL_MIN_ROWS


def value_problems(values: np.ndarray, what: str) -> list[tuple[str, str]]:
    """(code, message) for NaN/inf (DS300), |x| >= 1e8 (DS301), float16 overflow (DS302)."""
    finite = np.isfinite(values)
    out = []
    bad = values.size - int(np.count_nonzero(finite))
    if bad:
        nan = int(np.count_nonzero(np.isnan(values)))
        parts = [f"{nan} NaN"] if nan else []
        if bad - nan:
            parts.append(f"{bad - nan} inf")
        out.append(("DS300", f"{' and '.join(parts)} values in {what}"))
    magnitude = np.abs(np.where(finite, values, 0))
    peak = float(magnitude.max()) if magnitude.size else 0.0
    if peak >= EXTREME_MAGNITUDE:
        n = int(np.count_nonzero(magnitude >= EXTREME_MAGNITUDE))
        out.append(("DS301", f"{n} values in {what} with |x| >= {EXTREME_MAGNITUDE:g} (max {peak:.3g})"))
    elif peak > FLOAT16_MAX:
        n = int(np.count_nonzero(magnitude > FLOAT16_MAX))
        out.append(("DS302", f"{n} values in {what} exceed float16's {FLOAT16_MAX:g} (max {peak:.3g})"))
    return out


def gray_fill_rows(pixels: np.ndarray) -> int:
    """How many bottom rows of a CHW uint8 image are exactly 128 in every channel.

    convert_imageset decodes a truncated JPEG with OpenCV, which fills the rows it
    could not read with flat gray 128, and stores the result without complaint.
    """
    flat = (pixels == 128).all(axis=(0, 2))          # one bool per row
    if not flat[-1]:
        return 0
    breaks = np.flatnonzero(~flat)
    return pixels.shape[1] - (int(breaks[-1]) + 1 if breaks.size else 0)


def is_gray_filled(rows: int, height: int) -> bool:
    return rows >= GRAY_FILL_MIN_ROWS and rows >= GRAY_FILL_MIN_FRACTION * height
