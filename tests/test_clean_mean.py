"""`datascan clean SRC DST --mean FILE`: the mean of what clean kept, written in the same run,
byte for byte what `datascan mean DST FILE` writes."""
from __future__ import annotations

import json

import numpy as np
import pytest

from datascan.caffe.proto import read_blob_proto
from datascan.cli import main
from datascan.decode.datum import DATUM, encode_datum, parse

from conftest import encoded_datum, key, png_bytes, raw_datum, realdata


@pytest.fixture(params=["make_lmdb", "make_leveldb"])
def make_db(request):
    return request.getfixturevalue(request.param)


def _pixels(values) -> np.ndarray:
    return np.stack([np.frombuffer(parse(v, DATUM).data, np.uint8) for v in values]
                    ).astype(np.float64)


def test_the_mean_of_what_clean_kept_is_what_datascan_mean_writes(make_db, tmp_path, capsys):
    good = [raw_datum(label=i % 3, seed=i) for i in range(20)]
    # A white record with a label outside --num-classes 3 (DS500): dropped, so not averaged.
    bright = encode_datum(channels=3, height=8, width=8, data=bytes([255]) * 192, label=7)
    short = encode_datum(channels=3, height=8, width=8, data=bytes(10), label=0)   # DS201
    src = make_db([(key(i), v) for i, v in enumerate(good[:7] + [bright] + good[7:]
                                                           + [short])])
    dst, mean = tmp_path / "clean_db", tmp_path / "mean.binaryproto"
    assert main(["clean", str(src), str(dst), "--num-classes", "3", "--mean", str(mean),
                 "--quiet", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "verified" in out and f"mean of 20 records of {dst}" in out
    assert "mean_value channel [0]:" in out
    blob = read_blob_proto(mean)
    assert (blob.num, blob.channels, blob.height, blob.width) == (1, 3, 8, 8)
    kept = _pixels(good).mean(axis=0).astype(np.float32)
    np.testing.assert_array_equal(np.array(blob.data, np.float32), kept)
    source = _pixels(good + [bright]).mean(axis=0).astype(np.float32)
    assert not np.array_equal(kept, source)              # not the source's mean
    again = tmp_path / "again.binaryproto"
    assert main(["mean", str(dst), str(again), "--num-classes", "3", "--jobs", "1"]) == 0
    assert again.read_bytes() == mean.read_bytes()
    manifest = json.loads((tmp_path / "clean_db.manifest.json").read_text())
    assert manifest["mean"] == {"path": str(mean), "problem": None}


def test_mixed_sizes_leave_the_clean_copy_and_no_mean(make_lmdb, tmp_path, capsys):
    src = make_lmdb([(key(0), encoded_datum(png_bytes((8, 8)), label=0)),
                     (key(1), encoded_datum(png_bytes((9, 8)), label=1))])
    dst, mean = tmp_path / "clean_lmdb", tmp_path / "mean.binaryproto"
    assert main(["clean", str(src), str(dst), "--mean", str(mean), "--quiet", "--jobs", "1"]) == 2
    captured = capsys.readouterr()
    assert "verified" in captured.out and dst.is_dir() and not mean.exists()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(f"datascan: error: --mean {mean}: ") and "several sizes" in line


def test_a_mean_path_touching_the_source_or_dst_is_refused(make_lmdb, tmp_path, capsys):
    src = make_lmdb([(key(i), raw_datum(0, seed=i)) for i in range(4)])
    for where in (src / "mean.binaryproto", tmp_path / "clean_lmdb" / "mean.binaryproto"):
        assert main(["clean", str(src), str(tmp_path / "clean_lmdb"), "--mean", str(where),
                     "--quiet"]) == 2
        assert "--mean" in capsys.readouterr().err
        assert not (tmp_path / "clean_lmdb").exists() and not where.exists()


def test_caffe_ref_clean_mean_is_compute_image_means(tmp_path, capsys):
    """raw32_lmdb has nothing clean drops: its cleaned copy's mean is Caffe's own file."""
    ref = realdata("caffe-ref", "mean.binaryproto")
    mean = tmp_path / "mean.binaryproto"
    assert main(["clean", str(realdata("caffe-ref", "db", "raw32_lmdb")),
                 str(tmp_path / "clean_lmdb"), "--mean", str(mean), "--quiet"]) == 0
    assert mean.read_bytes() == ref.read_bytes()
