"""`datascan mean`: compute_image_mean's BlobProto, byte for byte on Caffe's own output; bad
records left out; mixed sizes one line naming the first odd record."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from datascan.caffe.proto import read_blob_proto
from datascan.cli import main
from datascan.config import ScanConfig
from datascan.decode.datum import DATUM, encode_datum, parse
from datascan.mean import compute_mean
from datascan.run_options import RunOptions

from conftest import encoded_datum, key, raw_datum, realdata


def _blob(path):
    b = read_blob_proto(path)
    return (b.num, b.channels, b.height, b.width), np.array(b.data, np.float32)


@pytest.mark.parametrize("db", ["raw32_lmdb", "raw32_leveldb"])
@pytest.mark.parametrize("jobs", ["1", "2", "3"])
def test_the_mean_of_caffe_ref_is_compute_image_means_byte_for_byte(db, jobs, tmp_path, capsys):
    ref = realdata("caffe-ref", "mean.binaryproto")
    out = tmp_path / "mean.binaryproto"
    assert main(["mean", str(realdata("caffe-ref", "db", db)), str(out), "--jobs", jobs]) == 0
    assert out.read_bytes() == ref.read_bytes()
    text = capsys.readouterr().out
    # compute_image_mean's log: 124.691 / 127.397 / 127.404
    assert "mean_value channel [0]: 124.691" in text and "  mean_value: 127.404" in text
    assert "mean of 57 records" in text


def test_mixed_sizes_are_one_line_naming_where_compute_image_mean_aborts(tmp_path, capsys):
    out = tmp_path / "mean.binaryproto"
    assert main(["mean", str(realdata("caffe-ref", "db", "encoded_lmdb")), str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and not out.exists()
    # logs/compute_image_mean_encoded.log: "Check failed: size_in_datum == data_size (5148 vs. 6732)"
    assert "record #1, key 00000001_color/img_001.png is 3x33x52" in err
    assert "(5148 vs. 6732)" in err


def _mean(path, **kw):
    return compute_mean(path, ScanConfig(num_classes=kw.pop("num_classes", None)),
                        run=RunOptions(jobs=kw.pop("jobs", 2)), **kw)


def test_bad_records_are_left_out_unless_asked_for(make_lmdb):
    good = [raw_datum(label=i % 3, seed=i) for i in range(30)]
    bad = raw_datum(label=7, seed=99)                     # DS500 with --num-classes 3
    path = make_lmdb([(key(i), v) for i, v in enumerate(good + [bad])])
    pixels = lambda vs: np.stack([np.frombuffer(parse(v, DATUM).data, np.uint8) for v in vs]).astype(np.float64)
    r = _mean(path, num_classes=3)
    assert (r.records, r.left_out, r.shape) == (30, 1, (3, 8, 8))
    np.testing.assert_array_equal(r.mean, pixels(good).mean(axis=0).astype(np.float32))
    r = _mean(path, num_classes=3, include_bad=True)
    assert (r.records, r.left_out) == (31, 0)
    np.testing.assert_array_equal(r.mean, pixels(good + [bad]).mean(axis=0).astype(np.float32))


def test_a_raw_record_of_another_shape_is_bad_and_left_out(make_lmdb, tmp_path, capsys):
    values = [raw_datum(label=1, seed=i) for i in range(20)]
    values[5] = raw_datum(label=1, shape=(3, 4, 4))      # DS600: an error on raw Datums
    path = make_lmdb([(key(i), v) for i, v in enumerate(values)])
    for jobs in (1, 3):
        r = _mean(path, jobs=jobs)
        assert (r.records, r.left_out, r.shape) == (19, 1, (3, 8, 8))
    assert main(["mean", str(path), str(tmp_path / "m.binaryproto"), "--include-bad"]) == 2
    assert "record #5, key 00000005 is 3x4x4" in capsys.readouterr().err


def _png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


def test_encoded_images_are_averaged_as_opencv_decodes_them_bgr(make_lmdb, tmp_path):
    rng = np.random.default_rng(0)
    rgb = [rng.integers(0, 256, (6, 5, 3), dtype=np.uint8) for _ in range(8)]
    path = make_lmdb([(key(i), encoded_datum(_png(a), 1)) for i, a in enumerate(rgb)])
    out = tmp_path / "m.binaryproto"
    assert main(["mean", str(path), str(out), "--jobs", "2"]) == 0
    dims, data = _blob(out)
    assert dims == (1, 3, 6, 5)
    want = np.stack(rgb).astype(np.float64).mean(axis=0)[..., ::-1].transpose(2, 0, 1)
    np.testing.assert_allclose(data, want.reshape(-1).astype(np.float32), rtol=1e-7)


def test_float_datums_average_their_float_data(make_lmdb):
    vals = [np.full((1, 2, 2), x, np.float32) for x in (1.0, 2.0, 4.5)]
    path = make_lmdb([(key(i), encode_datum(channels=1, height=2, width=2, float_data=v, label=0))
                      for i, v in enumerate(vals)])
    r = _mean(path)
    np.testing.assert_array_equal(r.mean, np.full(4, 2.5, np.float32))


def test_a_set_with_nothing_to_average_is_one_line(make_lmdb, tmp_path, capsys):
    path = make_lmdb([(key(0), raw_datum(label=9))])
    assert main(["mean", str(path), str(tmp_path / "m"), "--num-classes", "3"]) == 2
    assert "no record to average" in capsys.readouterr().err


def test_an_hdf5_file_has_no_mean_to_compute(tmp_path, capsys):
    from conftest import make_h5
    h5 = make_h5(tmp_path / "t.h5", data=np.zeros((4, 3), np.float32), label=np.zeros(4, np.float32))
    assert main(["mean", str(h5), str(tmp_path / "m")]) == 2
    assert "compute_image_mean reads Datums" in capsys.readouterr().err
