"""Bounded series: a curve of any length kept as at most MAX_POINTS points."""
from __future__ import annotations

import math

MAX_POINTS = 512


class Downsampled:
    """(iteration, value) points, thinned as they come: when the buffer is full every other
    point is dropped and the stride doubles, so memory stays bounded and the points stay
    evenly spread. The first non-finite point is always kept (it is the story)."""

    def __init__(self, limit: int = MAX_POINTS):
        self.limit = limit
        self.stride = 1
        self.seen = 0
        self.points: list[tuple[int, float]] = []
        self.kept_nonfinite = False

    def add(self, iteration: int, value: float) -> None:
        keep = self.seen % self.stride == 0
        self.seen += 1
        if not keep and (self.kept_nonfinite or math.isfinite(value)):
            return
        if not math.isfinite(value):
            self.kept_nonfinite = True
        self.points.append((iteration, value))
        if len(self.points) >= 2 * self.limit:
            first_bad = next((p for p in self.points if not math.isfinite(p[1])), None)
            self.points = self.points[::2]
            if first_bad is not None and first_bad not in self.points:
                self.points.append(first_bad)
                self.points.sort(key=lambda p: p[0])
            self.stride *= 2

    def final(self) -> tuple[tuple[int, float], ...]:
        points = self.points
        if len(points) > self.limit:
            step = len(points) / self.limit
            picked = {int(i * step) for i in range(self.limit)}
            bad = next((i for i, p in enumerate(points) if not math.isfinite(p[1])), None)
            if bad is not None:
                picked.add(bad)
            points = [points[i] for i in sorted(picked)]
        return tuple(points)
