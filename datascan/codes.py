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
from enum import Enum
from types import MappingProxyType

from .structs import dataclass, replace


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
# DS13x image lists (sources/imagelist.py: Caffe's ImageData source, convert_imageset's LISTFILE)
LIST_FILE = _row("DS130", E, "image list names a file that cannot be read",
    "root_folder + path (a plain string, no path join) is missing, a directory or unreadable: "
    "ImageData stops with \"Check failed: cv_img.data Could not load ...\", convert_imageset skips "
    "the line (\"Could not open or find file\"), so keys have gaps. Fix the path or --root.")
LIST_ROOT = _row("DS131", W, "image list's files are found under another root",
    "Caffe prepends root_folder to each path as a plain string: \"images\" + \"a.jpg\" is "
    "\"imagesa.jpg\". Set root_folder (convert_imageset's ROOTFOLDER, --root here) as named.")
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
# DS51x text labels (text-recognition LMDBs: crnn, deep-text-recognition-benchmark; crnn.py)
TEXT_NOT_UTF8 = _row("DS510", E, "text label is not UTF-8",
    "The loaders decode every label (`txn.get(label_key).decode('utf-8')`): this one raises "
    "UnicodeDecodeError and stops training when its sample is drawn. Rewrite the label as UTF-8.")
TEXT_EMPTY = _row("DS511", W, "text label is empty or blank",
    "An image with text under an empty label teaches the net to read nothing (CTC takes an empty "
    "target without complaint). Fix the label, or drop the sample if it holds no text on purpose.")
TEXT_ALPHABET = _row("DS512", E, "text label holds characters outside --alphabet",
    "crnn's strLabelConverter raises KeyError on a character it has no class for; "
    "deep-text-recognition-benchmark silently drops the sample (unless --data_filtering_off). "
    "Add the characters to the alphabet (both cases if your loader is case-sensitive) or fix the label.")
TEXT_TOO_LONG = _row("DS513", W, "text label longer than --max-label-length",
    "deep-text-recognition-benchmark drops labels longer than batch_max_length at load (unless "
    "--data_filtering_off), and CTC needs at least as many time steps as characters (plus one per "
    "repeated pair). Raise the limit or the input width, or drop the sample.")
# DS52x SSD detection boxes (AnnotatedDatum), as the AnnotatedData layer and MultiBoxLoss read them
ANNO_TYPE = _row("DS520", E, "annotation type missing or not BBOX",
    "SSD's AnnotatedData layer stops with \"Some datum misses AnnotationType.\" (a type other "
    "than BBOX = 0 is an unknown enum value to Caffe's parser, so it reads as missing). "
    "Rebuild the record with convert_annoset --anno_type=detection.")
BOX_LABEL = _row("DS521", E, "box label outside the classes",
    "MultiBoxLoss CHECKs label >= 0 and label < num_classes in release builds too (bbox_util.cpp): "
    "training stops. A label missing from the label map is a class the net was not built for. "
    "Fix the annotation, --num-classes or --label-map.")
BOX_BACKGROUND = _row("DS522", E, "box labelled with the background class",
    "MultiBoxLoss stops with \"Found background label in the dataset.\" (background_label_id, "
    "0 by default). Label 0 is reserved for background: give the object its class.")
BOX_NONFINITE = _row("DS523", E, "NaN or inf box coordinate",
    "The box matches no prior and its jaccard overlaps are NaN: the object is lost or poisons "
    "the sampler. Fix or drop the annotation.")
BOX_DEGENERATE = _row("DS524", E, "box inverted (xmin > xmax or ymin > ymax) or of zero area",
    "convert_annoset only warns (\"bounding box irregular\"); at training the data layer "
    "drops the box (ProjectBBox: size 0), so the object trains as background. Swap or fix "
    "the corners in the annotation.")
BOX_CLIPPED = _row("DS525", W, "box extends beyond the image (coordinates outside [0, 1])",
    "Coordinates are normalised to the image: convert_annoset warns (\"bounding box exceeds "
    "image boundary\") and the data layer clips the box to the image. Usually an annotation "
    "off by a pixel; check the annotation tool if many boxes do it.")
BOX_OUTSIDE = _row("DS526", E, "box entirely outside the image",
    "The data layer drops a box that does not overlap the image (ProjectBBox), so the object "
    "trains as background. Coordinates above 1 are often pixels that were not normalised "
    "(the XML's <size> missing or wrong): rebuild with the right image size.")
GROUP_EMPTY = _row("DS527", W, "annotation group without boxes",
    "The group names a class but holds no box: nothing trains from it. Usually an annotation "
    "lost on the way; harmless to training.")
NO_BOXES = _row("DS528", W, "record without any box",
    "MultiBoxLoss matches no prior to it, and its default hard-negative mining (MAX_NEGATIVE) "
    "takes negatives in proportion to the positives: the image teaches next to nothing. Fine "
    "for deliberate negative images; otherwise its annotation was lost (a missing or empty XML).")
# DS54x labels as an image list writes them (text after the line's last space, read with atoi)
LIST_LABEL = _row("DS540", E, "image list label is not an integer",
    "Caffe reads the label with atoi: \"3a\" trains as 3, \"x\" or \"cat\" as 0, \"2.7\" as 2, "
    "and a value past int's range is undefined. Write the class index as a plain integer.")
LIST_NO_LABEL = _row("DS541", E, "image list line without a label",
    "The line has no space: Caffe takes the whole line as the path and atoi of it as the label "
    "(0 for most names); a blank line is read as the file root_folder + \"\", which ImageData "
    "cannot load (it stops) and convert_imageset skips. Write \"path label\" on every line.")
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
# DS62x text-recognition layout (num-samples, image-%09d, label-%09d): pairing and count (crnn.py)
SAMPLES_COUNT = _row("DS620", E, "num-samples missing or not a count",
    "The loaders start with `int(txn.get(b'num-samples'))`: without the key, or with anything "
    "int() rejects, they stop before the first batch. Write the number of samples as ASCII decimal.")
SAMPLE_NO_IMAGE = _row("DS621", E, "a sample in 1..num-samples has no image",
    "The loaders read every index 1..num-samples; `txn.get` returns None for this one and the "
    "image decode raises (TypeError), stopping training. Write the image, or renumber the samples "
    "and num-samples.")
SAMPLE_NO_LABEL = _row("DS622", E, "a sample in 1..num-samples has no label",
    "The loader's `txn.get(label_key).decode()` raises AttributeError on None and stops training. "
    "Write the label, or renumber the samples and num-samples.")
SAMPLE_UNREAD = _row("DS623", W, "key past num-samples (or not in the loader's numbering): never read",
    "The loaders read image-%09d/label-%09d for 1..num-samples only: these samples never train "
    "(a num-samples that was not updated, a 0-based writer, a key not zero-padded to 9 digits). "
    "Fix num-samples or the keys, or drop them.")
# DS7xx forward
FORWARD_NONFINITE = _row("DS700", E, "record makes the dummy net's loss or gradient non-finite",
    "This record turns the training loss NaN (\"loss = nan\") in the batch named. Drop or repair it.")
FORWARD_BLOWUP = _row("DS701", E,
    "record stands out in the dummy net: gradient 1e8 or loss at the 87.3365 clamp where the "
    "rest are fine, or a label past the net's outputs",
    "The message says which. A gradient of 1e8 or a clamped loss (\"loss = 87.3365\", diffs "
    "around e+8 in debug_info) on a record whose input is far larger than the others': that "
    "record blows up the update of its batch; check its values and how it was made, or drop "
    "it. A label past the net's outputs: a Release-build Caffe reads another record's "
    "probability or past the batch (garbage loss, or heap corruption): fix the label, or "
    "num_output if the label is right (--num-classes then names the same records, DS500).")
FORWARD_DATASET = _row("DS702", W,
    "records trip the dummy net together: the whole dataset's input scale, not its records",
    "No record is blamed: the inputs as fed are too large for the net, so its softmax "
    "saturates (loss at the 87.3365 clamp) or its gradients blow up on records that do not "
    "stand out from the rest. The message names the likely cause. Give the scan the data "
    "layer's transform_param (--net NET.prototxt, or --scale / --mean-file / --mean-value as it "
    "sets them); under --net, the net's own transform leaves the inputs that large: set its "
    "scale or mean. Records that still stand out are named with DS701. If the net really "
    "feeds these values, scale them: its first updates blow up the same way.")

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
