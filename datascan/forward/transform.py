"""Caffe's DataTransformer at TEST phase, vectorised over a batch: (x - mean) * scale, centre crop.

The order of operations, the mean layouts and the CHECK wordings follow
data_transformer.cpp and Blob::FromProto, so a shape mismatch reads like the
line Caffe would abort with. Mirroring is left out: it moves values, never
changes them, so it cannot make a record more or less poisonous.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..caffe.netspec import TransformSpec
from ..caffe.proto import read_blob_proto
from ..codes import FORWARD_NONFINITE
from ..errors import UsageError
from ..model import Finding


@dataclass(frozen=True)
class Mean:
    """A mean.binaryproto as Caffe's DataTransformer sees it."""
    legacy_shape: tuple[int, int, int, int]   # Blob LegacyShape(0..3): num, channels, height, width
    data: np.ndarray                          # flat float32, count = prod(blob shape)
    path: str

    @property
    def chw(self) -> tuple[int, int, int]:
        return self.legacy_shape[1:]


def load_mean(path: str | Path) -> Mean:
    """Blob::FromProto: the legacy num/channels/height/width win when any is set, else shape;
    then count must equal data_size (or double_data_size)."""
    blob = read_blob_proto(path)
    if any(blob.HasField(f) for f in ("num", "channels", "height", "width")):
        shape = [blob.num, blob.channels, blob.height, blob.width]
    else:
        shape = list(blob.shape.dim)
    if any(d < 0 for d in shape):
        raise UsageError(f"mean file {path}: negative dimension in {shape} "
                         "(Caffe: Check failed: shape[i] >= 0)")
    if len(shape) > 4:
        raise UsageError(f"mean file {path} has {len(shape)} axes; Caffe aborts: "
                         "Cannot use legacy accessors on Blobs with > 4 axes.")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    values = blob.double_data if len(blob.double_data) else blob.data
    field = "double_data" if len(blob.double_data) else "data"
    if count != len(values):
        raise UsageError(f"mean file {path}: shape {shape} holds {count} values but {field} has "
                         f"{len(values)}; Caffe aborts: Check failed: count_ == "
                         f"proto.{field}_size() ({count} vs. {len(values)})")
    legacy = tuple(shape[i] if i < len(shape) else 1 for i in range(4))
    return Mean(legacy, np.asarray(values, dtype=np.float32), str(path))


class Transformer:
    """(x - mean) * scale and a centre crop, for batches of (B, C, H, W) records.

    Data that is not 3-D per record (HDF5 rows of any rank) passes through as float32
    when no mean and no crop are set, which is all HDF5Data allows.
    """

    def __init__(self, *, scale: float = 1.0, crop_size: int = 0, mean: Mean | None = None,
                 mean_value: tuple[float, ...] = ()) -> None:
        if mean is not None and mean_value:
            raise UsageError("Cannot specify mean_file and mean_value at the same time")
        self.scale = np.float32(scale)
        self.crop_size = int(crop_size)
        self.mean = mean
        self.mean_value = tuple(float(v) for v in mean_value)
        self._mean_cache: dict[tuple, np.ndarray] = {}

    @classmethod
    def from_spec(cls, spec: TransformSpec) -> Transformer:
        if spec.mean_file is not None and spec.mean_value:
            raise UsageError("Cannot specify mean_file and mean_value at the same time")
        mean = load_mean(spec.mean_file) if spec.mean_file is not None else None
        return cls(scale=spec.scale, crop_size=spec.crop_size, mean=mean,
                   mean_value=spec.mean_value)

    @property
    def mean_name(self) -> str | None:
        """The mean as the report names it: its file, or the mean_value list; None: no mean."""
        if self.mean is not None:
            return f"mean file {self.mean.path}"
        if self.mean_value:
            return "mean_value " + ", ".join(f"{v:g}" for v in self.mean_value)
        return None

    @property
    def identity(self) -> bool:
        return self.mean is None and not self.mean_value and self.crop_size == 0 \
            and self.scale == 1

    # -------------------------------------------------------------- checks

    def check(self, chw: tuple[int, ...]) -> None:
        """Caffe's CHECKs for records of this (uncropped) shape; UsageError with its wording."""
        if self.mean is None and not self.mean_value and not self.crop_size:
            return
        if len(chw) != 3:
            raise UsageError(f"records are {'x'.join(map(str, chw)) or 'scalars'}, but a mean "
                             "or crop needs channels x height x width")
        c, h, w = chw
        if c <= 0:
            raise UsageError(f"Check failed: datum_channels > 0 ({c} vs. 0)")
        if self.crop_size:
            for name, size in (("datum_height", h), ("datum_width", w)):
                if size < self.crop_size:
                    raise UsageError(f"crop_size {self.crop_size} is larger than the {c}x{h}x{w} "
                                     f"records; Caffe aborts: Check failed: {name} >= crop_size "
                                     f"({size} vs. {self.crop_size})")
        if self.mean is not None:
            for name, have, want in (("channels", c, self.mean.chw[0]),
                                     ("height", h, self.mean.chw[1]),
                                     ("width", w, self.mean.chw[2])):
                if have != want:
                    mc, mh, mw = self.mean.chw
                    raise UsageError(
                        f"mean file {self.mean.path} is {mc}x{mh}x{mw} but the records are "
                        f"{c}x{h}x{w} (the mean must have the uncropped record size); Caffe "
                        f"aborts: Check failed: datum_{name} == data_mean_.{name}() "
                        f"({have} vs. {want})")
        if self.mean_value and len(self.mean_value) not in (1, c):
            raise UsageError("Check failed: mean_values_.size() == 1 || mean_values_.size() == "
                             f"datum_channels Specify either 1 mean_value or as many as "
                             f"channels: {c}")

    def mean_problem(self) -> str | None:
        """Why the mean alone poisons every record (NaN/inf in it), else None."""
        if self.mean is not None:
            values, what = self.mean.data, f"mean file {self.mean.path}"
        elif self.mean_value:
            values, what = np.asarray(self.mean_value, dtype=np.float32), "mean_value"
        else:
            return None
        bad = ~np.isfinite(values)
        if not bad.any():
            return None
        nan = int(np.isnan(values).sum())
        first = int(np.flatnonzero(bad)[0])
        where = ""
        if self.mean is not None:
            c, h, w = self.mean.chw
            if first < c * h * w:
                where = f" (first at c={first // (h * w)}, y={first // w % h}, x={first % w})"
        return (f"{what} holds {int(bad.sum())} non-finite values ({nan} NaN){where}: "
                "(x - mean) * scale is non-finite for every record, so Caffe's loss is nan from "
                "iteration 0 and every weight is NaN after the first update")

    def mean_finding(self) -> Finding | None:
        """One DS700 naming the mean instead of one per record (every record would get it)."""
        problem = self.mean_problem()
        if problem is None:
            return None
        path = self.mean.path if self.mean is not None else "mean_value"
        return Finding.of(FORWARD_NONFINITE, path, problem)

    # -------------------------------------------------------------- transform

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """(B, C, H, W) uint8/float records -> float32 (B, C, h, w), Caffe's TEST transform."""
        batch = np.asarray(batch)
        if self.identity:
            return batch.astype(np.float32, copy=False)
        self.check(batch.shape[1:])
        _, _, h, w = batch.shape
        h0, w0, hc, wc = 0, 0, h, w
        if self.crop_size:
            # TEST phase: centre crop (TRAIN takes a random offset; the values are the same kind).
            h0, w0, hc, wc = (h - self.crop_size) // 2, (w - self.crop_size) // 2, \
                self.crop_size, self.crop_size
        with np.errstate(over="ignore", invalid="ignore"):
            out = batch[:, :, h0:h0 + hc, w0:w0 + wc].astype(np.float32)
            mean = self._mean_for(batch.shape[1:])
            if mean is not None:
                out -= mean[:, h0:h0 + hc, w0:w0 + wc]
            if self.scale != 1:
                out *= self.scale
        return out

    def _mean_for(self, chw: tuple[int, int, int]) -> np.ndarray | None:
        if chw not in self._mean_cache:
            c, h, w = chw
            if self.mean is not None:
                mean = self.mean.data[:c * h * w].reshape(c, h, w)
            elif self.mean_value:
                values = self.mean_value * c if len(self.mean_value) == 1 else self.mean_value
                mean = np.broadcast_to(np.asarray(values, np.float32)[:, None, None], (c, h, w))
            else:
                mean = None
            self._mean_cache[chw] = mean
        return self._mean_cache[chw]
