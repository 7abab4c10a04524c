"""The forward check, declared here so every code has its check: the dummy net's pass over
the records (forward/runner.py) judged by forward/judge.py, the mean by forward/transform.py."""
from __future__ import annotations

from ..codes import FORWARD_BLOWUP, FORWARD_DATASET, FORWARD_NONFINITE
from .base import FORWARD, Check


class Forward(Check):
    """A record (or the mean) makes the loss or gradient non-finite (DS700); a record stands out
    with a gradient of 1e8 or a loss at Caffe's 87.3365 clamp, or has a label past the net's
    outputs (DS701); records trip together without standing out: the dataset's input scale
    (DS702, forward/spread.py)."""
    codes = (FORWARD_NONFINITE, FORWARD_BLOWUP, FORWARD_DATASET)
    reads = (FORWARD,)
