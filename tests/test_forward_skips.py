"""--forward on records it cannot feed and sources it cannot read: skipped records are counted
with the CHECK Caffe fails (never dropped silently), their iteration is not run, and a source
the pass cannot read keeps the scan's report ("forward pass not run on X: why", no exit 2)."""
from __future__ import annotations

import json

import numpy as np

from datascan.cli import main
from datascan.forward.runner import run_forward
from datascan.forward.transform import Transformer
from datascan.report import text
from conftest import encoded_datum, jpeg_bytes, key, png_bytes, raw_datum
from test_crnn import crnn_records


def run_json(capsys, *args) -> tuple[int, dict]:
    code = main(["check", *map(str, args), "--format", "json", "--quiet", "--jobs", "1",
                 "--no-cache"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out else {"stderr": out.err})


def block_of(report: dict, path) -> dict:
    return next(b for b in report["forward"] if b["path"] == str(path))


def _image_list(tmp_path):
    """Eight lines: line 3 names a missing file, line 5 is blank, line 7 is not an image."""
    root = tmp_path / "images"
    root.mkdir()
    lines = []
    for i in range(8):
        name = f"{i}.jpg"
        if i == 2:
            name = "missing.jpg"
        elif i == 4:
            lines.append("")
            continue
        elif i == 6:
            (root / name).write_bytes(b"not an image at all")
        else:
            (root / name).write_bytes(jpeg_bytes((16, 16), "RGB", seed=i))
        lines.append(f"{name} {i % 3}")
    lst = tmp_path / "train.txt"
    lst.write_text("\n".join(lines) + "\n")
    return lst, f"{root}/"


def test_unloadable_list_lines_are_skipped_with_imagedata_s_check(tmp_path, capsys):
    lst, root = _image_list(tmp_path)
    code, report = run_json(capsys, lst, "--root", root, "--forward", "--batch-size", "2",
                            "--num-classes", "3", "--scale", "0.00390625")
    assert code == 1                                  # the plain checks' errors, not exit 2
    block = block_of(report, lst)
    assert block["skipped"] == 3
    reasons = {x["reason"]: x["records"] for x in block["skipped_reasons"]}
    assert sum(reasons.values()) == 3
    assert all(r.startswith("Check failed: cv_img.data Could not load") for r in reasons)
    assert any("blank line" in r for r in reasons) and any("cannot be read" in r for r in reasons)
    # lines 3, 5 and 7 (#2, #4, #6) are in iterations 1, 2, 3: Caffe aborts on those batches
    assert [x is None for x in block["batch_losses"]] == [False, True, True, True]
    main(["check", str(lst), "--root", root, "--forward", "--batch-size", "2",
          "--num-classes", "3", "--scale", "0.00390625", "--jobs", "1"])
    out = capsys.readouterr().out
    assert "no record skipped" not in out and "3 records skipped" in out
    assert "1 of 4 iterations run" in out and "the first at iteration 1" in out


def test_undecodable_datum_and_mixed_shapes_quote_the_check_caffe_fails(make_lmdb, capsys):
    records = [(key(0), encoded_datum(png_bytes((51, 44), "RGB"))),       # 3x51x44 first
               (key(1), encoded_datum(png_bytes((33, 52), "RGB", seed=1))),   # 33 rows
               (key(2), encoded_datum(png_bytes((51, 44), "L", seed=2))),     # gray
               (key(3), encoded_datum(b"\x89PNG broken")),
               (key(4), encoded_datum(png_bytes((51, 44), "RGB", seed=4)))]
    path = make_lmdb(records)
    code, report = run_json(capsys, path, "--forward", "--batch-size", "8", "--num-classes", "3")
    assert code == 1
    reasons = {x["reason"] for x in block_of(report, path)["skipped_reasons"]}
    assert "Check failed: height <= img_height (51 vs. 33)" in reasons     # caffe-ref's log
    assert "Check failed: channels == img_channels (3 vs. 1)" in reasons
    # #3 decodes to nothing: Caffe goes on with an empty 1-channel image in a 3-channel batch
    assert "Could not decode datum: Check failed: channels == img_channels (3 vs. 1)" in reasons
    assert not any("datum_height" in r or "datum_channels" in r for r in reasons)


def test_raw_datums_quote_datum_checks():
    first = np.zeros((3, 8, 8), np.uint8)
    recs = [(0, "a", first, 0, "raw"), (1, "b", np.zeros((3, 9, 8), np.uint8), 0, "raw"),
            (2, "c", np.zeros((3, 7, 8), np.uint8), 0, "raw"),
            (3, "d", np.zeros((1, 8, 8), np.uint8), 0, "raw")]
    r = run_forward(recs, batch_size=4, transformer=Transformer(), num_classes=3, path="db")
    assert dict(r.skipped) == {1: "Check failed: datum_height == height (9 vs. 8)",
                               2: "Check failed: height <= datum_height (8 vs. 7)",
                               3: "Check failed: channels == datum_channels (3 vs. 1)"}
    assert r.batch_losses == [None]
    lines = text.forward_lines(r.block("db"))
    assert "0 of 1 iteration run" in lines[0] and "Caffe aborts on every batch" in lines[1]


def test_a_source_forward_cannot_read_keeps_the_report(make_lmdb, capsys):
    good = make_lmdb([(key(i), raw_datum(i % 3, seed=i)) for i in range(4)], name="good")
    crnn = make_lmdb(crnn_records(3), name="crnn")
    code, report = run_json(capsys, good, crnn, "--forward", "--batch-size", "2",
                            "--num-classes", "3", "--scale", "0.00390625")
    assert code == 0 and len(report["sources"]) == 2
    assert "not_run" not in block_of(report, good)
    assert "holds image+text records" in block_of(report, crnn)["not_run"]
    main(["check", str(good), str(crnn), "--forward", "--batch-size", "2", "--num-classes", "3",
          "--scale", "0.00390625", "--jobs", "1"])
    assert f"forward pass not run on {crnn}: --forward reads Caffe Datum" in capsys.readouterr().out


def test_crop_larger_than_the_records_keeps_the_shape_findings(make_lmdb, capsys):
    path = make_lmdb([(key(i), raw_datum(i % 3, seed=i)) for i in range(5)])
    code, report = run_json(capsys, path, "--crop-size", "227", "--forward", "--num-classes", "3")
    assert code == 1
    assert sum(f["code"] == "DS600" for f in report["findings"]) == 5
    assert "datum_height >= crop_size (8 vs. 227)" in block_of(report, path)["not_run"]


def test_ds702_under_a_net_blames_the_net_s_transform():
    rng = np.random.default_rng(0)
    recs = [(i, None, rng.integers(0, 256, (3, 32, 32), dtype=np.uint8), i % 10, "raw")
            for i in range(40)]
    plain = run_forward(recs, batch_size=4, transformer=Transformer(), num_classes=10, path="db")
    net = run_forward(recs, batch_size=4, transformer=Transformer(), num_classes=10, path="db",
                      from_net=True)
    [p], [n] = ([f for f in r.findings if f.code == "DS702"] for r in (plain, net))
    assert "--net" in p.message
    assert "--net" not in n.message
    assert "the net's own transform_param (no scale, no mean) leaves inputs spanning 0..255" \
        in n.message


def test_an_undecodable_datum_that_starts_its_batch():
    from datascan.caffe.netspec import TransformSpec
    from datascan.forward.records import IMAGE, UNDECODED
    image = np.zeros((3, 8, 8), np.uint8)
    recs = [(0, "a", None, UNDECODED, IMAGE), (1, "b", image, 0, IMAGE)]
    crop = Transformer.from_spec(TransformSpec(crop_size=4))
    r = run_forward(recs, batch_size=2, transformer=crop, num_classes=3, path="db")
    assert r.skipped == [(0, "Could not decode datum: Check failed: img_height >= crop_size "
                             "(0 vs. 4)")]
    r = run_forward(recs, batch_size=2, transformer=Transformer(), num_classes=3, path="db")
    assert "takes the empty image's shape (1x0x0)" in r.skipped[0][1]
