"""--forward and --net end to end through main([...]): exit codes, findings, the JSON block."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from datascan.cli import main
from conftest import float_datum, key, raw_datum, realdata


def run_json(capsys, *args) -> tuple[int, dict]:
    code = main(["check", *map(str, args), "--format", "json", "--quiet", "--jobs", "1"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out else {"stderr": out.err})


def test_forward_names_the_nan_record_and_its_iteration(make_lmdb, capsys):
    values = np.random.default_rng(0).normal(0, 1, (20, 1, 4, 4)).astype(np.float32)
    values[13, 0, 2, 2] = np.nan
    path = make_lmdb([(key(i), float_datum(values[i], i % 3)) for i in range(20)])
    code, report = run_json(capsys, path, "--forward", "--batch-size", "4", "--num-classes", "3")
    assert code == 1
    ds700 = [f for f in report["findings"] if f["code"] == "DS700"]
    assert [(f["index"], f["key"]) for f in ds700] == [(13, "00000013")]
    assert "iteration 3" in ds700[0]["message"]
    block = report["forward"][0]
    assert block["batch_size"] == 4 and len(block["batch_losses"]) == 5
    assert block["first_nonfinite_iteration"] == 3


def test_forward_clean_data_passes(make_lmdb, capsys):
    path = make_lmdb([(key(i), raw_datum(i % 3, seed=i)) for i in range(12)])
    code, report = run_json(capsys, path, "--forward", "--batch-size", "4", "--num-classes", "3",
                            "--scale", "0.00390625")
    assert code == 0 and report["findings"] == []
    assert all(isinstance(x, float) for x in report["forward"][0]["batch_losses"])


def test_forward_finite_huge_value_blows_up_gradients(tmp_path, capsys):
    path = tmp_path / "d.h5"
    data = np.random.default_rng(1).random((8, 3, 4, 4), dtype=np.float32)
    data[5, 0, 0, 0] = 1e25
    with h5py.File(path, "w") as f:
        f["data"] = data
        f["label"] = (np.arange(8) % 4).astype(np.float32)
    code, report = run_json(capsys, path, "--forward", "--batch-size", "4", "--num-classes", "4")
    assert code == 1
    assert {(f["code"], f["index"]) for f in report["findings"]} >= {("DS301", 5), ("DS701", 5)}


def test_forward_without_a_batch_size_runs_with_the_stated_default(make_lmdb, capsys):
    path = make_lmdb([(key(i), raw_datum(0, seed=i)) for i in range(4)])
    code, report = run_json(capsys, path, "--forward", "--scale", "0.00390625")
    assert code == 0
    block = report["forward"][0]
    assert (block["batch_size"], block["batch_size_from"]) == (64, "default")
    assert main(["check", str(path), "--forward", "--quiet", "--no-cache",
                 "--scale", "0.00390625"]) == 0
    assert "batch size 64 (the default; --batch-size sets it)" in capsys.readouterr().out
    assert main(["check", str(path), "--forward", "--batch-size", "0", "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == "datascan: error: --batch-size must be at least 1, not 0"


@pytest.mark.parametrize("net, expect", [
    ("net_hdf5_main.prototxt", {("DS701", 2), ("DS700", 9)}),
    ("net_hdf5_only_nan.prototxt", {("DS700", 9)}),
    ("net_hdf5_only_label12_last.prototxt", {("DS701", 3)}),
    ("net_hdf5_clean.prototxt", set()),
])
def test_net_driven_forward_agrees_with_caffe_logs(capsys, net, expect):
    prototxt = realdata("caffe-ref", "train", net)
    code, report = run_json(capsys, "--net", prototxt, "--forward")
    got = {(f["code"], f["index"]) for f in report["findings"] if f["code"].startswith("DS7")}
    assert got == expect
    assert code == (1 if expect else 0)
    assert report["net"]["layers"][0]["format"] == "hdf5"


def test_net_driven_scan_of_the_lmdb_net(capsys):
    code, report = run_json(capsys, "--net", realdata("caffe-ref", "train", "net_lmdb.prototxt"),
                            "--forward")
    assert report["sources"][0]["format"] == "lmdb" and report["sources"][0]["records"] == 57
    assert [f["code"] for f in report["findings"]] == ["DS303"]    # Caffe trained fine: no DS7xx
    assert code == 0


def test_unusable_records_keep_their_slot_in_the_batch_count(make_lmdb, capsys):
    from datascan.decode.datum import encode_datum
    values = np.random.default_rng(3).normal(0, 1, (12, 1, 4, 4)).astype(np.float32)
    values[4, 0, 1, 1] = np.nan
    records = [(key(i), float_datum(values[i], i % 3)) for i in range(12)]
    records[1] = (key(1), encode_datum(channels=1, height=4, width=4, data=bytes(5), label=0))
    records[2] = (key(2), b"\xff not a datum")
    code, report = run_json(capsys, make_lmdb(records), "--forward", "--batch-size", "4",
                            "--num-classes", "3")
    ds700 = [f for f in report["findings"] if f["code"] == "DS700"]
    assert [f["index"] for f in ds700] == [4]
    assert "iteration 1 " in ds700[0]["message"] and "position 0" in ds700[0]["message"]
    assert report["forward"][0]["first_nonfinite_iteration"] == 1


def test_forward_is_not_run_over_storage_damage(make_lmdb, capsys):
    path = make_lmdb([(key(i), raw_datum(i % 3, shape=(3, 32, 32), seed=i)) for i in range(300)])
    data = path / "data.mdb"
    with open(data, "r+b") as fh:
        fh.truncate(data.stat().st_size // 2)
    code, report = run_json(capsys, path, "--forward", "--batch-size", "4", "--num-classes", "3",
                            "--select", "DS7")
    assert code == 0 and report["findings"] == []
    assert "storage damage (DS102" in report["forward"][0]["not_run"]


def test_net_with_default_leveldb_backend_on_an_lmdb_is_one_clear_line(make_lmdb, tmp_path, capsys):
    source = make_lmdb([(key(i), raw_datum(i % 3, seed=i)) for i in range(8)])
    net = tmp_path / "net.prototxt"
    net.write_text(f'layer {{ name: "data" type: "Data" top: "data" top: "label" '
                   f'data_param {{ source: "{source}" batch_size: 4 }} }}\n'
                   'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" '
                   'inner_product_param { num_output: 3 } }\n'
                   'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" }\n')
    assert main(["check", "--net", str(net), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "backend: LMDB" in err[0]
