"""--forward and --net against real Caffe artifacts (realdata/caffe-ref: nets Caffe trained,
with the losses it printed). Skipped when /work/shared/realdata is not there."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datascan.caffe.netspec import load_net
from datascan.errors import UsageError
from datascan.forward.runner import caffe_batch_indices, forward_findings

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
CAFFE_REF = REALDATA / "caffe-ref"
TRAIN = CAFFE_REF / "train"
pytestmark = pytest.mark.skipif(not TRAIN.is_dir(),
                                reason=f"real Caffe reference data not present at {CAFFE_REF}")


def forward_h5(name: str, batch_size: int = 4, num_classes: int = 10):
    h5py = pytest.importorskip("h5py")
    with h5py.File(TRAIN / "h5" / f"{name}.h5", "r") as f:
        x, y = f["data"][()], f["label"][()]
    batches = [(ix, [None] * len(ix), x[ix], y[ix])
               for ix in caffe_batch_indices(len(x), batch_size)]
    return forward_findings(batches, num_classes=num_classes, path=f"{name}.h5")


@pytest.mark.parametrize("net", sorted(p.name for p in TRAIN.glob("net_*.prototxt"))
                         if TRAIN.is_dir() else [])
def test_caffe_ref_nets(net):
    spec = load_net(TRAIN / net, cwd=TRAIN / "nowhere")
    assert spec.num_classes == 10
    (d,) = spec.data_layers()
    assert d.phases == ("TRAIN", "TEST") and d.batch_size == 4 and d.source.exists()
    if "lmdb" in net:
        assert (d.type, d.backend, d.transform.scale) == ("Data", "lmdb", 0.00390625)
        assert d.source.resolve().parent == (CAFFE_REF / "db").resolve()
    else:
        assert (d.type, d.backend) == ("HDF5Data", None)
        assert d.source.parent == TRAIN / "h5" and d.source.suffix == ".txt"


def test_main_h5_nan_in_iteration_2_and_label_12_in_iteration_0():
    # Caffe: losses 0:2.3441 1:2.33343 2:nan ... (train_hdf5_main.log)
    findings, losses = forward_h5("main")
    got = {f.index: f for f in findings}
    assert sorted(got) == [2, 9]
    assert got[9].code == "DS700" and "iteration 2 " in got[9].message
    assert got[2].code == "DS701" and "iteration 0 " in got[2].message
    assert "label 12" in got[2].message and "record 3" in got[2].message   # reads prob[32]
    assert np.isfinite(losses[:2]).all() and np.isnan(losses[2])


def test_only_nan_h5():
    findings, losses = forward_h5("only_nan")
    assert [(f.code, f.index) for f in findings] == [("DS700", 9)]
    assert [np.isnan(v) for v in losses] == [False, False, True, False]


@pytest.mark.parametrize("name,record", [("only_label12_mid", 2), ("only_label12_last", 3)])
def test_label_12(name, record):
    findings, losses = forward_h5(name)
    assert [(f.code, f.index) for f in findings] == [("DS701", record)]
    assert "iteration 0 " in findings[0].message
    if record == 3:   # past the batch's output: the run that aborted (malloc(): invalid size)
        assert "outside the batch's 40 softmax outputs" in findings[0].message
        assert losses[0] > 20                     # Caffe's debug loss there: 23.5876


@pytest.mark.parametrize("name", ["clean", "clean10"])
def test_clean_h5_gives_no_forward_findings(name):
    findings, losses = forward_h5(name)
    assert findings == [] and all(2.0 < v < 2.7 for v in losses)   # Caffe: 2.34061 at iteration 0


def net_prototxts():
    if not REALDATA.is_dir():
        return []
    return sorted(p for p in REALDATA.rglob("*.prototxt")
                  if "caffe-ref" not in p.parts and "labelmap" not in p.name
                  and "solver" not in p.name)


@pytest.mark.parametrize("path", net_prototxts(), ids=lambda p: str(p.relative_to(REALDATA)))
def test_real_world_nets_parse(path):
    if path.name == "lenet.prototxt" and "input_dim: \n" in path.read_text():
        with pytest.raises(UsageError, match="input_dim"):   # Caffe cannot read it either
            load_net(path, cwd=path.parent)
        return
    spec = load_net(path, cwd=path.parent)
    layers = spec.data_layers()
    if not layers:                                           # a conv snippet, no data layer
        assert spec.num_classes is None
        return
    assert all(d.type in ("Data", "HDF5Data", "ImageData") for d in layers)
    assert all(d.batch_size > 0 for d in layers)
    loss = next(iter(spec.phases.values())).loss
    assert loss is not None and loss.num_outputs and loss.num_outputs > 0


def test_caffe_ref_lmdb_net_end_to_end():
    # Caffe trained net_lmdb.prototxt on raw32_lmdb with finite losses (2.33198 at iteration 0).
    from datascan.forward import forward_source, net_targets
    (t,) = net_targets(load_net(TRAIN / "net_lmdb.prototxt", cwd=TRAIN / "nowhere"))
    r = forward_source(t.path, t.format, "datum", t.options)
    assert r.findings == [] and r.skipped == []
    assert len(r.batch_losses) == 15 and all(2.0 < v < 2.7 for v in r.batch_losses)   # 57 / 4


def test_caffe_ref_encoded_lmdb_net_cannot_batch_mixed_sizes():
    # Caffe aborted: "Check failed: height <= img_height (51 vs. 33)" in the first batch.
    from datascan.forward import forward_source, net_targets
    (t,) = net_targets(load_net(TRAIN / "net_lmdb_encoded.prototxt", cwd=TRAIN / "nowhere"))
    r = forward_source(t.path, t.format, "datum", t.options)
    assert 1 in {i for i, _ in r.skipped} and r.findings == []
