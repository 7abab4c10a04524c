"""caffe/lint.py: each rule on a solver or net built in the test, and `datascan doctor` with
only --solver/--net (lint only)."""
from __future__ import annotations

import json

import pytest

from datascan import doctor
from datascan.caffe.lint import lint
from datascan.caffe.proto import parse_net_text, parse_text
from datascan.cli import main

from conftest import realdata

GOOD_SOLVER = 'base_lr: 0.01\nlr_policy: "step"\ngamma: 0.1\nstepsize: 1000\nmax_iter: 5000\n' \
              'momentum: 0.9'


def solver_codes(text: str) -> list[str]:
    return [code.code for code, _, _ in lint(parse_text(text, "SolverParameter"), None)]


def net_codes(text: str, tmp_path=None) -> list[tuple[str, str | None]]:
    return [(code.code, layer) for code, _, layer in
            lint(None, parse_net_text(text), base=tmp_path, cwd=tmp_path)]


def test_a_sound_solver_has_no_finding():
    assert solver_codes(GOOD_SOLVER) == []


@pytest.mark.parametrize("text,code", [
    ('base_lr: 0.01\nlr_policy: "poly"\npower: 1', "DS901"),                 # no max_iter
    ('base_lr: 0.01\nlr_policy: "step"\ngamma: 0.1\nmax_iter: 9', "DS901"),  # no stepsize
    ('base_lr: 0.01\nlr_policy: "step"\nstepsize: 3\nmax_iter: 9', "DS901"),  # no gamma
    ('base_lr: 0.01\nlr_policy: "multistep"\ngamma: 0.1\nstepvalue: 5\nstepvalue: 2\n'
     'max_iter: 9', "DS901"),                                                # unsorted
    ('base_lr: 0.01\nmax_iter: 9', "DS901"),                                 # no lr_policy
    ('lr_policy: "fixed"\nmax_iter: 9', "DS901"),                            # no base_lr
    ('base_lr: 0.01\nlr_policy: "exp"\ngamma: 1.01\nmax_iter: 9', "DS908"),
    ('base_lr: 0.01\nlr_policy: "inv"\ngamma: 0.1\npower: -0.5\nmax_iter: 9', "DS908"),
    (GOOD_SOLVER.replace("0.9", "1.0"), "DS907"),
])
def test_solver_rules(text, code):
    assert code in solver_codes(text)


def layer(name, kind, body="", top="data", bottom=""):
    b = f' bottom: "{bottom}"' if bottom else ""
    return f'layer {{ name: "{name}" type: "{kind}" top: "{top}"{b} {body} }}\n'


def test_ave_pooling_with_stride_above_kernel():
    net = layer("pool", "Pooling", 'pooling_param { pool: AVE kernel_size: 3 stride: 5 }', "pool",
                "data")
    assert net_codes(net) == [("DS900", "pool")]
    ok = layer("pool", "Pooling", 'pooling_param { pool: AVE kernel_size: 3 stride: 5 pad: 1 }')
    assert net_codes(ok) == []
    assert net_codes(layer("pool", "Pooling", 'pooling_param { pool: MAX kernel_size: 3 '
                                              'stride: 5 }')) == []


def test_data_layer_over_an_lmdb_without_backend(tmp_path):
    db = tmp_path / "train_db"
    db.mkdir()
    (db / "data.mdb").write_bytes(b"\0" * 16)
    net = layer("data", "Data", f'data_param {{ source: "{db}" batch_size: 4 }}')
    assert net_codes(net, tmp_path) == [("DS902", "data")]
    fixed = layer("data", "Data", f'data_param {{ source: "{db}" batch_size: 4 backend: LMDB }}')
    assert net_codes(fixed, tmp_path) == []


def test_transforms_caffe_refuses():
    h5 = layer("data", "HDF5Data", 'hdf5_data_param { source: "l.txt" batch_size: 4 } '
                                   'transform_param { scale: 0.1 }')
    assert net_codes(h5) == [("DS903", "data")]
    both = layer("data", "Data", 'data_param { source: "x" batch_size: 4 backend: LMDB } '
                                 'transform_param { mean_file: "m.binaryproto" mean_value: 1 }')
    assert net_codes(both) == [("DS904", "data")]


def test_batchnorm_global_stats_in_train_and_infogain():
    bn = layer("bn", "BatchNorm", "batch_norm_param { use_global_stats: true } "
               "include { phase: TRAIN }", "x", "data")
    assert net_codes(bn) == [("DS905", "bn")]
    test_only = bn.replace("TRAIN", "TEST")
    assert net_codes(test_only) == []
    ig = layer("ip", "InnerProduct", "", "ip", "data") + \
        'layer { name: "loss" type: "InfogainLoss" bottom: "ip" bottom: "label" top: "loss" }'
    assert ("DS906", "loss") in net_codes(ig)


def test_lint_only_from_the_cli(tmp_path, capsys):
    solver = tmp_path / "solver.prototxt"
    solver.write_text('base_lr: 0.01\nlr_policy: "poly"\npower: 0.9\nmomentum: 0.9')
    assert main(["doctor", "--solver", str(solver), "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["log"] is None and [f["code"] for f in out["findings"]] == ["DS901"]
    assert main(["doctor"]) == 2


def test_the_real_poly_solver_and_the_avepool_net():
    report = doctor(solver=realdata("caffe-ref", "train", "solver_poly_no_maxiter.prototxt"),
                    net=realdata("caffe-ref", "train", "net_avepool_10x10.prototxt"))
    assert {f.code for f in report.findings} == {"DS901", "DS900"}


def test_a_diverging_run_names_its_base_lr():
    report = doctor(realdata("logs", "ducha_caffenet_rmsprop095_lr001.log"))
    assert [f.message for f in report.findings if f.code == "DS909"] == \
        ["base_lr 0.01 diverges here: try 0.001 (or clip_gradients)"]
