"""The forward pass tells a cause of the whole dataset (DS702) from records that stand out
(DS700, DS701), on LMDBs built in the test; and `clean --from-report` keeps the good records."""
from __future__ import annotations

import json

import numpy as np
import pytest

from datascan.cli import main
from datascan.forward import ForwardOptions, forward_source
from datascan.forward.spread import STAND_OUT_DECADES, Spread
from conftest import float_datum, key, raw_datum

N = 48
SHAPE = (3, 32, 32)          # 3,072 values of 0..255: the dummy softmax saturates (caffe-ref raw32)


def pixels(n: int = N, seed: int = 0) -> np.ndarray:
    """0..255 values, as a raw Datum holds them (float here, so one can be NaN or huge)."""
    return np.random.default_rng(seed).integers(0, 256, (n, *SHAPE)).astype(np.float32)


def run_json(capsys, *args) -> tuple[int, dict]:
    code = main(["check", *map(str, args), "--format", "json", "--quiet", "--jobs", "1",
                 "--no-cache"])
    return code, json.loads(capsys.readouterr().out)


def forward(path, **kw):
    kw.setdefault("batch_size", 8)
    kw.setdefault("num_classes", 10)
    return forward_source(path, "lmdb", "datum", ForwardOptions(**kw))


def test_a_nan_record_among_unscaled_pixels_is_ds700_and_the_rest_one_ds702(make_lmdb):
    values = pixels()
    values[13, 1, 2, 3] = np.nan
    path = make_lmdb([(key(i), float_datum(values[i], i % 10)) for i in range(N)])
    r = forward(path)
    by_code = {}
    for f in r.findings:
        by_code.setdefault(f.code, []).append(f)
    assert set(by_code) == {"DS700", "DS702"}
    assert [(f.index, f.key) for f in by_code["DS700"]] == [(13, key(13).decode())]
    (dataset,) = by_code["DS702"]
    assert dataset.index is None and dataset.key is None and dataset.severity.value == "warning"
    assert "no scale or mean was given" in dataset.message and "--scale" in dataset.message
    assert f"of {N - 1} records" in dataset.message      # the NaN record has no finite norm
    # Scaled as the net would: the NaN record alone.
    scaled = forward(path, scale=1 / 256)
    assert [(f.code, f.index) for f in scaled.findings] == [("DS700", 13)]


def test_a_record_that_stands_out_is_ds701_with_or_without_the_scale(make_lmdb):
    values = pixels()
    values[21] *= 1e4                                  # 0..2.55e6: far larger than the rest
    path = make_lmdb([(key(i), float_datum(values[i], i % 10)) for i in range(N)])
    scaled = forward(path, scale=1 / 256)
    (f,) = scaled.findings
    assert (f.code, f.index) == ("DS701", 21)
    assert "stands out" in f.message and "median" in f.message
    unscaled = forward(path)
    codes = sorted((f.code, f.index if f.index is not None else -1) for f in unscaled.findings)
    assert ("DS701", 21) in codes and [c for c in codes if c[0] == "DS702"] == [("DS702", -1)]
    assert len(codes) == 2


def test_a_label_past_the_outputs_stays_the_records_own(make_lmdb):
    records = [(key(i), raw_datum(i % 10, seed=i, shape=SHAPE)) for i in range(N)]
    records[5] = (key(5), raw_datum(12, seed=5, shape=SHAPE))
    path = make_lmdb(records)
    got = {(f.code, f.index) for f in forward(path).findings}
    assert ("DS701", 5) in got and ("DS702", None) in got
    scaled = forward(path, scale=1 / 256)
    assert [(f.code, f.index) for f in scaled.findings] == [("DS701", 5)]
    assert "outside the net's 10 outputs" in scaled.findings[0].message


def test_regression_target_that_stands_out(make_lmdb):
    values = np.random.default_rng(2).random((N, 1, 4, 4), dtype=np.float32)
    records = [(key(i), float_datum(values[i], i % 3)) for i in range(N)]
    records[30] = (key(30), float_datum(values[30], 1_000_000_000))
    path = make_lmdb(records)
    r = forward(path, num_classes=None, loss="euclidean")
    assert [(f.code, f.index) for f in r.findings] == [("DS701", 30)]
    assert "target's L2 norm" in r.findings[0].message


def test_the_text_report_says_what_the_forward_pass_did(make_lmdb, capsys):
    path = make_lmdb([(key(i), raw_datum(i % 10, seed=i, shape=SHAPE)) for i in range(N)])
    assert main(["check", str(path), "--forward", "--quiet", "--no-cache", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "batch size 64 (the default; --batch-size sets it)" in out
    assert "inputs 0..255 as the net saw them" in out and "no record skipped" in out
    assert "DS702 warning" in out and " DS701 " not in out


def test_clean_from_the_report_keeps_the_records_a_dataset_cause_tripped(make_lmdb, tmp_path,
                                                                          capsys):
    values = pixels()
    values[7, 0, 0, 0] = np.nan
    path = make_lmdb([(key(i), float_datum(values[i], i % 10)) for i in range(N)])
    report = tmp_path / "report.json"
    code = main(["check", str(path), "--forward", "--batch-size", "8", "--num-classes", "10",
                 "--format", "json", "-o", str(report), "--quiet", "--no-cache", "--jobs", "1"])
    assert code == 1
    codes = {f["code"] for f in json.loads(report.read_text())["findings"]}
    assert {"DS700", "DS702"} <= codes and "DS701" not in codes
    capsys.readouterr()
    dst = tmp_path / "clean_lmdb"
    assert main(["clean", str(path), str(dst), "--from-report", str(report), "--num-classes",
                 "10", "--quiet", "--jobs", "1"]) == 0
    manifest = json.loads((tmp_path / "clean_lmdb.manifest.json").read_text())
    assert manifest["counts"]["kept"] == N - 1 and manifest["verification"]["ok"]
    assert [d["index"] for d in manifest["dropped"]] == [7]


@pytest.mark.parametrize("spread_decades", [0.0, 0.3])
def test_the_stand_out_threshold_is_robust(spread_decades):
    rng = np.random.default_rng(4)
    s = Spread()
    norms = 10 ** (3 + rng.uniform(-spread_decades, spread_decades, 10_000))
    s.add(norms)
    assert abs(s.median() - 3) < 0.05
    assert s.threshold() >= 3 + STAND_OUT_DECADES - 0.05
    assert not s.stands_out(float(norms.max())) and s.stands_out(1e5) and s.stands_out(np.inf)
    s.add(np.array([1e9] * 10))                      # a few outliers do not move the median
    assert abs(s.median() - 3) < 0.05 and s.stands_out(1e9)
