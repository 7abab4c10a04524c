"""The checks as classes: one label rule for one label and for blocks of rows."""
from __future__ import annotations

import numpy as np
import pytest

from datascan.checks.labels import LabelRange


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
    codes = {code.code for _, code, _ in rule.find(rows, "'label'")}
    assert codes == ({("DS500" if num_classes else "DS503")} if flagged else set())
