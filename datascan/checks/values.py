"""Value checks on float and integer arrays (a Datum's float_data, HDF5 row blocks): the
values Caffe feeds the net must be finite and of a sane magnitude. Measured in arrays.py."""
from __future__ import annotations

import numpy as np

from ..codes import EXTREME, FLOAT16, NON_FINITE
from ..config import EXTREME_MAGNITUDE, FLOAT16_MAX
from .arrays import finite_peak, magnitude_rows, nonfinite_rows, peak_magnitude
from .base import KEYED, ROWS, Check, RowProblem


class Values(Check):
    """NaN/inf (DS300), |x| >= 1e8 (DS301) and, for float data, float16 overflow (DS302, on
    rows without DS301)."""
    codes = (NON_FINITE, EXTREME, FLOAT16)
    reads = (KEYED, ROWS)

    def find(self, rows: np.ndarray, what: str) -> list[RowProblem]:
        """(row, code, message) for a 2-D block; ``what`` names the array in messages."""
        out: list[RowProblem] = []
        peak = finite_peak(rows)
        if peak is None:          # NaN or inf somewhere: find them
            bad = nonfinite_rows(rows)
            for r, nan, inf in zip(*(x.tolist() for x in bad)) if bad is not None else ():
                parts = [f"{nan} NaN"] * bool(nan) + [f"{inf} inf"] * bool(inf)
                out.append((r, NON_FINITE, f"{' and '.join(parts)} values in {what}"))
            peak = peak_magnitude(rows)
        extreme: set[int] = set()
        if peak >= EXTREME_MAGNITUDE:
            for r, n, v in magnitude_rows(rows, EXTREME_MAGNITUDE) or ():
                extreme.add(r)
                out.append((r, EXTREME, f"{n} values in {what} with |x| >= "
                                        f"{EXTREME_MAGNITUDE:g} (e.g. {v:.4g})"))
        if peak > FLOAT16_MAX and rows.dtype.kind == "f":
            out += [(r, FLOAT16, f"{n} values in {what} exceed float16's {FLOAT16_MAX:g} "
                                 f"(e.g. {v:.4g})")
                    for r, n, v in magnitude_rows(rows, FLOAT16_MAX, strict=True) or ()
                    if r not in extreme]
        return out
