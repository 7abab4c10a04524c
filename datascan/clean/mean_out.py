"""`clean --mean FILE`: where the cleaned copy's mean.binaryproto may go (it is computed by
the verification scan, mean.scan_and_mean, and written once DST is in place)."""
from __future__ import annotations

import os
from pathlib import Path

from .atomic import is_within
from .errors import CleanRefused
from .targets import KVTarget


def check_mean(target, mean: str | os.PathLike | None, outputs: list[Path]) -> Path | None:
    """Where --mean writes, refused when it would touch the source or the outputs."""
    if mean is None:
        return None
    out = Path(os.path.abspath(mean))
    if not isinstance(target, KVTarget):
        raise CleanRefused(f"--mean: compute_image_mean reads Datums from an LMDB or LevelDB; "
                           f"this is {target.kind} (HDF5Data takes no mean)")
    for inp in list(target.inputs) + outputs:
        if is_within(out, inp) or is_within(inp, out):
            raise CleanRefused(f"--mean {out} would be inside {inp} or hold it: write it beside DST")
    if out.is_dir() or not out.parent.is_dir():
        raise CleanRefused(f"--mean {out}: cannot write a file there")
    return out
