"""The forward pass on real clean sets fed without the net's scale (issue 16, point 6): one
dataset-level DS702 naming the cause, no record blamed, and nothing at all with the scale or
the net. Skipped when ../shared/realdata is absent; the LevelDB is read by datascan (a
snapshot of links), never opened in place."""
from __future__ import annotations

import json

import pytest

from datascan.cli import main
from conftest import realdata

MNIST = ("pl8787-exp-caffe-mnist-leveldb", "examples", "mnist", "mnist-test-leveldb")
RAW32 = ("caffe-ref", "db", "raw32_lmdb")


def run_json(capsys, *args) -> tuple[int, dict]:
    code = main(["check", *map(str, args), "--format", "json", "--quiet", "--no-cache"])
    return code, json.loads(capsys.readouterr().out)


def forward_codes(report) -> list[tuple[str, int | None]]:
    return [(f["code"], f["index"]) for f in report["findings"] if f["code"].startswith("DS7")]


def test_mnist_without_the_scale_is_one_dataset_finding(capsys):
    code, report = run_json(capsys, realdata(*MNIST), "--forward", "--batch-size", "64")
    assert forward_codes(report) == [("DS702", None)]      # it was 1,443 DS701
    (f,) = report["findings"]
    assert f["severity"] == "warning" and f["key"] is None
    assert "inputs span 0..255 and no scale or mean was given" in f["message"]
    assert "of 10,000 records" in f["message"]
    assert code == 0                                         # no bad record
    assert report["forward"][0]["input_range"] == [0.0, 255.0]


def test_mnist_with_the_scale_or_the_net_has_no_findings(capsys, tmp_path):
    code, report = run_json(capsys, realdata(*MNIST), "--forward", "--scale", "0.00390625")
    assert (code, report["findings"]) == (0, [])
    block = report["forward"][0]
    assert (block["batch_size"], block["batch_size_from"]) == (64, "default")
    assert len(block["batch_losses"]) == 157 and all(2.0 < x < 2.7 for x in block["batch_losses"])
    # lenet_train_test.prototxt's TEST layer, on this set: the net's transform_param applies.
    net = tmp_path / "lenet.prototxt"
    net.write_text(
        'layer { name: "mnist" type: "Data" top: "data" top: "label" include { phase: TEST }\n'
        '  transform_param { scale: 0.00390625 }\n'
        f'  data_param {{ source: "{realdata(*MNIST)}" batch_size: 100 backend: LEVELDB }} }}\n'
        'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"\n'
        '  inner_product_param { num_output: 10 } }\n'
        'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" }\n')
    code, report = run_json(capsys, "--net", net, "--forward")
    assert (code, report["findings"]) == (0, [])
    block = report["forward"][0]
    assert (block["batch_size"], block["batch_size_from"]) == (100, "net")
    assert block["input_range"][1] < 1


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_caffe_ref_raw_lmdb_without_the_scale(capsys, precision):
    path = realdata(*RAW32)
    code, report = run_json(capsys, path, "--forward", "--batch-size", "4",
                            "--precision", precision)
    assert forward_codes(report) == [("DS702", None)]        # it was 35 of 57 DS701
    assert "35 of 57 records" in next(f["message"] for f in report["findings"]
                                      if f["code"] == "DS702")
    assert code == 0
    code, report = run_json(capsys, path, "--forward", "--batch-size", "4", "--precision",
                            precision, "--scale", "0.00390625")
    assert forward_codes(report) == [] and code == 0


def test_check_review_clean_keeps_every_good_record(capsys, tmp_path):
    """The README's check -> review -> clean --from-report: nothing good is dropped."""
    report = tmp_path / "report.json"
    assert main(["check", str(realdata(*RAW32)), "--forward", "--batch-size", "4", "--quiet",
                 "--no-cache", "--format", "json", "-o", str(report)]) == 0
    dst = tmp_path / "clean_lmdb"
    assert main(["clean", str(realdata(*RAW32)), str(dst), "--from-report", str(report),
                 "--quiet"]) == 0
    manifest = json.loads((tmp_path / "clean_lmdb.manifest.json").read_text())
    assert manifest["counts"]["kept"] == 57 and manifest["dropped"] == []
    assert manifest["verification"]["ok"]
