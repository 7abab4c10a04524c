"""THE table of finding codes. Every finding datascan emits has its row here, and emit
sites name the row by its constant (``Finding.of(codes.NON_FINITE, ...)``), never by its text.

Codes are prefix + digits (flake8 style) so ``--select DS3`` picks a whole area.
A row's severity is the default; a finding may carry a different one when the
context changes how harmful it is (e.g. DS600 on encoded images, which a crop fixes).
Each code is declared by exactly one check (checks/registry.py). This module is a leaf:
it imports nothing from datascan, so model.py and every emit site can import it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO


@dataclass(frozen=True)
class Code:
    code: str
    severity: Severity
    title: str
    hint: str


_ROWS: list[Code] = []


def _row(code: str, severity: Severity, title: str, hint: str) -> Code:
    _ROWS.append(Code(code, severity, title, hint))
    return _ROWS[-1]


# DS1xx storage
CANNOT_OPEN = _row("DS100", E, "source cannot be opened or recognised",
    "Check the path and format (--source-format). For HDF5 lists, every listed file must be HDF5.")
STORAGE_CORRUPT = _row("DS101", E, "storage corruption (bad page, bad block checksum, unreadable chunk)",
    "Caffe never verifies LevelDB checksums and LMDB has none: the records named here reach "
    "training as garbage. Restore from a backup or rebuild the dataset; `datascan clean` drops them.")
TRUNCATED = _row("DS102", E, "truncated file",
    "The file is shorter than its own metadata says (a half-finished copy or download). "
    "Copy it again; mapping a short data.mdb kills the reader with SIGBUS.")
LIST_MISSING = _row("DS103", E, "list file names a missing file",
    "Caffe stops with \"Failed opening HDF5 file\". Fix the path in the list file.")
LIST_MOVED = _row("DS104", W, "list entry resolved beside the list, not at its written path",
    "The list names an absolute path from another machine. Caffe resolves against its working "
    "directory and will not find it: rewrite the list with paths valid where training runs.")
LINK_OUTSIDE = _row("DS105", W, "link or external storage points outside the dataset",
    "External links, external raw storage and virtual datasets are read only when they resolve "
    "inside the dataset's own directory. Copy the data into the file (h5repack) to scan it.")
NO_RECORDS = _row("DS106", E, "dataset holds no records",
    "Caffe cannot train on it (an LMDB left by a convert_imageset run that failed, a LevelDB "
    "whose writes never reached it). Rebuild the dataset, or check that the path is the right one.")
CHANGED = _row("DS107", E, "dataset changed during the scan",
    "A writer committed while the scan read: its parts saw different transactions, so counts and "
    "findings mix two states of the dataset. Scan again when the writer is done (or scan a copy).")
NO_READER_TABLE = _row("DS108", I, "read without LMDB's reader table",
    "lock.mdb cannot be opened for writing (read-only media), so the scan is not isolated from a "
    "live writer; the transaction id is still compared (DS107). Fine for a dataset nobody writes.")
# DS2xx record decoding
NOT_DATUM = _row("DS200", E, "value is not a valid Datum",
    "Caffe ignores the parse result (`datum.ParseFromString`) and trains on an empty or partial "
    "Datum, which fails later as \"Check failed: datum_channels > 0 (0 vs. 0)\". Rewrite the record.")
DATA_LENGTH = _row("DS201", E, "data length differs from channels x height x width",
    "Caffe indexes the data without checking its length (an out-of-bounds read while training); "
    "compute_image_mean stops with \"Incorrect data field size\". Rewrite the record.")
EMPTY = _row("DS202", E, "empty record (no data, no float_data)",
    "An empty value trains as zeros or fails \"Check failed: datum_channels > 0\". Drop it.")
BAD_DIMS = _row("DS203", E, "invalid dims (non-positive or absurd channels/height/width)",
    "Caffe CHECK-fails on these (\"datum_channels > 0\", \"blob size exceeds INT_MAX\"). "
    "Rewrite the record.")
# DS3xx values
NON_FINITE = _row("DS300", E, "NaN or inf values",
    "The first batch holding this record makes the loss NaN and every weight NaN after the "
    "update (\"loss = nan\" for the rest of the run). Drop or repair the record.")
EXTREME = _row("DS301", W, "extreme magnitude (|x| >= 1e8)",
    "Finite but huge inputs blow up the gradients of the first update (debug_info shows "
    "diffs around e+8 before \"loss = nan\"). Check the scaling of this record.")
FLOAT16 = _row("DS302", I, "value would overflow float16 (|x| > 65504)",
    "Harmless in float32 training; in half precision it becomes inf and then NaN.")
GRAY_FILL = _row("DS303", W,
    "bottom rows are flat gray 128: a truncated image decoded by convert_imageset",
    "OpenCV fills the missing rows of a truncated JPEG with 128 and convert_imageset stores it "
    "silently (log: \"Premature end of JPEG file\"). Re-encode the source image and rebuild.")
# DS4xx images
UNDECODABLE = _row("DS400", E, "image does not decode",
    "Caffe logs \"Could not decode datum\" and fails later, e.g. \"Check failed: img_height >= "
    "crop_size (0 vs. 227)\" or \"cv_cropped_image.data\". Replace the image.")
CORRUPT_IMAGE = _row("DS401", E,
    "image decodes only with corruption warnings (bad CRC, corrupt data, truncated)",
    "libjpeg/libpng print \"Premature end of JPEG file\", \"Corrupt JPEG data\" or \"libpng error: "
    "IDAT: CRC error\" and the loader half-decodes it (gray rows, garbage). Replace the image.")
IMAGE_BOMB = _row("DS402", E, "image claims a huge size (decompression bomb)",
    "Decoding it would allocate gigabytes. Replace the image; it was not decoded.")
IMAGE_MODE = _row("DS403", W, "image mode Caffe's loader rejects or mangles",
    "16-bit images stop Caffe with \"Image data type must be unsigned byte\"; a grayscale image in "
    "a colour set stops it with \"Check failed: channels == img_channels (3 vs. 1)\" unless "
    "force_color is set; RGBA/CMYK decode with an unexpected channel count. Convert the image.")
WRONG_FORMAT = _row("DS404", W, "image format does not match what the record or name says",
    "A PNG named .jpg or a GIF in a JPEG set decodes, but other tools may trip on it.")
# DS5xx labels
LABEL_OUTSIDE = _row("DS500", E, "label outside [0, num_classes)",
    "A Release-build Caffe does not check (DCHECKs are compiled out): SoftmaxWithLoss reads past "
    "its output, giving silent garbage, \"loss = 87.3365\", or a heap crash (\"malloc(): invalid "
    "size\"). Fix the label or --num-classes.")
LABEL_FRACTION = _row("DS501", E, "non-integer label where a class index is expected",
    "SoftmaxWithLoss truncates the label (static_cast<int>), so 2.7 trains as class 2. Fix the label.")
LABEL_MISSING = _row("DS502", W, "label missing",
    "A Datum without a label field trains as class 0 (proto2 default). Fine when labels "
    "come from a second database; otherwise add the label. An HDF5 file without the "
    "dataset the net's label top names stops HDF5Data (\"Failed to find HDF5 dataset\"); "
    "name the file's label dataset with --label-dataset.")
LABEL_NEGATIVE = _row("DS503", W, "negative label",
    "Negative labels index before the softmax output unless they equal the loss's ignore_label. "
    "Pass --num-classes and --ignore-label to check the range exactly.")
# DS6xx shapes
SHAPE_MISMATCH = _row("DS600", E, "shape differs from the dataset's majority",
    "Caffe's Data layer takes each batch's shape from its first record and aborts on the others "
    "(\"Check failed: height <= img_height\", \"channels == datum_channels\") unless crop_size fits "
    "every record. Resize the record, or crop.")
ROWS_DISAGREE = _row("DS601", E, "HDF5 datasets of one file disagree on the first dimension",
    "HDF5Data aborts: \"Check failed: hdf_blobs_[i]->shape(0) == num\". Make every dataset hold one "
    "row per sample.")
BAD_DTYPE = _row("DS602", E, "dtype the data layer cannot use",
    "HDF5Data reads only float and integer classes (\"Unsupported datatype class\" otherwise); "
    "integer data is converted to float silently. Store float32.")
# DS61x the same content twice (duplicates.py): records compared with each other by content
DUPLICATE = _row("DS610", W, "the same content twice in one set",
    "Each copy gets an extra share of every epoch (a weighted sample nobody chose). Keep one: "
    "`datascan clean --drop warning --select DS610` drops every copy after the first.")
LEAKAGE = _row("DS611", E, "the same record in two sets of one command (train/test leakage)",
    "A test record the net was trained on inflates every accuracy number measured on it. "
    "Drop the records named here from the later set (or rebuild the split).")
LABEL_CONFLICT = _row("DS612", E, "the same content under different labels",
    "The net is asked for two answers to one input: label noise that caps accuracy and slows "
    "convergence. Find the right label and fix or drop the other copies.")
# DS7xx forward
FORWARD_NONFINITE = _row("DS700", E, "record makes the dummy net's loss or gradient non-finite",
    "This record turns the training loss NaN (\"loss = nan\") in the batch named. Drop or repair it.")
FORWARD_BLOWUP = _row("DS701", E,
    "record's gradient reaches 1e8 or its loss reaches Caffe's 87.3365 clamp",
    "This record blows up the first update (\"loss = 87.3365\", diffs around e+8 in debug_info). "
    "Check its scaling and label.")

CODES: MappingProxyType[str, Code] = MappingProxyType({row.code: row for row in _ROWS})
if len(CODES) != len(_ROWS):  # pragma: no cover - guarded by tests too
    raise RuntimeError("duplicate finding code in codes.py")


def lookup(code: str) -> Code:
    return CODES[code]


def matches(code: str, prefixes: tuple[str, ...]) -> bool:
    return any(code.startswith(p.strip().upper()) for p in prefixes if p.strip())


def keep(code: str, select: Sequence[str] = (), ignore: Sequence[str] = ()) -> bool:
    """--select / --ignore: a code is kept when it matches a selected prefix (every code
    does when none is selected) and no ignored one."""
    return (not select or matches(code, tuple(select))) and not matches(code, tuple(ignore))
