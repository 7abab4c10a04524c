"""--forward over real LMDB, LevelDB and HDF5 datasets built in the test."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import encoded_datum, float_datum, jpeg_bytes, key, png_bytes, raw_datum
from datascan.caffe.netspec import load_net
from datascan.forward import ForwardOptions, forward_source, net_targets
from datascan.forward.records import decode_image


def datum_records(n: int, bad: dict[int, float] | None = None, shape=(3, 8, 8)):
    out = []
    for i in range(n):
        if bad and i in bad:
            values = np.full((3, 8, 8), 0.5, np.float32)
            values[1, 2, 3] = bad[i]
            out.append((key(i), float_datum(values, label=i % 10)))
        else:
            out.append((key(i), raw_datum(label=i % 10, seed=i, shape=shape)))
    return out


@pytest.mark.parametrize("fmt", ["lmdb", "leveldb"])
def test_kv_nan_datum_named_with_key_and_iteration(fmt, make_lmdb, make_leveldb):
    make = make_lmdb if fmt == "lmdb" else make_leveldb
    path = make(datum_records(10, bad={6: np.nan}))
    r = forward_source(path, fmt, "datum", ForwardOptions(batch_size=4, num_classes=10,
                                                          scale=1 / 256))
    assert [(f.code, f.index, f.key) for f in r.findings] == [("DS700", 6, key(6).decode())]
    assert "iteration 1 " in r.findings[0].message
    assert len(r.batch_losses) == 3 and np.isnan(r.batch_losses[1])


def test_kv_forgotten_scale_reaches_the_clamp(make_lmdb):
    # 3x32x32 uint8 pixels without scale saturate the softmax (caffe-ref raw32: 35 of 57).
    path = make_lmdb(datum_records(8, shape=(3, 32, 32)))
    unscaled = forward_source(path, "lmdb", "datum", ForwardOptions(batch_size=4, num_classes=10))
    scaled = forward_source(path, "lmdb", "datum",
                            ForwardOptions(batch_size=4, num_classes=10, scale=1 / 256))
    # Not the records' fault: one dataset-level DS702 naming the missing scale, no DS701.
    (finding,) = unscaled.findings
    assert (finding.code, finding.index, finding.key) == ("DS702", None, None)
    assert "87.3365" in finding.message and "no scale or mean was given" in finding.message
    assert unscaled.input_range == (0.0, 255.0)
    assert not scaled.findings


def test_kv_mean_file_and_crop(tmp_path, make_lmdb):
    from test_forward import write_mean
    path = make_lmdb(datum_records(8))
    mean = write_mean(tmp_path / "mean.binaryproto", np.full((3, 8, 8), 128, np.float32))
    ok = forward_source(path, "lmdb", "datum", ForwardOptions(
        batch_size=4, num_classes=10, mean_file=mean, scale=1 / 128, crop_size=6))
    assert ok.findings == [] and len(ok.batch_losses) == 2
    small = write_mean(tmp_path / "small.binaryproto", np.zeros((3, 6, 6), np.float32))
    r = forward_source(path, "lmdb", "datum", ForwardOptions(batch_size=4, num_classes=10,
                                                             mean_file=small))
    assert "datum_height == data_mean_.height() (8 vs. 6)" in r.not_run    # not run, no exit 2
    assert r.block(str(path)).not_run == r.not_run and r.findings == []


def test_encoded_images_decode_like_opencv_and_crop_to_one_shape(make_lmdb):
    color = decode_image(png_bytes((5, 7), "RGB"))
    assert color.shape == (3, 5, 7) and decode_image(png_bytes((5, 7), "L")).shape == (1, 5, 7)
    assert decode_image(png_bytes((5, 7), "L"), force_color=True).shape == (3, 5, 7)
    assert decode_image(b"not an image") is None
    recs = [(key(i), encoded_datum(jpeg_bytes((20 + i, 24), seed=i), label=i % 10))
            for i in range(6)]
    path = make_lmdb(recs)
    r = forward_source(path, "lmdb", "datum", ForwardOptions(batch_size=3, num_classes=10,
                                                             scale=1 / 256, crop_size=16))
    assert r.findings == [] and r.skipped == [] and len(r.batch_losses) == 2
    uncropped = forward_source(path, "lmdb", "datum",
                               ForwardOptions(batch_size=3, num_classes=10, scale=1 / 256))
    # 1, 2, 4, 5 differ from their batch's first record; 3 leads a batch the IP cannot take
    assert sorted(i for i, _ in uncropped.skipped) == [1, 2, 3, 4, 5]
    assert uncropped.batch_losses[1] is None and uncropped.block(str(path)).batch_losses[1] is None


def write_h5(path, x, y):
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        f["data"], f["label"] = x, y
    return path


def test_hdf5_list_names_file_and_row(tmp_path):
    rng = np.random.default_rng(0)
    a = write_h5(tmp_path / "a.h5", rng.random((6, 4), np.float32), np.arange(6.0) % 3)
    xb = rng.random((5, 4), np.float32)
    xb[3, 1] = 1e30
    b = write_h5(tmp_path / "b.h5", xb, np.arange(5.0) % 3)
    lst = tmp_path / "train.txt"
    lst.write_text(f"{a}\n{b}\n")
    r = forward_source(lst, "hdf5", "array", ForwardOptions(batch_size=4, num_classes=3))
    # stream row 6 + 3 = 9: iteration 2 (rows 8..11); b.h5 row 3
    assert [(f.code, f.path, f.index) for f in r.findings] == [("DS701", str(b), 3)]
    assert "iteration 2 " in r.findings[0].message
    r = forward_source(lst, "hdf5", "array", ForwardOptions(batch_size=4, num_classes=3,
                                                            scale=2.0))
    assert r.not_run.startswith("HDF5Data does not transform data")


def test_hdf5_regression_targets(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.random((8, 2), np.float32)
    y[5, 1] = np.nan
    path = write_h5(tmp_path / "r.h5", rng.random((8, 3), np.float32), y)
    r = forward_source(path, "hdf5", "array", ForwardOptions(batch_size=4))
    assert [(f.code, f.index) for f in r.findings] == [("DS700", 5)]
    assert "regression target" in r.findings[0].message and r.loss == "euclidean"


def test_net_targets_carry_the_layer_options(tmp_path, make_lmdb):
    make_lmdb(datum_records(8), name="train_lmdb")
    net = tmp_path / "train_val.prototxt"
    net.write_text("""
layer { name: "d" type: "Data" top: "data" top: "label"
  transform_param { scale: 0.00390625 }
  data_param { source: "train_lmdb" batch_size: 4 backend: LMDB } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
  inner_product_param { num_output: 10 } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label"
  loss_param { ignore_label: 255 } }
""")
    (t,) = net_targets(load_net(net, cwd=tmp_path / "x"), precision="fp16")
    assert (t.format, t.path, t.phases) == ("lmdb", tmp_path / "train_lmdb", ("TRAIN", "TEST"))
    o = t.options
    assert (o.batch_size, o.num_classes, o.ignore_label, o.scale, o.precision, o.loss) == \
        (4, 10, 255, 0.00390625, "fp16", "softmax")
    r = forward_source(t.path, t.format, "datum", o)
    assert r.findings == [] and len(r.batch_losses) == 2


def test_a_data_layer_without_a_batch_size_is_said_and_run_with_batches_of_one(tmp_path, make_lmdb):
    make_lmdb(datum_records(3), name="train_lmdb")
    net = tmp_path / "train_val.prototxt"
    net.write_text("""
layer { name: "d" type: "Data" top: "data" top: "label"
  data_param { source: "train_lmdb" backend: LMDB } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
  inner_product_param { num_output: 10 } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" }
""")
    (t,) = net_targets(load_net(net, cwd=tmp_path))
    assert t.options.batch_size == 1
    assert "batch_size is 0: iterations counted with batches of 1" in t.notes
