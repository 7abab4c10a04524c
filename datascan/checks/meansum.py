"""Per-pixel sums for `datascan mean` (mean.py), taken in the workers as records are checked.

Caffe's compute_image_mean sums every record's pixels (CHW, the records' own channel order:
BGR for OpenCV-built sets) and divides by the count; it aborts at the first record whose size
differs from the first one's. A shard keeps the sums of at most MEAN_SHAPES shapes, each with
its first record (position, key): enough to name the first odd record of the whole source
(it is among each shard's first two shapes) and to keep the majority's sum when the others
are left out as bad (DS600 on raw Datums). Sums are float64, merged by adding: any split
gives the same mean.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..structs import dataclass, field

MEAN_SHAPES = 3


@dataclass
class ShapeSum:
    total: np.ndarray          # float64, c*h*w
    count: int
    first: int                 # position of the first record summed
    key: bytes | str | None


@dataclass
class MeanSums:
    sums: dict[tuple[int, int, int], ShapeSum] = field(default_factory=dict)
    overflow: bool = False     # more than MEAN_SHAPES shapes: the sums cannot make one mean
    # the first record of the MEAN_SHAPES + 1 shapes that come first: shape -> (position, key)
    firsts: dict[tuple[int, int, int], tuple[int, bytes | str | None]] = field(default_factory=dict)

    def add(self, shape: tuple[int, int, int], values: np.ndarray, index: int,
            key: bytes | str | None, count: int = 1) -> None:
        """Add one record's values (or the sum of `count` records, the first at `index`)."""
        self._first(shape, index, key)
        s = self.sums.get(shape)
        if s is None:
            if len(self.sums) >= MEAN_SHAPES:
                self.overflow = True
                return
            self.sums[shape] = ShapeSum(np.asarray(values, np.float64).copy(), count, index, key)
            return
        s.total += values
        s.count += count
        if index < s.first:
            s.first, s.key = index, key

    def _first(self, shape, index: int, key) -> None:
        if shape not in self.firsts or index < self.firsts[shape][0]:
            self.firsts[shape] = (index, key)
            if len(self.firsts) > MEAN_SHAPES + 1:    # keep the ones that come first
                del self.firsts[max(self.firsts, key=lambda s: self.firsts[s][0])]

    def merge(self, other: MeanSums, place: Callable[[int], int]) -> None:
        self.overflow |= other.overflow
        for shape, s in other.sums.items():
            self.add(shape, s.total, place(s.first), s.key, s.count)
        for shape, (index, key) in other.firsts.items():
            self._first(shape, place(index), key)

    def moved(self, place: Callable[[int], int]) -> None:
        for s in self.sums.values():
            s.first = place(s.first)
        self.firsts = {shape: (place(i), k) for shape, (i, k) in self.firsts.items()}

    def first_odd(self, among: set | None = None) -> tuple[tuple, tuple, tuple, tuple] | None:
        """(first shape, its first (position, key), the next shape, the first record of it);
        ``among``: of those shapes only (the others were left out)."""
        ranked = sorted(((s, f) for s, f in self.firsts.items() if among is None or s in among),
                        key=lambda kv: kv[1][0])
        if len(ranked) < 2:
            return None
        return ranked[0][0], ranked[0][1], ranked[1][0], ranked[1][1]


def bgr_chw(image) -> np.ndarray | None:
    """A decoded PIL image as OpenCV's imdecode(..., -1) gives it to compute_image_mean,
    in CHW: gray stays one channel, colour is BGR (BGRA with alpha)."""
    mode = image.mode
    if mode in ("1", "P", "CMYK", "YCbCr", "LAB", "HSV"):
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "LA":
        image = image.convert("RGBA")
    elif mode not in ("L", "RGB", "RGBA"):
        return None                       # 16-bit and float modes: DS403, not averaged
    a = np.asarray(image)
    if a.ndim == 2:
        return a[None]
    a = a[..., [2, 1, 0, 3][:a.shape[2]]]
    return a.transpose(2, 0, 1)
