"""LMDB and LevelDB: every record-level code, built as real databases in tmp_path."""
from __future__ import annotations

import numpy as np
import pytest

from datascan import scan
from datascan.decode.datum import encode_datum
from conftest import (encoded_datum, float_datum, jpeg_bytes, key, png_bytes, raw_datum)

FORMATS = ["make_lmdb", "make_leveldb"]


def codes_at(report) -> set[tuple[str, int]]:
    return {(f.code, f.index) for f in report.findings}


def clean_records(n=12, shape=(3, 8, 8)):
    return [(key(i), raw_datum(i % 3, shape=shape, seed=i)) for i in range(n)]


@pytest.fixture(params=FORMATS)
def make_db(request):
    return request.getfixturevalue(request.param)


def test_clean_dataset_has_no_findings(make_db):
    report = scan(make_db(clean_records()), num_classes=3)
    assert report.findings == ()
    assert report.records == 12
    assert report.sources[0].encoding == "datum"
    assert report.sources[0].labels.histogram == {0: 4, 1: 4, 2: 4}


@pytest.mark.parametrize("value, code", [
    (b"\xff\xfe garbage that is not protobuf", "DS200"),
    (encode_datum(channels=3, height=8, width=8, data=bytes(100), label=0), "DS201"),
    (encode_datum(channels=3, height=8, width=8, label=0), "DS202"),
    (b"", "DS202"),
    (encode_datum(channels=0, height=8, width=8, data=bytes(1), label=0), "DS203"),
    (encode_datum(channels=3, height=-8, width=8, data=bytes(1), label=0), "DS203"),
    (encode_datum(channels=3, height=100000, width=100000, data=bytes(1), label=0), "DS203"),
    (float_datum(np.array([[[1.0, np.nan], [np.inf, 0.0]]] * 3, dtype=np.float32)
                 .reshape(3, 2, 2)[:, :, :].repeat(4, 1).repeat(4, 2)), "DS300"),
    (float_datum(np.full((3, 8, 8), 1e9, dtype=np.float32)), "DS301"),
    (float_datum(np.full((3, 8, 8), 1e5, dtype=np.float32)), "DS302"),
    (raw_datum(7), "DS500"),
    (raw_datum(0, shape=(1, 8, 8)), "DS600"),
])
def test_each_record_code_is_found_at_its_record(make_db, value, code):
    records = clean_records()
    records[5] = (key(5), value)
    report = scan(make_db(records), num_classes=3)
    assert (code, 5) in codes_at(report)
    assert {f.index for f in report.findings} == {5}
    bad = next(f for f in report.findings if f.code == code)
    assert bad.key == "00000005"


def test_gray_filled_bottom_rows_warn(make_db):
    pixels = np.random.default_rng(1).integers(0, 256, (3, 16, 16), dtype=np.uint8)
    pixels[:, 10:, :] = 128
    records = clean_records(shape=(3, 16, 16))
    records[3] = (key(3), encode_datum(channels=3, height=16, width=16, data=pixels.tobytes(), label=1))
    report = scan(make_db(records), num_classes=3)
    assert [(f.code, f.index, f.severity.value) for f in report.findings] == [("DS303", 3, "warning")]
    assert "6 of 16" in report.findings[0].message


def test_ignore_label_and_negative_labels(make_db):
    records = clean_records()
    records[2] = (key(2), raw_datum(-1, seed=102))     # (seeds of their own: not copies)
    records[4] = (key(4), raw_datum(-5, seed=104))
    path = make_db(records)
    assert codes_at(scan(path, num_classes=3, ignore_label=-1)) == {("DS500", 4)}
    assert codes_at(scan(path)) == {("DS503", 2), ("DS503", 4)}
    assert codes_at(scan(path, ignore_label=-1)) == {("DS503", 4)}


def test_encoded_images(make_db):
    good = jpeg_bytes((64, 64))
    records = [(key(i), encoded_datum(jpeg_bytes((24, 24), seed=i), i % 3)) for i in range(10)]
    records[1] = (key(1), encoded_datum(good[: len(good) // 2], 1))          # truncated JPEG
    records[2] = (key(2), encoded_datum(b"this is not an image at all", 2))   # not an image
    records[3] = (key(3), encoded_datum(jpeg_bytes((24, 24), mode="L"), 0))  # gray in colour set
    records[4] = (key(4), encoded_datum(jpeg_bytes((40, 24)), 1))            # odd size
    records[5] = (key(5), encoded_datum(png_bytes((24, 24)), 2))             # PNG is fine
    report = scan(make_db(records), num_classes=3)
    found = {(f.code, f.index, f.severity.value) for f in report.findings}
    assert ("DS401", 1, "error") in found
    assert ("DS400", 2, "error") in found
    # Caffe's defaults (no force_color, no crop_size): its Data layer aborts on both
    # (tests/test_loader.py: what a transform changes)
    assert ("DS403", 3, "error") in found
    assert ("DS600", 4, "error") in found and ("DS600", 1, "error") in found   # 40x24, 64x64
    assert not any(f.index in (0, 5, 6, 7, 8, 9) for f in report.findings)
    assert report.errors == 5


def test_raw_image_values_and_crnn_metadata(make_db):
    records = [(f"image-{i:09d}".encode(), jpeg_bytes((16, 32), seed=i)) for i in range(1, 6)]
    records += [(f"label-{i:09d}".encode(), b"word") for i in range(1, 6)]
    records += [(b"num-samples", b"5")]
    records[2] = (records[2][0], b"not an image")
    report = scan(make_db(records))
    assert report.sources[0].encoding.startswith("image")
    assert [(f.code, f.key) for f in report.findings] == [("DS400", "image-000000003")]


def test_image_under_another_format_name_warns(make_db):
    records = [(key(i, f"img_{i}.jpg"), encoded_datum(jpeg_bytes((24, 24), seed=i), 0)) for i in range(6)]
    records[4] = (key(4, "img_4.jpg"), encoded_datum(png_bytes((24, 24)), 0))
    report = scan(make_db(records))
    assert [(f.code, f.index, f.severity.value) for f in report.findings] == [("DS404", 4, "warning")]
    assert "PNG data under a JPEG name" in report.findings[0].message


def test_datum_without_label_warns(make_db):
    records = clean_records()
    records[6] = (key(6), encode_datum(channels=3, height=8, width=8, data=bytes(192)))
    report = scan(make_db(records), num_classes=3)
    assert [(f.code, f.index, f.severity.value) for f in report.findings] == [("DS502", 6, "warning")]
