"""Label checks: the class range against --num-classes (the sign when the class count is
unknown), whole numbers, presence.

The range rule is written once, in ``LabelRange.outside``, for one label or an array of them:
the per-record path asks it about a Datum's label, rawbatch about each distinct label of a
batch, and ``hits`` about a block of HDF5 rows.
"""
from __future__ import annotations

import numpy as np

from ..codes import LABEL_FRACTION, LABEL_MISSING, LABEL_NEGATIVE, LABEL_OUTSIDE
from ..structs import dataclass
from .arrays import RowHits, fractional_rows, row_hits
from .base import KEYED, ROWS, Check, Problem, RowProblem


@dataclass(frozen=True)
class LabelRange(Check):
    """Labels a class-index loss can train on: inside [0, num_classes) unless the ignore_label
    (DS500), whole (DS501), present (DS502), and without a class count not negative (DS503)."""
    codes = (LABEL_OUTSIDE, LABEL_FRACTION, LABEL_MISSING, LABEL_NEGATIVE)
    reads = (KEYED, ROWS)

    num_classes: int | None
    ignore_label: int | None

    def outside(self, label):
        """Is a whole label (an int, or an int-valued array: elementwise) not a class to train:
        outside [0, num_classes), or negative without a class count, and not the ignore_label?"""
        bad = label < 0
        if self.num_classes is not None:
            bad = bad | (label >= self.num_classes)
        if self.ignore_label is not None:
            bad = bad & (label != self.ignore_label)
        return bad

    def problem(self, label: int) -> Problem | None:
        """DS500 or DS503 for one Datum label, None for a good one."""
        if not self.outside(label):
            return None
        if self.num_classes is None:
            return (LABEL_NEGATIVE, f"label {label} is negative")
        return (LABEL_OUTSIDE, f"label {label} outside [0, {self.num_classes})")

    def missing(self) -> Problem:
        return (LABEL_MISSING, "Datum has no label field: Caffe reads it as label 0")

    def hits(self, rows: np.ndarray) -> RowHits | None:
        """Rows (a 2-D block) holding a label outside(). With a class count, a float label
        counts as SoftmaxWithLoss truncates it to int; without one only whole negative values
        count (fractional values are regression targets and left alone)."""
        if rows.size == 0 or (self.num_classes is None and rows.dtype.kind == "u"):
            return None
        if rows.dtype.kind != "f":
            return row_hits(rows, self.outside(rows))
        label = np.trunc(rows)
        usable = np.isfinite(rows)
        if self.num_classes is None:
            usable &= label == rows
        return row_hits(rows, self.outside(label) & usable)

    def find(self, rows: np.ndarray, what: str) -> list[RowProblem]:
        """(row, code, message) for a block of label rows: with a class count DS500 out of range
        and DS501 fractional; without one DS503 negative. ``what`` names the array."""
        hits = self.hits(rows) or ()
        if self.num_classes is None:
            return [(r, LABEL_NEGATIVE, f"negative label {v:g} in {what}") for r, _, v in hits]
        out = [(r, LABEL_OUTSIDE, f"label {v:g} outside [0, {self.num_classes}) in {what}"
                + (f" ({n} values)" if n > 1 else "")) for r, n, v in hits]
        out += [(r, LABEL_FRACTION, f"non-integer label {v:g} in {what} "
                                    f"(SoftmaxWithLoss trains it as {int(v)})")
                for r, _, v in fractional_rows(rows) or ()]
        return out
