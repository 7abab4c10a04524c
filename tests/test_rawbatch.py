"""Raw Datums checked a batch at a time (checks/rawbatch.py) give exactly what the
per-record checks give: the same findings, messages, indexes and dataset summary."""
from __future__ import annotations

import numpy as np
import pytest

from datascan import scan
from datascan.checks import registry
from datascan.checks.labels import LabelRange
from datascan.checks.rawbatch import Layout, RawBatches, rows_equal
from datascan.checks.record import RecordChecker
from datascan.config import ScanConfig
from datascan.decode.datum import DATUM, encode_datum
from datascan.sources import kv, leveldb as leveldb_source, lmdb as lmdb_source
from datascan.checks.summary import ShardSummary
from datascan.shard import run_shard

from conftest import encoded_datum, float_datum, jpeg_bytes, key, raw_datum


def gray_bottom(rows: int, channels_gray: int = 3, label: int = 1) -> bytes:
    pixels = np.random.default_rng(7).integers(0, 256, size=(3, 8, 8), dtype=np.uint8)
    pixels[:channels_gray, 8 - rows:, :] = 128
    return encode_datum(channels=3, height=8, width=8, data=pixels.tobytes(), label=label)


def mixed_records(n: int = 3000) -> list[tuple[bytes, bytes]]:
    """Mostly clean 3x8x8 Datums, with every kind of record the batch path must not prove."""
    odd = {
        3: raw_datum(200),                                  # 2-byte label, out of range
        5: raw_datum(150),                                  # 2-byte label
        7: raw_datum(-1),                                   # 10-byte varint
        9: gray_bottom(6),                                  # DS303
        11: gray_bottom(8, channels_gray=1),                # channel 0 gray only: clean
        13: raw_datum(2, shape=(1, 8, 8)),                  # another shape (DS600)
        15: raw_datum(2, shape=(3, 4, 16)),                 # same length, other header
        17: encode_datum(channels=3, height=8, width=8, data=bytes(100), label=1),  # DS201
        19: float_datum(np.full((3, 8, 8), np.nan, np.float32)),                    # DS301
        21: encode_datum(channels=3, height=8, width=8, data=bytes(192)),           # no label
        23: b"",                                            # DS202
        25: b"\xff\x00garbage",                             # DS200
        27: encoded_datum(jpeg_bytes((8, 8)), label=4),     # an image in a raw set
        29: raw_datum(10),                                  # = num_classes: DS500
        31: encode_datum(channels=3, height=8, width=8, data=bytes(192), label=1,
                         encoded=False)[:-2],               # no encoded field: another tail
    }
    return [(key(i), odd.get(i % 1000, raw_datum(i % 10, seed=i))) for i in range(n)]


def one_by_one(records, config):
    summary = ShardSummary()
    checker = RecordChecker("db", DATUM, config, summary)
    findings = [f for i, (k, v) in enumerate(records) for f in checker.check(i, k, v)]
    return findings, summary


def batched(records, config, size):
    summary = ShardSummary()
    checker = RecordChecker("db", DATUM, config, summary)
    findings = []
    for at in range(0, len(records), size):
        keys, values = zip(*records[at:at + size])
        findings += checker.check_many(at, keys, values)
    return findings, summary


def summary_state(s: ShardSummary) -> dict:
    return {"labels": dict(s.labels.counts),
            "shapes": {shape: (g.count, list(g.refs), g.truncated) for shape, g in s.shapes.items()},
            "contents": content_state(s)}


def content_state(s: ShardSummary) -> list:
    """Every record's content hash, label and key as the duplicate checks get them: the
    batch path's must be the per-record path's, record for record."""
    out = []
    for found, keys in s.contents.chunks(remove=False):
        out += [(int(e["i"]), int(e["h"]), repr(float(e["label"])), keys[j]) for j, e in enumerate(found)]
    return sorted(out)


@pytest.mark.parametrize("num_classes", [10, None])
@pytest.mark.parametrize("size", [2, 37, 1024])
def test_batches_find_exactly_what_one_record_at_a_time_finds(num_classes, size):
    records = mixed_records()
    config = ScanConfig(num_classes=num_classes)
    want, want_summary = one_by_one(records, config)
    got, got_summary = batched(records, config, size)
    assert got == want
    assert summary_state(got_summary) == summary_state(want_summary)
    assert len(content_state(got_summary)) > 2900      # the batch path hashed what it proved
    codes = {f.code for f in want}
    assert {"DS303", "DS201", "DS300", "DS502", "DS202", "DS200"} <= codes
    assert ("DS500" in codes) == (num_classes is not None)
    assert ("DS503" in codes) == (num_classes is None)


def test_only_records_that_are_provably_clean_take_the_batch_path():
    records = mixed_records(1000)
    batches = RawBatches(registry.pixel_checks(), ShardSummary(), LabelRange(10, None))
    fast, shapes, _ = batches.prove([v for _, v in records])
    slow = set(np.flatnonzero(~fast).tolist())
    # 11 is clean, but only the per-record check can tell (channel 0's bottom row is
    # gray); 13 and 31 are clean Datums of layouts of their own (their lengths differ)
    assert slow == {3, 5, 7, 9, 11, 15, 17, 19, 21, 23, 25, 27, 29}
    assert shapes == {(3, 8, 8): 1000 - len(slow) - 1, (1, 8, 8): 1}
    assert sum(batches.summary.labels.counts.values()) == 1000 - len(slow)


def test_a_layout_is_learnt_only_from_a_plain_raw_datum():
    assert Layout.learn(raw_datum(3)).shape == (3, 8, 8)
    assert Layout.learn(raw_datum(300)).label_len == 2
    assert Layout.learn(raw_datum(-1)) is None                       # 10-byte varint
    assert Layout.learn(raw_datum(1 << 14)) is None                  # 3-byte varint
    assert Layout.learn(float_datum(np.zeros((1, 2, 2), np.float32))) is None
    assert Layout.learn(encode_datum(channels=3, height=8, width=8, data=bytes(192))) is None
    assert Layout.learn(encoded_datum(jpeg_bytes((8, 8)))) is None
    assert Layout.learn(b"\xff\x00garbage") is None


@pytest.mark.parametrize("maker", ["make_lmdb", "make_leveldb"])
def test_batched_readers_cut_shards_at_their_stop_key(maker, request):
    records = mixed_records(2500)
    path = request.getfixturevalue(maker)(records)
    module = lmdb_source if maker == "make_lmdb" else leveldb_source
    config = ScanConfig(num_classes=10)
    fmt = module.NAME
    bounds = [key(700), key(701), key(1900)]
    shards = kv.shards_from_bounds(str(path), fmt, bounds, DATUM)
    for size in (1, kv.BATCH):
        results = [run_shard(s, config, batch=size) for s in shards]
        assert [r.records for r in results] == [700, 1, 1199, 600]
        keys = [k for s in shards for item in module.read(s, config, size) for k, _ in item]
        assert keys == [k for k, _ in records]


def test_scan_reports_are_the_same_for_every_jobs_value_on_a_mixed_raw_set(make_lmdb):
    path = make_lmdb(mixed_records(6000))
    reports = [scan(path, num_classes=10, jobs=j) for j in (1, 2, 3)]
    assert reports[0].findings == reports[1].findings == reports[2].findings
    assert reports[0].records == 6000
    assert [f.index for f in reports[0].findings if f.code == "DS303"] == [9, 1009, 2009, 3009, 4009, 5009]


@pytest.mark.parametrize("width", [1, 7, 8, 9, 16, 23])
def test_rows_are_compared_word_by_word_as_byte_by_byte(width):
    rng = np.random.default_rng(width)
    rows = rng.integers(0, 3, (500, 40), dtype=np.uint8)
    expected = bytes(rows[0, 5:5 + width])
    rows[::3, 5:5 + width] = rows[0, 5:5 + width]
    want = (rows[:, 5:5 + width] == rows[0, 5:5 + width]).all(axis=1)
    assert want.sum() >= 167
    assert (rows_equal(rows, 5, expected) == want).all()
