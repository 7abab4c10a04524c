"""`datascan doctor --instrument`: the net rewritten with the check layer (parsed back with
caffe/proto), the layer itself run against a stand-in for pycaffe's caffe.Layer and blobs,
and its message read back from a log (DS814)."""
from __future__ import annotations

import importlib.util
import json
import sys
import types

import numpy as np
import pytest

from conftest import realdata
from datascan import doctor
from datascan.caffe.proto import parse_net_text
from datascan.cli import main
from datascan.doctor.instrument import blocks, instrument
from doctor_logs import glog, healthy_debug, iteration, start

NET = '''name: "tiny"  # a comment with a { brace
layer {
  name: "data"
  type: "HDF5Data"
  top: "data"
  top: "label"
  include { phase: TRAIN }
  hdf5_data_param { source: "list}.txt" batch_size: 4 }
}
layer {
  name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param { num_output: 8 kernel_size: 3 weight_filler { type: "xavier" } }
}
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "ip" type: "InnerProduct" bottom: "conv1" top: "ip"
        inner_product_param { num_output: 10 } }
layer { name: "acc" type: "Accuracy" bottom: "ip" bottom: "label" top: "acc"
        include { phase: TEST } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
'''


def _checks(net):
    return [(i, layer) for i, layer in enumerate(net.layer) if layer.type == "Python"]


def test_the_rewritten_net_parses_back_with_a_check_after_each_layer():
    done = instrument(NET)
    assert done.after == ("data", "conv1", "relu1", "ip")        # not after Accuracy, the loss
    net = parse_net_text(done.text)
    names = [layer.name for layer in net.layer]
    assert names == ["data", "check_data", "conv1", "check_conv1", "relu1", "check_relu1", "ip",
                     "check_ip", "acc", "loss"]
    for i, check in _checks(net):
        checked = net.layer[i - 1]
        assert list(check.bottom) == list(check.top) == list(checked.top)      # in place
        assert (check.python_param.module, check.python_param.layer) == ("datascan_check",
                                                                         "CheckFinite")
        params = json.loads(check.python_param.param_str)
        assert params == {"layer": checked.name, "blobs": list(checked.top), "stop": True}
        assert [r.phase for r in check.include] == [r.phase for r in checked.include]
    assert net.layer[1].include[0].phase == net.layer[0].include[0].phase      # TRAIN only
    for a, b in blocks(NET, "layer"):
        assert NET[a:b] in done.text          # every original layer kept as written
    assert "# a comment with a { brace" in done.text
    assert 'weight_filler { type: "xavier" }' in done.text


def test_after_names_the_layers_and_unknown_names_or_v1_nets_are_one_error(tmp_path, capsys):
    assert instrument(NET, ["ip", "data"]).after == ("data", "ip")
    src = tmp_path / "net.prototxt"
    src.write_text(NET)
    out = tmp_path / "out" / "checked.prototxt"
    out.parent.mkdir()
    assert main(["doctor", "--instrument", str(src), "-o", str(out), "--after", "conv1"]) == 0
    assert [x.name for x in parse_net_text(out.read_text()).layer].count("check_conv1") == 1
    assert (out.parent / "datascan_check.py").read_text().startswith('"""datascan\'s check layer')
    capsys.readouterr()
    assert main(["doctor", "--instrument", str(src), "-o", str(out), "--after", "nope"]) == 2
    assert main(["doctor", "--instrument", str(src)]) == 2              # no -o
    (tmp_path / "v1.prototxt").write_text('layers { name: "d" type: DATA top: "data" }\n')
    assert main(["doctor", "--instrument", str(tmp_path / "v1.prototxt"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("datascan: error: ") == 3 and "Traceback" not in err and "V1" in err


def test_a_real_net_instruments_and_parses_back():
    text = realdata("caffe-ref", "train", "net_avepool_10x10.prototxt").read_text()
    net = parse_net_text(instrument(text).text)
    assert "check_pool" in [layer.name for layer in net.layer]


# ------------------------------------------------------------------ the layer, without pycaffe

class Blob:
    """What pycaffe's Blob offers the layer: data, diff (numpy arrays), reshape."""

    def __init__(self, values):
        self.data = np.asarray(values, np.float32)
        self.diff = np.zeros_like(self.data)

    def reshape(self, *shape):
        assert tuple(shape) == self.data.shape


@pytest.fixture
def check_module(tmp_path, monkeypatch):
    fake = types.ModuleType("caffe")
    fake.Layer = type("Layer", (), {})
    monkeypatch.setitem(sys.modules, "caffe", fake)
    (tmp_path / "net.prototxt").write_text(NET)
    assert main(["doctor", "--instrument", str(tmp_path / "net.prototxt"),
                 "-o", str(tmp_path / "checked.prototxt")]) == 0
    spec = importlib.util.spec_from_file_location("datascan_check", tmp_path / "datascan_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _layer(module, stop=True):
    layer = module.CheckFinite()
    layer.param_str = json.dumps({"layer": "conv1", "blobs": ["conv1"], "stop": stop})
    return layer


def test_the_layer_passes_finite_blobs_and_raises_on_nan_naming_everything(check_module):
    layer = _layer(check_module)
    blob = Blob(np.ones((2, 4)))
    layer.setup([blob], [blob])
    layer.reshape([blob], [blob])
    layer.forward([blob], [blob])
    layer.backward([blob], [True], [blob])
    blob.data[0, :3] = np.nan
    blob.data[1, 0] = np.inf
    with pytest.raises(FloatingPointError) as e:
        layer.forward([blob], [blob])
    assert str(e.value) == ('datascan check: non-finite in layer "conv1" forward top "conv1" '
                            'data at iteration 1: fraction 0.5 (3 nan, 1 inf of 8)')


def test_the_layer_reports_a_gradient_and_goes_on_without_stop(check_module, capsys):
    layer = _layer(check_module, stop=False)
    blob = Blob(np.ones(4))
    layer.setup([blob], [blob])
    blob.diff[2] = np.nan
    layer.forward([blob], [blob])
    layer.backward([blob], [True], [blob])
    err = capsys.readouterr().err
    assert err == ('datascan check: non-finite in layer "conv1" backward top "conv1" diff at '
                   'iteration 0: fraction 0.25 (1 nan, 0 inf of 4)\n')


# ------------------------------------------------------------------ read back from the log

def test_the_doctor_reads_the_check_layer_back_from_the_log(tmp_path):
    msg = ('datascan check: non-finite in layer "conv\\"1" forward top "conv1" data at '
           'iteration 3: fraction 0.25 (2 nan, 0 inf of 8)')
    lines = start()
    for i in range(3):
        lines += iteration(i, 2.3, debug=healthy_debug())
    lines += [msg, "Traceback (most recent call last):", '  File "datascan_check.py", line 80',
              f"FloatingPointError: {msg}",
              "terminate called after throwing an instance of 'boost::python::error_already_set'",
              "*** Aborted at 1795254713 (unix time) try \"date -d @1795254713\" ***"]
    path = tmp_path / "checked.log"
    path.write_text("\n".join(lines) + "\n")
    report = doctor(path, data=False)
    found = [f for f in report.findings if f.code == "DS814"]
    assert report.verdict == "nan" and len(found) == 1
    assert (found[0].layer, found[0].iteration, found[0].line) == ('conv"1', 3, len(start()) + 28)
    assert "fraction 0.25 (2 nan, 0 inf of 8)" in found[0].message and "1 more" in found[0].message
    first = report.first_nonfinite
    assert (first.iteration, first.phase, first.layer, first.blob) == (3, "forward", 'conv"1',
                                                                       "top conv1 data")
    assert report.headline.startswith("NaN at iteration 3, first in layer conv\"1's forward")
    glogged = tmp_path / "glog.log"
    glogged.write_text("\n".join(start() + iteration(0, 2.3) + [glog(msg, sev="E")]) + "\n")
    assert "DS814" in {f.code for f in doctor(glogged, data=False).findings}
