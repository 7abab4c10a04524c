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


def _enc_set(make_lmdb):
    """Six 32x24 colour JPEGs, a gray one (#6, DS403) and a 20x20 one (#7, DS600)."""
    from conftest import jpeg_bytes
    values = [encoded_datum(jpeg_bytes(seed=i), i % 3) for i in range(6)]
    values += [encoded_datum(jpeg_bytes(mode="L", seed=6), 1), encoded_datum(jpeg_bytes((20, 20), seed=7), 1)]
    return make_lmdb([(key(i), v) for i, v in enumerate(values)])


def test_records_named_by_dataset_wide_ds403_and_ds600_are_left_out(make_lmdb, tmp_path, capsys):
    path = _enc_set(make_lmdb)
    for jobs in (1, 3):
        r = _mean(path, jobs=jobs)
        assert (r.records, r.left_out, r.shape) == (6, 2, (3, 32, 24))
    assert main(["mean", str(path), str(tmp_path / "m"), "--include-bad"]) == 2
    err = capsys.readouterr().err
    assert "record #6, key 00000006 is 1x32x24" in err and "or leave out the bad ones" in err


def test_an_image_list_line_with_an_error_is_left_out(tmp_path, monkeypatch):
    from conftest import jpeg_bytes
    monkeypatch.chdir(tmp_path)
    for i in range(4):
        (tmp_path / f"{i}.jpg").write_bytes(jpeg_bytes(seed=i))
    (tmp_path / "list.txt").write_text("0.jpg 0\n1.jpg 1\n2.jpg 2\n3.jpg 2x\n")   # DS540
    r = _mean("list.txt")
    assert (r.records, r.left_out) == (3, 1)


def test_a_text_recognition_set_says_it_has_no_datums(make_lmdb, tmp_path, capsys):
    from test_crnn import crnn_records
    path = make_lmdb(crnn_records(4))
    assert main(["mean", str(path), str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "text-recognition set" in err and "compute_image_mean reads Datums" in err
    assert "every record" not in err and err.count("\n") == 1


def test_clean_mean_names_dst_when_the_kept_records_still_mix(make_lmdb, tmp_path, capsys):
    """--force-color keeps the gray image (no finding), but compute_image_mean decodes it
    as stored: the kept records mix sizes, said of DST, not of clean's temporary copy."""
    path = _enc_set(make_lmdb)
    dst = tmp_path / "dst"
    assert main(["clean", str(path), str(dst), "--force-color", "--crop-size", "16",
                 "--mean", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert f"{dst}: the records kept (no error finding) come in several sizes" in err
    assert "datascan-tmp" not in err and "clean the set first" not in err
    assert "--include-bad" not in err and dst.exists()
    assert main(["clean", str(path), str(tmp_path / "dst2"), "--mean", str(tmp_path / "m2")]) == 0
    assert "mean of 6 records" in capsys.readouterr().out
