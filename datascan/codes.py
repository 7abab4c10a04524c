"""THE table of finding codes. Every finding datascan emits has its row here, and emit
sites name the row by its constant (``Finding.of(codes.NON_FINITE, ...)``), never by its text.

Codes are prefix + digits (flake8 style) so ``--select DS3`` picks a whole area.
A row's severity is the default; a finding may carry a different one when the
context changes how harmful it is (e.g. DS403 on an image that no Caffe layer reads).
Each code is declared by exactly one check (checks/registry.py). This module is a leaf:
it imports nothing from datascan, so model.py and every emit site can import it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
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

    def at(self, severity: Severity | None) -> Code:
        """This code at another severity (None: its own): for a finding whose harm depends on
        the context, e.g. DS403 on an image no Caffe layer reads (checks/loader.py)."""
        return self if severity is None or severity is self.severity else replace(self, severity=severity)


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
IMAGE_MODE = _row("DS403", E, "image mode Caffe's loader rejects or mangles",
    "Caffe's Data layer decodes encoded Datums as they are stored unless transform_param sets "
    "force_color or force_gray: a 16-bit image stops it with \"Image data type must be unsigned "
    "byte\", a grayscale image in a colour set with \"Check failed: channels == img_channels "
    "(3 vs. 1)\", RGBA comes out as 4 channels, CMYK with disputed colours. Set force_color: true "
    "(force_gray: true for a gray net) and tell datascan (--force-color, or --net), or convert "
    "the image; setting both stops Caffe (\"cannot set both force_color and force_gray\").")
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
SHAPE_MISMATCH = _row("DS600", E, "shape the data layer cannot batch (differs from the "
    "majority, or smaller than crop_size)",
    "Caffe's Data layer takes each batch's shape from its first record and aborts on the others "
    "(\"Check failed: height <= img_height\", \"channels == datum_channels\") unless crop_size "
    "fits every record, and aborts on a record smaller than crop_size (\"datum_height >= "
    "crop_size\"). Resize the record (convert_imageset --resize_height/--resize_width), or crop "
    "and tell datascan (--crop-size, or --net).")
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

# DS8xx training run (datascan doctor, from a Caffe log)
RUN_NONFINITE = _row("DS800", E, "the run's first non-finite value (NaN or inf)",
    "Where it first appears says why: at the data layer's top, a record (datascan check the "
    "batch); first at a loss layer with finite inputs, the loss or its labels; first in a "
    "backward or param diff, gradient blow-up (lower base_lr 10x, set clip_gradients); in the "
    "lr, the lr policy. Without debug_info set `debug_info: true` and `display: 1` to name the layer.")
RUN_BLOWUP = _row("DS801", W, "gradient blow-up: loss or debug_info values grow by orders of magnitude",
    "Lower base_lr by 10x (or the loss_weight of the exploding head), set clip_gradients, "
    "normalise the inputs (transform_param scale, mean).")
RUN_LR_BAD = _row("DS802", E, "learning rate is nan, inf or negative",
    "The lr policy computes it (poly without max_iter, gamma > 1, power 1 past max_iter): "
    "set max_iter, power, gamma and stepsize consistently (datascan doctor --solver lints them).")
RUN_LR_ZERO = _row("DS803", W, "learning rate is 0: nothing learns",
    "base_lr unset (fixed policy) or gamma unset (step/exp/multistep after the first step). "
    "Set base_lr and gamma.")
RUN_NOTHING = _row("DS804", E, "the solver trains nothing (zero iterations)",
    "max_iter is 0 or unset (caffe train runs Step(max_iter - iter) = 0 iterations and exits 0). "
    "Set max_iter.")
RUN_CLAMP = _row("DS805", E, "loss at SoftmaxWithLoss's clamp 87.3365 (InfogainLoss 46.0517)",
    "-ln(FLT_MIN): the true class got probability 0 for every sample. On GPU NaN logits print "
    "exactly this. A label outside num_output (datascan check --num-classes), exploding logits "
    "(lower base_lr), or unscaled inputs.")
RUN_STUCK = _row("DS806", W, "loss stuck (not moving, or pinned at ln(num_classes): chance level)",
    "The net stopped learning: lr too high for the solver (adaptive solvers at 0.01 kill "
    "CaffeNet) or too small, dead units after a spike, constant labels or data. Lower lr, "
    "check the lr line, check the data's labels (datascan check).")
RUN_ZERO_DIFF = _row("DS807", W, "zero gradient: a param blob's diff is 0 across displays",
    "No gradient reaches this layer: dead ReLUs below it, lr_mult 0, loss_weight 0, "
    "propagate_down: false, saturated sigmoid/tanh. Lower lr, use leaky ReLU or better init.")
RUN_DEAD = _row("DS808", W, "activations collapsed to zero (dead units)",
    "Every unit of this ReLU's output is 0: a too-large step or a negative bias killed them. "
    "Lower lr, use leaky ReLU/PReLU, msra/xavier init, BatchNorm.")
RUN_ABORT = _row("DS809", E, "Caffe aborted",
    "Read the explanation: the message names what Caffe refused; datascan check finds the "
    "record causes (the code named in the message).")
RUN_HEADLINE = _row("DS810", I, "headline loss poisoned by an earlier nan (running average)",
    "The `Iteration N, loss = X` headline is a running mean over average_loss iterations: one "
    "nan keeps it nan. Judge the current state from the `Train net output` lines.")
RUN_UNSTABLE = _row("DS811", W, "loss diverging or unstable (spikes far above chance, no NaN)",
    "lr too high for this solver and net: lower base_lr by 10x, check rms_decay/momentum2, "
    "set clip_gradients.")
RUN_BN_TEST0 = _row("DS812", I, "iteration-0 test loss is the BatchNorm artefact, not a failure",
    "TEST-phase BatchNorm uses global statistics that are still 0 before the first step. "
    "Expected; later tests are what count.")
RUN_SEVERAL = _row("DS813", I, "the log holds several runs",
    "Runs were appended to one file (a failed start, a resume); the verdict is the last run's.")
RUN_CHECKED = _row("DS814", E, "datascan's check layer found NaN/inf (doctor --instrument)",
    "The check layer after this layer saw its output (forward) or the gradient reaching it "
    "(backward) non-finite: the first such layer is where it starts. Read DS800's advice for "
    "that place (input, the layer's arithmetic, the loss, gradient blow-up).")
# DS9xx net and solver definitions (lint)
LINT_AVE_POOL = _row("DS900", E, "AVE pooling with stride > kernel_size (NaN on some input sizes)",
    "Caffe's ceil output size puts a last window at the border with pool size 0: 0/0 = NaN. "
    "Make stride <= kernel_size, add pad, or use round_mode: FLOOR.")
LINT_LR_POLICY = _row("DS901", E, "lr policy without what it needs",
    "poly needs max_iter (and power), step/sigmoid stepsize, step/exp/multistep/inv/sigmoid "
    "gamma, multistep sorted stepvalues, fixed a base_lr; an unset lr_policy stops Caffe. Set them.")
LINT_BACKEND = _row("DS902", E, "Data layer without `backend: LMDB` over an LMDB",
    "Caffe's default backend is LEVELDB: it fails \"Failed to open leveldb\". Add backend: LMDB.")
LINT_HDF5_TRANSFORM = _row("DS903", E, "HDF5Data with transform_param",
    "Caffe aborts (\"HDF5Data does not transform data\"; older versions ignored it silently). "
    "Scale and mean-subtract when writing the HDF5 file, or add a Scale/Power layer.")
LINT_MEAN_BOTH = _row("DS904", E, "mean_file together with mean_value",
    "Caffe aborts: \"Cannot specify mean_file and mean_value at the same time\". Keep one.")
LINT_BN_GLOBAL = _row("DS905", W, "BatchNorm use_global_stats: true in the TRAIN phase",
    "The statistics stay frozen (at 0 when training from scratch). Leave the field unset; set "
    "it with lr_mult 0 only to fine-tune from a model with good statistics.")
LINT_INFOGAIN = _row("DS906", W, "InfogainLoss: what it expects depends on the Caffe version",
    "Before 2016-03 it takes probabilities (put a Softmax before it); since then it applies "
    "its own softmax (feed raw scores). Fed the wrong one: negative, nan or 46.0517 losses.")
LINT_MOMENTUM = _row("DS907", E, "momentum >= 1 (the update never decays: it diverges)",
    "Use momentum below 1 (0.9 is usual; 0.99 with a lower lr).")
LINT_LR_GROWS = _row("DS908", W, "the lr policy makes the learning rate grow",
    "gamma > 1 (step, exp, multistep) or a negative power (inv, poly) increases lr until it "
    "overflows to inf. Use gamma <= 1 and power >= 0.")
LINT_BASE_LR = _row("DS909", W, "base_lr that the log shows diverging",
    "The run diverged or went NaN with a finite lr: lower base_lr by 10x (or set clip_gradients).")

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
