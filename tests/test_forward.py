"""--forward: the dummy net, the transform and the runner, on data built in the test."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from datascan.caffe.proto import message_class
from datascan.errors import UsageError
from datascan.forward.net import LOSS_CLAMP, DummyNet, caffe_int_labels
from datascan.forward.runner import (caffe_batch_indices, caffe_batches, forward_findings,
                                     run_forward)
from datascan.forward.transform import Transformer, load_mean
from datascan.model import Report
from datascan.report import to_dict

B = 4
EMPTY = Report("0", (), (), 0.0)


def dataset(n: int = 12, shape=(3, 8, 8), seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((n, *shape), dtype=np.float32), (np.arange(n) % 10).astype(np.float32)


def batches(x, y, batch_size: int = B):
    return [(ix, [f"{i:08d}" for i in ix], x[ix], y[ix])
            for ix in caffe_batch_indices(len(x), batch_size)]


def run(x, y, **kw):
    kw.setdefault("num_classes", 10)
    return forward_findings(batches(x, y, kw.pop("batch_size", B)), path="ds", **kw)


def by_index(findings):
    return {f.index: f for f in findings}


# ------------------------------------------------------------------ planted records

@pytest.mark.parametrize("index,iteration", [(4, 1), (9, 2), (11, 2)],
                         ids=["first-in-batch", "middle", "last-in-batch"])
def test_nan_record_named_with_its_iteration(index, iteration):
    x, y = dataset()
    x[index, 1, 3, 4] = np.nan
    findings, losses = run(x, y)
    assert [(f.code, f.index, f.key) for f in findings] == [("DS700", index, f"{index:08d}")]
    assert f"iteration {iteration} " in findings[0].message
    assert np.isnan(losses[iteration]) and np.isfinite(np.delete(losses, iteration)).all()


def test_two_bad_records_in_one_batch_both_named():
    x, y = dataset()
    x[5, 0, 0, 0] = np.inf
    x[6, 2, 7, 7] = np.nan
    findings, _ = run(x, y)
    assert {(f.code, f.index) for f in findings} == {("DS700", 5), ("DS700", 6)}
    assert all("iteration 1 " in f.message for f in findings)


def test_clean_data_passes():
    x, y = dataset(n=40)
    findings, losses = run(x, y, batch_size=8)
    assert findings == []
    assert len(losses) == 5 and all(1.5 < v < 3.5 for v in losses)   # ~ ln(10) at init


@pytest.mark.parametrize("value", [1e25, 1e30])
def test_huge_finite_value_blows_up_the_gradient_in_fp32(value):
    x, y = dataset()
    x[2, 0, 1, 1] = value
    findings, losses = run(x, y)
    assert [(f.code, f.index) for f in findings] == [("DS701", 2)]
    assert "weight gradient" in findings[0].message and np.isfinite(losses).all()


def test_float16_overflow_found_only_with_fp16_regression():
    x, _ = dataset()
    targets = np.random.default_rng(1).random((len(x), 2), dtype=np.float32)
    x[7, 0, 0, 0] = 7e4                       # finite in float32, past float16's 65504
    assert run(x, targets, num_classes=None, precision="fp32")[0] == []
    findings, _ = run(x, targets, num_classes=None, precision="fp16")
    assert [(f.code, f.index) for f in findings] == [("DS700", 7)]
    assert "65504" in findings[0].message


def test_float16_overflow_found_only_with_fp16_classification():
    # A value past 65504 usually saturates the fp32 softmax too (loss clamp, DS701); with the
    # label on the winning class the fp32 pass is quiet and only fp16 overflows.
    x, y = dataset()
    x[7, 0, 0, 0] = 7e4
    net = DummyNet(x[0].size, 10)
    y[7] = float(np.argmax(net._inner_product(x[7:8].reshape(1, -1))))
    assert run(x, y, precision="fp32")[0] == []
    findings, _ = run(x, y, precision="fp16")
    assert [(f.code, f.index) for f in findings] == [("DS700", 7)]


def test_scale_that_overflows_float16():
    raw = np.full((8, 1, 4, 4), 200, np.uint8)
    recs = [(i, None, raw[i], 1) for i in range(8)]
    t = Transformer(scale=400.0)               # 200 * 400 = 80000 > 65504
    fp32 = run_forward(recs, batch_size=4, transformer=t, num_classes=None, precision="fp32",
                       path="db")
    assert not [f for f in fp32.findings if f.code == "DS700"]   # huge (DS701), still finite
    r = run_forward(recs, batch_size=4, transformer=t, num_classes=None, precision="fp16",
                    path="db")
    assert sorted(f.index for f in r.findings if f.code == "DS700") == list(range(8))


# ------------------------------------------------------------------ labels

def test_label_cast_like_static_cast_int():
    got = caffe_int_labels(np.array([2.7, -0.5, -1.5, np.nan, np.inf, 3e9]))
    assert got.tolist() == [2, 0, -1, -(1 << 31), -(1 << 31), -(1 << 31)]


def test_out_of_range_labels():
    x, y = dataset()
    y[2], y[3], y[9] = 12, 10.5, -3           # 10.5 truncates to 10: outside [0, 10)
    findings = by_index(run(x, y)[0])
    assert {i: f.code for i, f in findings.items()} == {2: "DS701", 3: "DS701", 9: "DS701"}
    assert "record 3" in findings[2].message            # prob[2*10+12] is record 3's class 2
    assert "outside the batch's 40 softmax outputs" in findings[3].message


def test_ignore_label_is_skipped_and_nan_label_is_ds700():
    x, y = dataset()
    y[1], y[6] = -1, np.nan
    findings = by_index(run(x, y, ignore_label=-1)[0])
    assert list(findings) == [6] and findings[6].code == "DS700"


def test_ignored_record_with_nan_still_poisons_the_weights():
    x, y = dataset()
    y[1], x[1, 0, 0, 0] = -1, np.nan
    findings, losses = run(x, y, ignore_label=-1)
    assert [(f.code, f.index) for f in findings] == [("DS700", 1)]
    assert "0 x NaN" in findings[0].message
    assert np.isfinite(losses[0])             # the loss skips it, the GEMM does not


# ------------------------------------------------------------------ net internals

def test_gradient_norm_is_the_outer_product_norm():
    x, y = dataset(n=4, shape=(5,))
    net = DummyNet(5, 3)
    o = net.run(x, (y % 3))
    w = net._w.astype(np.float64)
    logits = x.astype(np.float64) @ w.T
    prob = np.exp(logits - logits.max(1, keepdims=True))
    prob /= prob.sum(1, keepdims=True)
    dy = prob.copy()
    dy[np.arange(4), (y % 3).astype(int)] -= 1
    dy /= 4                                                  # VALID normaliser: 4 records
    want = [np.linalg.norm(np.outer(dy[i], x[i])) for i in range(4)]
    np.testing.assert_allclose(o.grad, want, rtol=1e-4)
    np.testing.assert_allclose(o.batch_loss, -np.log(prob[np.arange(4), (y % 3).astype(int)]).mean(),
                               rtol=1e-5)


def test_loss_clamp_value():
    assert abs(LOSS_CLAMP - 87.3365) < 1e-3


def test_wide_inputs_keep_weights_small():
    net = DummyNet(3 * 227 * 227, 1000)
    assert net._w.size <= 1 << 22
    o = net.run(np.ones((2, 3 * 227 * 227), np.float32) * 0.01, np.array([0, 999]))
    assert np.isfinite(o.loss).all()


# ------------------------------------------------------------------ batching

def test_caffe_batches_wrap_around():
    assert caffe_batch_indices(10, 4) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1]]
    recs = [(i, None, np.zeros(1), 0) for i in range(10)]
    assert [[r[0] for r in b] for b in caffe_batches(recs, 4)] == caffe_batch_indices(10, 4)
    assert [[r[0] for r in b] for b in caffe_batches(recs[:3], 4)] == [[0, 1, 2, 0]]


def test_wrapped_record_reported_once_in_its_first_iteration():
    x, y = dataset(n=10)
    x[0, 0, 0, 0] = np.nan
    findings, losses = run(x, y)
    assert [(f.index, "iteration 0 " in f.message) for f in findings] == [(0, True)]
    assert np.isnan(losses[0]) and np.isnan(losses[2])        # wraps into the last batch
    x[9, 0, 0, 0] = np.inf
    (f9,) = [f for f in run(x, y)[0] if f.index == 9]
    assert "records 8, 9, 0, 1, this one at position 1" in f9.message


# ------------------------------------------------------------------ transform

def write_mean(path, values, *, legacy=True, shape=None):
    blob = message_class("BlobProto")()
    values = np.asarray(values, np.float32)
    if legacy:
        blob.num, (blob.channels, blob.height, blob.width) = 1, values.shape
    else:
        blob.shape.dim.extend(shape or values.shape)
    blob.data.extend(values.reshape(-1).tolist())
    path.write_bytes(blob.SerializeToString())
    return path


def test_transform_subtracts_mean_then_scales_then_crops(tmp_path):
    mean = np.arange(3 * 6 * 6, dtype=np.float32).reshape(3, 6, 6)
    t = Transformer(scale=0.5, crop_size=4, mean=load_mean(write_mean(tmp_path / "m", mean)))
    raw = np.full((2, 3, 6, 6), 255, np.uint8)
    out = t(raw)
    assert out.shape == (2, 3, 4, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out[1], (255 - mean[:, 1:5, 1:5]) * 0.5)


def test_mean_value_per_channel_and_single():
    raw = np.full((1, 3, 2, 2), 10, np.uint8)
    np.testing.assert_array_equal(Transformer(mean_value=(1, 2, 3))(raw)[0, :, 0, 0], [9, 8, 7])
    np.testing.assert_array_equal(Transformer(mean_value=(4,))(raw)[0, :, 0, 0], [6, 6, 6])
    with pytest.raises(UsageError, match="Specify either 1 mean_value or as many as channels: 3"):
        Transformer(mean_value=(1, 2))(raw)


def test_mean_file_and_mean_value_exclusive(tmp_path):
    mean = load_mean(write_mean(tmp_path / "m", np.zeros((3, 2, 2))))
    with pytest.raises(UsageError, match="Cannot specify mean_file and mean_value at the same time"):
        Transformer(mean=mean, mean_value=(1.0,))


def test_mean_shape_mismatch_is_one_usage_error(tmp_path):
    t = Transformer(mean=load_mean(write_mean(tmp_path / "m", np.zeros((3, 32, 32)))))
    with pytest.raises(UsageError, match=r"datum_height == data_mean_.height\(\) \(28 vs. 32\)"):
        t(np.zeros((2, 3, 28, 28), np.uint8))
    recs = [(i, None, np.zeros((3, 28, 28), np.uint8), 0) for i in range(4)]
    with pytest.raises(UsageError, match="uncropped"):
        run_forward(recs, batch_size=2, transformer=t, num_classes=10, path="db")


def test_mean_blob_shapes_follow_blob_from_proto(tmp_path):
    # shape {1,3,4,4} works; a 3-D shape {3,4,4} reads as num=3, channels=4 in Caffe's legacy
    # accessors and fails its channel CHECK.
    ok = load_mean(write_mean(tmp_path / "a", np.zeros((3, 4, 4)), legacy=False, shape=[1, 3, 4, 4]))
    assert ok.chw == (3, 4, 4)
    bad = load_mean(write_mean(tmp_path / "b", np.zeros((3, 4, 4)), legacy=False))
    with pytest.raises(UsageError, match=r"datum_channels == data_mean_.channels\(\) \(3 vs. 4\)"):
        Transformer(mean=bad).check((3, 4, 4))
    blob = message_class("BlobProto")()
    blob.num, blob.channels, blob.height, blob.width = 1, 3, 4, 4
    blob.data.extend([0.0] * 10)
    (tmp_path / "c").write_bytes(blob.SerializeToString())
    with pytest.raises(UsageError, match=r"count_ == proto.data_size\(\) \(48 vs. 10\)"):
        load_mean(tmp_path / "c")


def test_crop_larger_than_record():
    with pytest.raises(UsageError, match=r"datum_height >= crop_size \(8 vs. 10\)"):
        Transformer(crop_size=10)(np.zeros((1, 3, 8, 8), np.uint8))


def test_nan_in_mean_is_one_finding(tmp_path):
    mean = np.zeros((3, 4, 4), np.float32)
    mean[1, 2, 3] = np.nan
    t = Transformer(mean=load_mean(write_mean(tmp_path / "mean.binaryproto", mean)))
    recs = [(i, None, np.zeros((3, 4, 4), np.uint8), 0) for i in range(8)]
    r = run_forward(recs, batch_size=4, transformer=t, num_classes=10, path="db")
    assert [(f.code, f.index, f.path.endswith("mean.binaryproto")) for f in r.findings] == \
        [("DS700", None, True)]
    assert "c=1, y=2, x=3" in r.findings[0].message and r.batch_losses == []


def test_run_forward_skips_records_the_data_layer_rejects():
    recs = [(i, None, np.zeros((3, 8, 8), np.uint8), 0) for i in range(8)]
    recs[5] = (5, None, np.zeros((3, 9, 8), np.uint8), 0)
    recs[6] = (6, None, np.full((3, 8, 8), np.nan, np.float32), 0)
    r = run_forward(recs, batch_size=4, transformer=Transformer(), num_classes=10, path="db")
    assert [i for i, _ in r.skipped] == [5]
    assert [(f.code, f.index) for f in r.findings] == [("DS700", 6)]
    block = r.block("db")
    # Caffe aborts on iteration 1 (record 5): no loss for it, but record 6 is still judged
    assert block.batch_losses[1] is None and block.first_aborted_iteration == 1
    assert block.iterations_run == 1 and block.first_nonfinite_iteration is None
    assert to_dict(replace(EMPTY, forward=(block,)))["forward"][0]["batch_losses"][1] is None
