"""Vectorised measures on a block of rows: pure numpy, no I/O, no findings.

Every function takes a 2-D array ``(rows, values)`` (an HDF5 row block through
``as_rows``, or a Datum's float_data as a single row) and says which rows have a
problem, how many values and one example. A clean block costs one or two passes
and no temporary the size of the block; only a dirty block pays for masks.
The checks that judge them are values.py (NaN, inf, magnitudes) and labels.py.
"""
from __future__ import annotations

from collections import Counter
from math import prod

import numpy as np

from ..structs import dataclass


@dataclass(frozen=True)
class RowHits:
    rows: np.ndarray       # row numbers within the block that have at least one hit
    counts: np.ndarray     # hits in each of those rows
    example: np.ndarray    # the first offending value of each of those rows

    def __iter__(self):
        return zip(self.rows.tolist(), self.counts.tolist(), self.example.tolist())

    def __len__(self) -> int:
        return int(self.rows.size)


def as_rows(block: np.ndarray) -> np.ndarray:
    """View a block of records (first axis = record) as 2-D (rows, values)."""
    return block.reshape(block.shape[0], prod(block.shape[1:]))


def row_hits(values: np.ndarray, mask: np.ndarray) -> RowHits | None:
    counts = np.count_nonzero(mask, axis=1)
    rows = np.flatnonzero(counts)
    if rows.size == 0:
        return None
    first = mask[rows].argmax(axis=1)
    return RowHits(rows, counts[rows], values[rows, first])


def _is_float(rows: np.ndarray) -> bool:
    return rows.dtype.kind == "f"


def nonfinite_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(row numbers, NaN count, inf count) for rows holding NaN or inf; None for a clean block."""
    if not _is_float(rows) or rows.size == 0:
        return None
    finite = np.isfinite(rows)
    if finite.all():
        return None
    bad = rows.shape[1] - np.count_nonzero(finite, axis=1)
    where = np.flatnonzero(bad)
    nan = np.count_nonzero(np.isnan(rows[where]), axis=1)
    return where, nan, bad[where] - nan


def peak_magnitude(rows: np.ndarray) -> float:
    """Largest |x| in the block ignoring NaN (inf counts); 0.0 for an empty or all-NaN block."""
    if rows.size == 0:
        return 0.0
    hi = float(np.fmax.reduce(rows, axis=None))   # fmax skips NaN without copying the block
    lo = float(np.fmin.reduce(rows, axis=None))
    peak = max(abs(hi), abs(lo))
    return 0.0 if peak != peak else peak


def finite_peak(rows: np.ndarray) -> float | None:
    """Largest |x| of a block with no NaN or inf, else None: two passes (max and min
    propagate NaN, and an inf is its own max or min), no temporary."""
    if rows.size == 0:
        return 0.0
    hi, lo = float(rows.max()), float(rows.min())
    peak = max(abs(hi), abs(lo))
    return peak if peak < float("inf") else None     # NaN < inf is False too


def magnitude_rows(rows: np.ndarray, threshold: float, *, strict: bool = False) -> RowHits | None:
    """Rows with finite values |x| >= threshold (> threshold when strict)."""
    if rows.size == 0:
        return None
    if strict:
        mask = (rows > threshold) | (rows < -threshold)
    else:
        mask = (rows >= threshold) | (rows <= -threshold)
    if _is_float(rows):
        mask &= np.isfinite(rows)
    return row_hits(rows, mask)


def fractional_rows(rows: np.ndarray) -> RowHits | None:
    """Rows with finite non-integer values (a class index must be whole)."""
    if not _is_float(rows) or rows.size == 0:
        return None
    mask = (rows != np.trunc(rows)) & np.isfinite(rows)
    return row_hits(rows, mask)


def integer_histogram(rows: np.ndarray) -> Counter:
    """Count of each whole, finite value (class histogram); other values are skipped."""
    values = rows.ravel()
    if _is_float(values):
        values = values[np.isfinite(values) & (values == np.trunc(values))]
    if values.size == 0:
        return Counter()
    keys, counts = np.unique(values, return_counts=True)
    return Counter(dict(zip((int(k) for k in keys.tolist()), counts.tolist())))

