"""Caffe aborts: what the message means and which datascan check finds its cause."""
from __future__ import annotations

from ...codes import RUN_ABORT
from ..case import Case
from ..report import DoctorFinding
from .base import Rule, it_text

# (substring of the fatal message, what it means and what to do). First match wins.
EXPLAIN: tuple[tuple[str, str], ...] = (
    ("channels == img_channels", "an image's channel count differs from the batch's (a grayscale "
     "image in a colour set): datascan check reports it as DS403; set force_color or convert it"),
    ("channels == datum_channels", "records of different channel counts (DS600/DS403)"),
    ("img_height >= crop_size (0 vs.", "an image decoded to nothing (0 rows): an undecodable "
     "image, DS400 in datascan check"),
    ("img_width >= crop_size (0 vs.", "an image decoded to nothing (0 columns): DS400"),
    ("_height >= crop_size", "a record shorter than crop_size: DS600 in datascan check "
     "--crop-size N (or --net)"),
    ("_width >= crop_size", "a record narrower than crop_size: DS600 in datascan check "
     "--crop-size N (or --net)"),
    ("height <= img_height", "records of different sizes in one batch (the batch shape comes "
     "from its first record): DS600 in datascan check; resize them or crop"),
    ("width <= img_width", "records of different sizes in one batch: DS600"),
    ("Could not decode datum", "an encoded image that does not decode: DS400"),
    ("Unsupported datatype class", "an HDF5 dataset of a type HDF5Data cannot read: DS602"),
    ("Incorrect data field size", "a Datum whose data length is not channels x height x width "
     "(or encoded images of different sizes): DS201"),
    ("Failed to find HDF5 dataset", "an HDF5 file without the dataset the layer's top names: DS502"),
    ("Failed opening HDF5 file", "the HDF5 list names a file that does not exist: DS103"),
    ("shape(0) == num", "HDF5 datasets with different row counts: DS601"),
    ("label_value < prob_", "a label outside the classifier's outputs: DS500 (datascan check "
     "--num-classes)"),
    ("Found background label in the dataset", "an SSD box labelled with the background class "
     "(background_label_id, 0 by default): DS522 in datascan check"),
    ("misses AnnotationType", "an SSD record without an annotation type (or not BBOX): DS520"),
    ("Different AnnotationType", "SSD records of different annotation types: DS520"),
    ("datum_channels > 0", "an empty or unparsable Datum: DS200/DS202"),
    ("INT_MAX", "absurd dims in a record: DS203"),
    ("datum_height == data_mean_", "the mean file was computed on images of another size: "
     "recompute it on the training DB or use mean_value"),
    ("crop_size == data_mean_", "the mean file does not match crop_size: use mean_value"),
    ("mean_values_.size()", "mean_value count is neither 1 nor the channel count"),
    ("mean_file and mean_value", "mean_file together with mean_value (DS904): keep one"),
    ("HDF5Data does not transform", "HDF5Data with transform_param (DS903)"),
    ("mdb_status == 0", "the LMDB cannot be opened (path wrong, or not an LMDB: DS100; a LevelDB "
     "needs backend: LEVELDB)"),
    ("Failed to open leveldb", "the LevelDB cannot be opened: Caffe's default backend is "
     "LEVELDB, so an LMDB without `backend: LMDB` fails here (DS902)"),
    ("stepsize() > 0", "lr_policy step/sigmoid without stepsize (DS901)"),
    ("Unknown learning rate policy", "lr_policy unset or misspelt (DS901)"),
    ("history_size() == history_.size()", "resuming a .solverstate into a net whose learnable "
     "blobs changed since the snapshot: resume with the same net, or start from the "
     ".caffemodel with --weights"),
    ("SerializeToOstream", "the snapshot could not be written: create snapshot_prefix's "
     "directory and check it is writable"),
    ("Cannot write to snapshot prefix", "create snapshot_prefix's directory"),
    ("File not found", "a file named on the command line or in the solver does not exist "
     "(weights .caffemodel, solver or net prototxt): fix the path"),
    ("new_queue_pairs_.size() == 0", "DataReader shared by several solvers (multi-GPU data "
     "layer bug in some Caffe versions)"),
    ("out of memory", "the GPU ran out of memory: lower batch_size"),
    ("cudaSuccess", "a CUDA error: driver, device or memory"),
    ("malloc()", "the heap was corrupted: in a Release build a label outside the classifier's "
     "outputs makes SoftmaxWithLoss write out of bounds (DS500: datascan check --num-classes)"),
    ("free()", "the heap was corrupted: a label outside the outputs (DS500) is the usual data cause"),
    ("corrupted size", "the heap was corrupted: a label outside the outputs (DS500)"),
    ("SIGSEGV", "a segmentation fault: often an out-of-range label (DS500) or a truncated record"),
    ("SIGFPE", "a floating point exception (division by zero in a layer's set-up)"),
)


def explain(message: str) -> str | None:
    return next((why for key, why in EXPLAIN if key in message), None)


class Crash(Rule):
    """Caffe stopped: an F line (CHECK failed, LOG(FATAL)) or a signal (SIGSEGV, abort, heap
    corruption). The first line that says why leads; the others are evidence."""
    codes = (RUN_ABORT,)

    def judge(self, case: Case) -> list[DoctorFinding]:
        f = case.facts
        if not f.fatal:
            return []
        # The glog F line says why; a signal line only that it died. Prefer the F line, then
        # the first line that has an explanation (malloc() before *** SIGABRT).
        lead = next((x for x in f.fatal if not x.signal), None) or \
            next((x for x in f.fatal if explain(x.message)), f.fatal[0])
        why = explain(lead.message) or next(
            (explain(x.message) for x in f.fatal if explain(x.message)), None)
        iteration = f.last_iteration
        if iteration is None and f.debug_lines:     # its debug_info lines, no loss line yet
            iteration, where = 0, "during iteration 0"
        elif iteration is None:
            where = "before the first iteration"
        else:
            where = f"after iteration {it_text(iteration)}"
        msg = f"Caffe aborted {where}: {lead.message}"
        if why:
            msg += f" -- {why}"
        return [DoctorFinding.of(RUN_ABORT, msg, iteration=iteration, line=lead.line,
                                 evidence=lead.message)]
