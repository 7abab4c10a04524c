"""THE list of checks; tests/test_checks.py holds every code of codes.py to exactly one check
of this list.

A new pixel check is one class in checks/, its codes in codes.py and one line here: the
drivers read this list when a shard starts, record.py runs every pixel check on raw Datums
and rawbatch.py proves a batch clean only while each of them has a batched proof. A check of
another kind is also called by the code that runs on its records (the comments below).
"""
from __future__ import annotations

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

SCAN_CHECKS: tuple[type[Check], ...] = (   # in code order; where each one runs:
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
)
# CHECKS (below) adds the doctor's rules (doctor/rules/: a training log's facts) and the
# lint rules (caffe/lint.py: a solver's and a net's definitions). They read no records:
# a scan does not load them (some 25 dataclasses, most of a tiny scan's own startup).


def __getattr__(name: str):
    if name != "CHECKS":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ..caffe.lint import LINT_RULES
    from ..doctor.rules import RULES as DOCTOR_RULES
    checks = (*SCAN_CHECKS, *DOCTOR_RULES, *LINT_RULES)
    globals()["CHECKS"] = checks
    return checks


def pixel_checks() -> list[Check]:
    """The registered checks that read raw Datum pixels, ready to run (they take no options)."""
    # CHECKS when it was asked for (a test may have added to it), else the scan's checks:
    # the rules of the doctor and of lint read no pixels.
    return [check() for check in globals().get("CHECKS", SCAN_CHECKS) if check.reads_pixels]
