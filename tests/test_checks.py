"""The checks as classes: every code declared by exactly one registered check, one label rule
for one label and for blocks of rows, and the raw-batch path proving only what it can."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from datascan import codes, scan
from datascan.checks import registry
from datascan.checks.base import KEYED, KINDS, Check
from datascan.checks.labels import LabelRange
from datascan.checks.record import RecordChecker
from datascan.checks.summary import ShardSummary
from datascan.codes import CODES, Code, Severity
from datascan.config import ScanConfig
from datascan.decode.datum import DATUM, encode_datum

from conftest import key, raw_datum


# ---------------------------------------------------------------------------- the registry

def test_every_code_is_well_formed_and_named_once():
    for code, row in CODES.items():
        assert re.fullmatch(r"DS\d{3}", code) and row.title and row.hint and row.code == code
    constants = [v for v in vars(codes).values() if isinstance(v, Code)]
    assert sorted(c.code for c in constants) == sorted(CODES)


def test_every_code_is_declared_by_exactly_one_registered_check():
    owners = Counter(code for check in registry.CHECKS for code in check.codes)
    assert sorted(c.code for c in owners) == sorted(CODES)
    assert [c.code for c, n in owners.items() if n > 1] == []
    for check in registry.CHECKS:     # a shared code is another check's, named by it
        assert all(code in owners and code not in check.codes for code in check.shares), check
        assert check.reads and set(check.reads) <= set(KINDS), check
        assert check.__doc__, check
    assert len(set(registry.CHECKS)) == len(registry.CHECKS)


def test_every_pixel_check_runs_per_record_and_the_batch_path_proves_them_all():
    pixel = registry.pixel_checks()
    assert pixel and all(KEYED in type(c).reads for c in pixel)
    assert all(type(c).pixels is not Check.pixels for c in pixel)
    checker = RecordChecker("db", DATUM, ScanConfig(), ShardSummary())
    assert checker.batches is not None      # today every pixel check has a batched proof


def test_every_check_has_its_codes_asserted_by_some_test():
    """A code no test produces is a stub (a test asserts each at a record: grep for it)."""
    here = Path(__file__)
    text = "".join(p.read_text() for p in here.parent.glob("test_*.py") if p != here)
    missing = [(check.__name__, code.code) for check in registry.CHECKS
               for code in check.codes + check.shares
               if f'"{code.code}"' not in text and f"'{code.code}'" not in text]
    assert missing == []


# ------------------------------------------------------------------- one label-range rule

@pytest.mark.parametrize("num_classes", [None, 1, 10])
@pytest.mark.parametrize("ignore_label", [None, -1, 3, 255])
@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.float32])
def test_one_label_and_a_block_of_labels_follow_one_rule(num_classes, ignore_label, dtype):
    rule = LabelRange(num_classes, ignore_label)
    labels = [x for x in range(-3, 260) if np.array(x).astype(dtype) == x]
    rows = np.array(labels, dtype).reshape(-1, 1)
    hits = rule.hits(rows)
    flagged = {labels[r] for r in hits.rows.tolist()} if hits is not None else set()
    assert flagged == {x for x in labels if rule.problem(x) is not None}
    found = {code.code for _, code, _ in rule.find(rows, "'label'")}
    assert found == ({("DS500" if num_classes else "DS503")} if flagged else set())


# ------------------------------------------- a new pixel check is never skipped on raw Datums

ALL_ZERO = Code("DS399", Severity.WARNING, "every pixel is 0", "(a check made up by this test)")


class AllZero(Check):
    """Every pixel 0: the check a newcomer adds next to GrayFill, with no batched proof."""
    codes = (ALL_ZERO,)
    reads = (KEYED,)
    reads_pixels = True

    def pixels(self, data, shape):
        return [] if any(data) else [(ALL_ZERO, "every pixel is 0")]


class AllZeroBatched(AllZero):
    """The same check with its batched proof."""

    def clean_rows(self, pixels, shape):
        return pixels.any(axis=1)


ZEROS = (7, 23)


def zeros_lmdb(make_lmdb) -> Path:
    """The reviewer's reproduction: 40 raw 3x8x8 Datums, two of them all zero."""
    black = encode_datum(channels=3, height=8, width=8, data=bytes(192), label=1)
    return make_lmdb([(key(i), black if i in ZEROS else raw_datum(i % 10, seed=i))
                      for i in range(40)])


@pytest.mark.parametrize("check", [AllZero, AllZeroBatched])
def test_a_registered_pixel_check_finds_its_records_on_a_raw_lmdb(make_lmdb, monkeypatch, check):
    path = zeros_lmdb(make_lmdb)            # (the two black records are copies: DS610, ignored)
    assert scan(path, num_classes=10, ignore=("DS61",)).findings == ()
    monkeypatch.setattr(registry, "CHECKS", registry.CHECKS + (check,))
    report = scan(path, num_classes=10, ignore=("DS61",))   # jobs=1: in this process, with the patch
    assert [(f.code, f.index, f.key) for f in report.findings] == \
        [("DS399", i, key(i).decode()) for i in ZEROS]
    # Without a batched proof the batch path refuses (every record is checked one by one);
    # with one it still proves batches clean.
    checker = RecordChecker("db", DATUM, ScanConfig(num_classes=10), ShardSummary())
    assert (checker.batches is None) == (check is AllZero)
