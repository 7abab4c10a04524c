"""THE list of checks; tests/test_checks.py holds every code of codes.py to exactly one check
of this list.

A new pixel check is one class in checks/, its codes in codes.py and one line here: the
drivers read this list when a shard starts, record.py runs every pixel check on raw Datums
and rawbatch.py proves a batch clean only while each of them has a batched proof. A check of
another kind is also called by the code that runs on its records (the comments below).
"""
from __future__ import annotations

from ..caffe.lint import LINT_RULES
from ..doctor.rules import RULES as DOCTOR_RULES
from .base import Check
from .crnn import TextLabels, TextPairing
from .boxes import Boxes
from .dataset import Shapes
from .datum import DatumStructure
from .duplicates import Duplicates
from .forward import Forward
from .image import ImageDecode
from .imagelist import ListLines
from .labels import LabelRange
from .pixels import GrayFill
from .storage import HDF5Layout, Storage
from .values import Values

CHECKS: tuple[type[Check], ...] = (   # in code order; where each one runs:
    Storage,            # sources/ (plan, read), shard.py, recovery.py
    HDF5Layout,         # sources/h5layout.py, when an HDF5 file is planned
    ListLines,          # shard.py (an image list's LineFacts), sources/imagelist.py (DS131)
    DatumStructure,     # record.py
    Values,             # record.py (float_data), rows.py
    GrayFill,           # record.py, rawbatch.py
    ImageDecode,        # record.py
    LabelRange,         # record.py, rawbatch.py, rows.py
    TextLabels,         # record.py, on label-N of a text-recognition LMDB
    Boxes,              # record.py, on SSD AnnotatedDatums
    Shapes,             # scan.py, on the merged summaries
    TextPairing,        # scan.py, on the merged summaries (their text layout)
    Duplicates,         # scan.py, on every source's content hashes (record.py, rows.py take them)
    Forward,            # forward/
    *DOCTOR_RULES,      # doctor/rules/: a training log's facts (datascan doctor)
    *LINT_RULES,        # caffe/lint.py: a solver's and a net's definitions
)


def pixel_checks() -> list[Check]:
    """The registered checks that read raw Datum pixels, ready to run (they take no options)."""
    return [check() for check in CHECKS if check.reads_pixels]
