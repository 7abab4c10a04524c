"""The forward check, declared here so every code has its check: the dummy net's pass over
the records (forward/runner.py) judged by forward/judge.py, the mean by forward/transform.py."""
from __future__ import annotations

from ..codes import FORWARD_BLOWUP, FORWARD_NONFINITE
from .base import FORWARD, Check


class Forward(Check):
    """A record (or the mean) makes the loss or gradient non-finite (DS700), or its gradient
    reaches 1e8 or its loss Caffe's 87.3365 clamp (DS701)."""
    codes = (FORWARD_NONFINITE, FORWARD_BLOWUP)
    reads = (FORWARD,)
