"""Scan options: typed, frozen, picklable (shipped to worker processes with each shard)."""
from __future__ import annotations

from collections.abc import Sequence

from .structs import dataclass

# One place for thresholds (cleanvision habit: measure, then judge against these).
EXTREME_MAGNITUDE = 1e8
FLOAT16_MAX = 65504.0
MAX_IMAGE_PIXELS = 1 << 28          # 268M pixels: beyond this an image is a DS402 bomb
MAX_DIM = 1 << 16                   # a raw Datum side longer than this is "absurd" (DS203)
MAX_BLOB_COUNT = (1 << 31) - 1      # Caffe: "blob size exceeds INT_MAX"
# Dataset-wide shape checks (DS600, DS403) keep per-source summaries, one table each for
# Datum shapes, image sizes and image channels. A table holds at most MAX_SHAPE_GROUPS
# distinct shapes and at most SHAPE_REFS_TOTAL record references (index, key): each group
# keeps its first min(SHAPE_REFS_CAP, SHAPE_REFS_TOTAL // groups). Past MAX_SHAPE_GROUPS
# shapes the table keeps only a record count and the range of each dimension. So a summary
# is at most 3 x (256 groups + 20,000 refs): about 3 x 3 MB with 8-character keys (a ref is
# ~150 bytes with such a key, each byte more adds one; LMDB keys are at most 511 bytes),
# whatever the number of records or shapes. Merging two tables holds twice that for a moment.
SHAPE_REFS_CAP = 10_000             # records remembered per minority shape (1 or 2 shapes)
SHAPE_REFS_TOTAL = 20_000           # records remembered per table, over all its shapes
MAX_SHAPE_GROUPS = 256              # distinct shapes per table before it keeps only ranges
MAX_LABELS = 100_000                # distinct labels counted (histogram); past it, only their range
DUPLICATES_LISTED = 1000            # DS610-612 listed per source and code; the rest are counted
INFO_CAP = 100                      # info findings listed per file and code; the rest are counted
TEXT_LISTED = 1000                  # DS620-623 listed per source and code; the rest are counted
TEXT_MAX_RUNS = 20_000              # text layout: runs of sample numbers kept per key prefix
GRAY_FILL_MIN_ROWS = 2              # DS303: at least this many flat-128 bottom rows ...
GRAY_FILL_MIN_FRACTION = 0.125      # ... and at least this share of the height
BOXES_LISTED = 8                    # DS52x: boxes named per record and code; the rest counted in one
BACKGROUND_LABEL = 0                # MultiBoxLoss background_label_id (SSD's default)


@dataclass(frozen=True)
class LabelMap:
    """SSD's labelmap.prototxt (--label-map): the class labels a box may carry, with their names.
    caffe/labelmap.py reads it."""
    path: str
    labels: tuple[int, ...]
    names: tuple[str, ...]

    def name(self, label: int) -> str | None:
        return self.names[self.labels.index(label)] if label in self.labels else None


@dataclass(frozen=True)
class Transform:
    """What a Caffe data layer's transform_param does to a record before it joins a batch,
    as far as it decides whether the layer aborts (CAFFE_FACTS 1.5): crop_size (a record's
    sides must reach it; records of several sizes batch together when it is set) and
    force_color / force_gray (an encoded image is decoded to 3 / 1 channels of 8 bits instead
    of as stored; raw Datums are not touched). scale, mirror and the mean never abort on a
    record's shape, so they are not here. ``origin`` says where it came from: "defaults"
    (nothing was said: Caffe's defaults, and findings say what they depend on), "options"
    (--crop-size, --force-color, --force-gray) or a net layer ("layer 'data'"). ``resize``:
    ImageData's new_height x new_width (both set), which every image is resized to before the
    transform, so its sizes are free; ``layer``: the layer type that reads the records, as the
    findings name it (ImageData's force_color / force_gray is its image_data_param.is_color)."""
    crop_size: int = 0
    force_color: bool = False
    force_gray: bool = False
    origin: str = "defaults"
    resize: tuple[int, int] | None = None
    layer: str = "Data"

    @property
    def given(self) -> bool:
        return self.origin != "defaults"

    @property
    def forced(self) -> bool:
        """An encoded image is decoded to a fixed channel count and 8 bits."""
        return self.force_color or self.force_gray

    def refuse_rows(self, path) -> None:
        """HDF5Data takes no transform_param (Caffe aborts on one: "HDF5Data does not
        transform data."): --crop-size / --force-* given for an HDF5 source are refused, as
        --forward refuses them (one line, exit 2), whatever the command."""
        if self.origin != "options" or not (self.crop_size or self.forced):
            return
        from .errors import UsageError
        said = [o for o, on in (("--crop-size", self.crop_size), ("--force-color", self.force_color),
                                ("--force-gray", self.force_gray)) if on]
        raise UsageError(f"{path}: HDF5Data takes no transform_param (Caffe aborts on one: "
                         f"\"HDF5Data does not transform data.\"): drop {'/'.join(said)} "
                         "(check an LMDB given with it in a separate command)")

    def options(self) -> tuple[tuple[str, object], ...]:
        """The report's options' "transform" for a scan of paths: where from, and its settings."""
        return (("from", "options" if self.given else "defaults"),) + self.settings()

    def settings(self) -> tuple[tuple[str, object], ...]:
        """(name, value) of each setting, as the JSON report's options record them."""
        out = (("crop_size", self.crop_size), ("force_color", self.force_color),
               ("force_gray", self.force_gray))
        return out + ((("resize", list(self.resize)),) if self.resize else ())


@dataclass(frozen=True)
class ScanConfig:
    num_classes: int | None = None
    ignore_label: int | None = None
    format: str | None = None                   # override detection: lmdb | leveldb | hdf5
    label_datasets: tuple[str, ...] = ("label",)  # HDF5: datasets holding labels
    max_image_pixels: int = MAX_IMAGE_PIXELS
    mean: bool = False          # `datascan mean`: sum the pixels of the records (meansum.py) ...
    mean_bad: bool = False      # ... those with error findings too (--include-bad)
    spill_dir: str | None = None   # the scan's temporary directory (content logs); removed at its end
    root: str | None = None     # image lists: ImageData's root_folder, prepended as a plain string
    alphabet: str | None = None    # text labels (DS512): the characters the recogniser knows
    max_label_length: int | None = None   # text labels longer than this: DS513
    label_map: LabelMap | None = None     # SSD boxes: their labels must be in it (DS521)
    transform: Transform = Transform()   # the data layer's, which DS403/DS600 judge against


def scan_config(config: ScanConfig | None = None, *, num_classes: int | None = None,
                ignore_label: int | None = None, format: str | None = None,
                label_datasets: Sequence[str] = ("label",), root: str | None = None,
                alphabet: str | None = None, max_label_length: int | None = None,
                label_map: LabelMap | None = None,
                transform: Transform | None = None) -> ScanConfig:
    """The ScanConfig a call means: ``config`` when given, else one built from the keywords
    that scan(), clean() and the CLI take."""
    if config is not None:
        return config
    return ScanConfig(num_classes=num_classes, ignore_label=ignore_label, format=format,
                      label_datasets=tuple(label_datasets), root=root, alphabet=alphabet,
                      max_label_length=max_label_length, label_map=label_map,
                      transform=transform or Transform())
