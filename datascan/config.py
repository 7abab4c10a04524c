"""Scan options: typed, frozen, picklable (shipped to worker processes with each shard)."""
from __future__ import annotations

from dataclasses import dataclass

# One place for thresholds (cleanvision habit: measure, then judge against these).
EXTREME_MAGNITUDE = 1e8
FLOAT16_MAX = 65504.0
MAX_IMAGE_PIXELS = 1 << 28          # 268M pixels: beyond this an image is a DS402 bomb
MAX_DIM = 1 << 16                   # a raw Datum side longer than this is "absurd" (DS203)
MAX_BLOB_COUNT = (1 << 31) - 1      # Caffe: "blob size exceeds INT_MAX"
SHAPE_REFS_CAP = 10_000             # records remembered per minority shape, per shard
INFO_CAP = 100                      # info findings listed per file and code; the rest are counted
GRAY_FILL_MIN_ROWS = 2              # DS303: at least this many flat-128 bottom rows ...
GRAY_FILL_MIN_FRACTION = 0.125      # ... and at least this share of the height


@dataclass(frozen=True)
class ScanConfig:
    num_classes: int | None = None
    ignore_label: int | None = None
    format: str | None = None                   # override detection: lmdb | leveldb | hdf5
    label_datasets: tuple[str, ...] = ("label",)  # HDF5: datasets holding labels
    max_image_pixels: int = MAX_IMAGE_PIXELS
