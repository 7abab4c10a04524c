"""The renderers on reports built in memory: the JSON shape (key order included) and the
text report read the typed sections (labels, forward blocks, the net)."""
from __future__ import annotations

import json

from datascan.model import (Finding, ForwardBlock, LabelStats, NetBlock, NetLayer, Report,
                            Severity, SourceInfo)
from datascan.report import json as json_report, render, text, to_dict

LABELS = LabelStats(min=0, max=2, distinct=3, histogram={0: 5, 1: 4, 2: 3})
SOURCE = SourceInfo("train_lmdb", "lmdb", 12, "datum", LABELS)
FINDING = Finding("DS300", Severity.ERROR, "train_lmdb", "00000007", 7, "2 NaN values in data")


def report(**kw) -> Report:
    return Report("0.1.0", (SOURCE,), (FINDING,), 1.23456, **kw)


def test_json_follows_the_contract_key_by_key():
    out = json.loads(render(report(), "json"))
    assert list(out) == ["datascan", "sources", "findings", "summary"]
    assert out["sources"] == [{"path": "train_lmdb", "format": "lmdb", "records": 12,
                               "encoding": "datum", "labels": {
                                   "min": 0, "max": 2, "distinct": 3,
                                   "histogram": {"0": 5, "1": 4, "2": 3}}}]
    assert list(out["sources"][0]["labels"]) == ["min", "max", "distinct", "histogram"]
    assert out["findings"] == [{"code": "DS300", "severity": "error", "path": "train_lmdb",
                                "key": "00000007", "index": 7, "message": "2 NaN values in data"}]
    assert list(out["findings"][0]) == ["code", "severity", "path", "key", "index", "message"]
    assert out["summary"] == {"records": 12, "bad_records": 1, "errors": 1, "warnings": 0,
                              "by_code": {"DS300": 1}, "seconds": 1.235}
    assert list(out["summary"]) == ["records", "bad_records", "errors", "warnings", "by_code",
                                    "seconds"]
    assert to_dict(report()) == out


def test_labels_past_the_cap_carry_their_note():
    many = LabelStats(min=0, max=2999, distinct=None, histogram=None, note="more than 100")
    out = to_dict(Report("0.1.0", (SourceInfo("x", "lmdb", 3000, "datum", many),), (), 0.0))
    assert out["sources"][0]["labels"] == {"min": 0, "max": 2999, "distinct": None,
                                           "histogram": None, "note": "more than 100"}
    assert "labels 0..2999 (more than 100,000 distinct)" in text.render(
        Report("0.1.0", (SourceInfo("x", "lmdb", 3000, "datum", many),), (), 0.0))


def test_forward_and_net_blocks_follow_the_summary_net_first():
    ran = ForwardBlock("train_lmdb", batch_size=4, precision="fp16", loss="softmax",
                       batch_losses=(1.5, float("nan"), None, float("inf")), skipped=2)
    damaged = ForwardBlock("val_lmdb", not_run="storage damage (DS102: short); fix the storage")
    net = NetBlock("net.prototxt", (NetLayer("data", ("TRAIN",), "train_lmdb", "lmdb",
                                             ("source not found",)),))
    out = to_dict(report(forward=(ran, damaged), net=net))
    assert list(out) == ["datascan", "sources", "findings", "summary", "net", "forward"]
    assert out["net"] == {"path": "net.prototxt", "layers": [
        {"layer": "data", "phases": ["TRAIN"], "path": "train_lmdb", "format": "lmdb",
         "notes": ["source not found"]}]}
    assert out["forward"] == [
        {"path": "train_lmdb", "batch_size": 4, "precision": "fp16", "loss": "softmax",
         "gradient_norm": json_report.GRADIENT_NORM, "batch_losses": [1.5, "nan", None, "inf"],
         "first_nonfinite_iteration": 1, "skipped": 2, "skipped_reasons": [],
         "batch_size_from": "given", "input_range": None},
        {"path": "val_lmdb", "not_run": "storage damage (DS102: short); fix the storage"}]
    assert list(out["forward"][0])[4:9] == ["gradient_norm", "batch_losses",
                                            "first_nonfinite_iteration", "skipped",
                                            "skipped_reasons"]   # the older keys first
    assert "forward" not in to_dict(report()) and "net" not in to_dict(report())
    assert to_dict(report(forward=()))["forward"] == []


def test_text_reads_the_typed_sections():
    damaged = ForwardBlock("val_lmdb", not_run="storage damage (DS102: short)")
    ran = ForwardBlock("train_lmdb", batch_size=4, batch_losses=(2.25, None, float("nan"), 2.5),
                       skipped=3, skipped_reasons=(("Check failed: K_ == new_K (48 vs. 12)", 3),),
                       input_range=(0.0, 255.0), batch_size_from="default")
    out = text.render(report(forward=(ran, damaged)))
    assert out.splitlines()[:6] == [
        "train_lmdb: lmdb, 12 records, datum, labels 0..2 (3 distinct)",
        "forward pass on train_lmdb: 3 of 4 iterations run, batch size 4 (the default; "
        "--batch-size sets it), fp32 softmax loss; 1 iteration not run (Caffe aborts on its "
        "batch: the first at iteration 1)",
        "  loss 2.25..2.5, non-finite from iteration 2; inputs 0..255 as the net saw them",
        "  3 records skipped (Caffe aborts on them; the plain checks name them; the rest of "
        "their batch is still judged): Check failed: K_ == new_K (48 vs. 12) (3)",
        "forward pass not run on val_lmdb: storage damage (DS102: short)",
        ""]
    assert "train_lmdb:00000007:#7: DS300 error 2 NaN values in data" in out.splitlines()
