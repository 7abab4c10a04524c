"""What a check is: one class per check, declaring the codes it emits (``codes``, constants
of codes.py) and the kinds of record it reads (``reads``), its logic next to them.

Every code in codes.py is declared by exactly one check (``codes``); a check that also emits
another check's code, judging the same fact from another side, names it in ``shares``
(the dataset-wide channel count is an image-mode finding, DS403). The registry
(registry.py) lists the checks, and tests/test_checks.py holds the two together.

A pixel check (``reads_pixels``) looks at a raw Datum's pixel bytes, which rawbatch.py
proves clean a batch at a time without parsing a record. It implements ``pixels`` (one
record) and, when it can, ``clean_rows`` (a whole batch); while a registered pixel check
has no ``clean_rows`` the batch path proves nothing and every record takes ``pixels``.
"""
from __future__ import annotations

from typing import ClassVar

from ..codes import Code
from ..sources.interface import KEYED, ROWS

# What a check reads: its record kinds.
SUMMARY = "summary"    # the merged shard summaries of a source (dataset-wide checks)
STORAGE = "storage"    # a source being planned and read: what could not be opened or read
LAYOUT = "layout"      # an HDF5 file's groups and datasets, looked at when it is planned
FORWARD = "forward"    # the dummy net's forward and backward pass over the records
LOG = "log"            # a training log's facts (datascan doctor: doctor/rules/)
DEFINITION = "definition"   # a Caffe solver or net definition (caffe/lint.py)
LISTED = "listed"      # a line of an image list: its label text and file (LineFacts, shard.py)
KINDS = (KEYED, ROWS, SUMMARY, STORAGE, LAYOUT, FORWARD, LOG, DEFINITION, LISTED)  # KEYED: Datum, images

Problem = tuple[Code, str]            # a record's problem: code and message
RowProblem = tuple[int, Code, str]    # the same for one row of a block


class Check:
    codes: ClassVar[tuple[Code, ...]] = ()     # the codes this check owns
    shares: ClassVar[tuple[Code, ...]] = ()    # codes owned by another check it also emits
    reads: ClassVar[tuple[str, ...]] = ()      # record kinds, from KINDS
    reads_pixels: ClassVar[bool] = False       # looks at raw Datum pixels (see the module doc)

    def pixels(self, data: bytes, shape: tuple[int, int, int]) -> list[Problem]:
        """A pixel check's problems with one raw CHW uint8 Datum whose data length is right."""
        raise NotImplementedError

    # The batched proof of a pixel check, or None: clean_rows(pixels, shape) takes a batch of
    # raw Datums of one shape as rows of their pixel bytes (uint8, n x c*h*w) and returns a
    # bool mask of the rows ``pixels`` would find nothing in (False where it might).
    clean_rows: ClassVar = None

    @classmethod
    def proves_batches(cls) -> bool:
        return cls.clean_rows is not None
