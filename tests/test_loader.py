"""DS403 and DS600 follow what Caffe's data layer does with the transform it is given
(checks/loader.py): an error exactly when the layer aborts, nothing when the transform makes
the record fine, and with Caffe's defaults (nothing said) the setting that would change it."""
from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from datascan import ScanConfig, check, clean, scan
from datascan.cli import main
from datascan.config import Transform
from datascan.decode.datum import encode_datum
from conftest import encoded_datum, jpeg_bytes, key, png_bytes, raw_datum, realdata


def run_json(capsys, *argv) -> tuple[int, dict]:
    code = main(["check", *map(str, argv), "--format", "json", "--quiet", "--no-cache"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out else {}


def found(report: dict, code: str | None = None) -> set[tuple]:
    return {(f["code"], f["index"], f["severity"]) for f in report["findings"]
            if code is None or f["code"] == code}


def png16(size=(24, 24)) -> bytes:
    h, w = size
    buf = io.BytesIO()
    Image.fromarray((np.arange(h * w, dtype=np.uint16).reshape(h, w) * 97)).save(buf, "PNG")
    return buf.getvalue()


def rgba_png(size=(24, 24)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", size[::-1], (10, 200, 30, 128)).save(buf, "PNG")
    return buf.getvalue()


def colour_set(make_lmdb, odd: dict[int, bytes], n: int = 8, size=(24, 24)):
    """n colour JPEG records of one size, the records of `odd` replaced."""
    records = [(key(i), encoded_datum(jpeg_bytes(size, seed=i), i % 3)) for i in range(n)]
    for i, image in odd.items():
        records[i] = (key(i), encoded_datum(image, i % 3))
    return make_lmdb(records)


# --------------------------------------------------------------------------- channels, 8 bits

def test_gray_jpeg_in_a_colour_set_is_an_error_unless_forced(make_lmdb, capsys):
    path = colour_set(make_lmdb, {3: jpeg_bytes((24, 24), mode="L")})
    code, report = run_json(capsys, path)
    assert code == 1 and found(report) == {("DS403", 3, "error")}
    message = report["findings"][0]["message"]
    assert "channels == img_channels (3 vs. 1)" in message
    assert "unless the net's transform_param sets force_color: true" in message
    assert report["options"]["transform"] == {"from": "defaults", "crop_size": 0,
                                              "force_color": False, "force_gray": False}
    for flag in ("--force-color", "--force-gray"):       # decoded to 3 / 1 channels: fine
        code, report = run_json(capsys, path, flag)
        assert code == 0 and report["findings"] == []
        assert report["options"]["transform"]["from"] == "options"
        assert report["options"]["transform"][flag[2:].replace("-", "_")] is True


def test_16bit_png_aborts_unless_forced_to_8_bits(make_lmdb, capsys):
    path = colour_set(make_lmdb, {2: png16()}, n=4)
    code, report = run_json(capsys, path, "--force-gray")
    assert code == 0 and report["findings"] == []   # imdecode(IMREAD_GRAYSCALE): 8 bits, 1 channel
    code, report = run_json(capsys, path)
    assert code == 1
    depth = [f for f in report["findings"] if "unsigned byte" in f["message"]]
    assert [(f["code"], f["index"], f["severity"]) for f in depth] == [("DS403", 2, "error")]
    assert "force_color: true (or force_gray: true), which decode it to 8 bits" in depth[0]["message"]


def test_16bit_png_as_a_bare_image_file_stays_a_warning(make_lmdb):
    # No Caffe layer reads bare image files (text-recognition sets): the decoder's note, warned.
    records = [(f"image-{i:09d}".encode(), png_bytes((16, 16), seed=i)) for i in range(1, 4)]
    records.append((b"image-000000004", png16((16, 16))))
    report = scan(make_lmdb(records))
    assert {(f.code, f.index, f.severity.value) for f in report.findings} == {("DS403", 3, "warning")}


def test_rgba_png_in_a_colour_set(make_lmdb, capsys):
    path = colour_set(make_lmdb, {5: rgba_png()})
    code, report = run_json(capsys, path)
    assert code == 1 and found(report) == {("DS403", 5, "error"), ("DS403", 5, "warning")}
    assert any("(3 vs. 4)" in f["message"] for f in report["findings"])
    code, report = run_json(capsys, path, "--force-color")
    assert code == 0 and report["findings"] == []


def test_force_color_and_force_gray_together(make_lmdb, tmp_path, capsys):
    path = colour_set(make_lmdb, {})
    assert main(["check", str(path), "--force-color", "--force-gray", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot set both force_color and force_gray" in err[0]
    net = data_net(tmp_path, ("data", path, "force_color: true force_gray: true"))
    code, report = run_json(capsys, "--net", net)
    assert code == 1 and [(f["code"], f["key"], f["severity"]) for f in report["findings"]] == [
        ("DS403", None, "error")]
    assert "aborts on the first encoded record" in report["findings"][0]["message"]


# ------------------------------------------------------------------------------- sizes, crop

def test_encoded_sizes_follow_crop_size(make_lmdb, capsys):
    path = colour_set(make_lmdb, {1: jpeg_bytes((40, 30), seed=1), 6: jpeg_bytes((20, 30), seed=6)})
    code, report = run_json(capsys, path)                       # no crop: the batch CHECKs
    assert code == 1 and found(report) == {("DS600", 1, "error"), ("DS600", 6, "error")}
    by_index = {f["index"]: f["message"] for f in report["findings"]}
    assert 'starts with a 24x24 image ("Check failed: img_height == height (40 vs. 24)")' in by_index[1]
    assert '"Check failed: height <= img_height (24 vs. 20)"' in by_index[6]
    assert by_index[6].endswith("unless the net's transform_param sets crop_size <= 20")
    code, report = run_json(capsys, path, "--crop-size", "20")   # <= every side: fine
    assert code == 0 and report["findings"] == []
    code, report = run_json(capsys, path, "--crop-size", "24")   # record 6 is 20 high
    assert code == 1 and found(report) == {("DS600", 6, "error")}
    assert "img_height >= crop_size (20 vs. 24)" in report["findings"][0]["message"]
    assert "crop_size 24 (--crop-size)" in report["findings"][0]["message"]


def test_one_size_smaller_than_crop_size_is_every_record(make_lmdb, capsys):
    path = colour_set(make_lmdb, {}, n=4, size=(16, 20))
    code, report = run_json(capsys, path, "--crop-size", "18")
    assert code == 1 and found(report) == {("DS600", i, "error") for i in range(4)}


def test_raw_datums_of_several_sizes_batch_with_a_crop(make_lmdb, capsys):
    records = [(key(i), raw_datum(i % 3, shape=(3, 8, 8), seed=i)) for i in range(8)]
    records[2] = (key(2), raw_datum(2, shape=(3, 10, 6), seed=2))
    path = make_lmdb(records)
    code, report = run_json(capsys, path)
    assert code == 1 and found(report) == {("DS600", 2, "error")}
    assert "unless the net's transform_param sets crop_size <= 6" in report["findings"][0]["message"]
    code, report = run_json(capsys, path, "--crop-size", "6")
    assert code == 0 and report["findings"] == []
    code, report = run_json(capsys, path, "--crop-size", "7")
    assert found(report) == {("DS600", 2, "error")}
    assert "datum_width >= crop_size (6 vs. 7)" in report["findings"][0]["message"]


def test_raw_datum_channels_are_not_forced(make_lmdb, capsys):
    # force_color applies to encoded Datums only: Caffe logs an error and the batch aborts.
    records = [(key(i), raw_datum(i % 3, shape=(3, 8, 8), seed=i)) for i in range(6)]
    records[4] = (key(4), raw_datum(1, shape=(1, 8, 8), seed=4))
    path = make_lmdb(records)
    for extra in ((), ("--crop-size", "8"), ("--force-color", "--crop-size", "4")):
        code, report = run_json(capsys, path, *extra)
        assert code == 1 and found(report) == {("DS600", 4, "error")}, extra
        assert "channels == datum_channels (3 vs. 1)" in report["findings"][0]["message"]
    assert "only for encoded datum" in report["findings"][0]["message"]


def test_python_api_takes_a_transform(make_lmdb):
    path = colour_set(make_lmdb, {3: jpeg_bytes((24, 24), mode="L"), 4: jpeg_bytes((30, 30))})
    assert {f.code for f in scan(path).findings} == {"DS403", "DS600"}
    config = ScanConfig(transform=Transform(crop_size=24, force_color=True, origin="options"))
    report = check(path, config=config)
    assert report.findings == ()
    assert dict(report.options.transform)["crop_size"] == 24


# ----------------------------------------------------------------------------------- --net

def data_net(tmp_path, *layers, name="net.prototxt"):
    """A net of Data layers (name, source, transform_param body), TRAIN then TEST, and a loss."""
    text = ""
    for n, (layer, source, transform) in enumerate(layers):
        phase = "" if len(layers) == 1 else f"include {{ phase: {('TRAIN', 'TEST')[n]} }} "
        text += (f'layer {{ name: "{layer}" type: "Data" top: "data" top: "label" {phase}'
                 f'transform_param {{ {transform} }} '
                 f'data_param {{ source: "{source}" backend: LMDB batch_size: 4 }} }}\n')
    text += ('layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" '
             'inner_product_param { num_output: 10 } }\n'
             'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" }\n')
    path = tmp_path / name
    path.write_text(text)
    return path


def test_each_data_layer_judges_its_own_source(make_lmdb, tmp_path, capsys):
    odd = {3: jpeg_bytes((24, 24), mode="L"), 5: jpeg_bytes((30, 28), seed=5)}
    train = colour_set(lambda r: make_lmdb(r, name="train_lmdb"), odd)
    test = colour_set(lambda r: make_lmdb(r, name="test_lmdb"), odd)
    net = data_net(tmp_path, ("train_data", train, "force_color: true crop_size: 24 mirror: true"),
                   ("test_data", test, "scale: 0.00390625"))
    code, report = run_json(capsys, "--net", net)
    assert code == 1
    assert {(f["path"].rsplit("/", 1)[-1], f["code"], f["index"]) for f in report["findings"]} == {
        ("test_lmdb", "DS403", 3), ("test_lmdb", "DS600", 5)}
    assert all("layer test_data's transform_param sets no" in f["message"] or
               "layer test_data's transform_param sets neither" in f["message"]
               for f in report["findings"])
    layers = report["options"]["transform"]["layers"]
    assert report["options"]["transform"]["from"] == "net"
    assert [(x["layer"], x["crop_size"], x["force_color"]) for x in layers] == [
        ("train_data", 24, True), ("test_data", 0, False)]
    assert main(["check", "--net", str(net), "--crop-size", "8", "--quiet"]) == 2
    assert "transform_param" in capsys.readouterr().err


def test_clean_keeps_what_the_transform_makes_fine(make_lmdb, tmp_path):
    path = colour_set(make_lmdb, {3: jpeg_bytes((24, 24), mode="L")})
    dropped = clean(path, tmp_path / "out_default", jobs=1)
    assert [d.index for d in dropped.dropped] == [3]
    config = ScanConfig(transform=Transform(force_color=True, origin="options"))
    kept = clean(path, tmp_path / "out_forced", config=config, jobs=1)
    assert kept.ok and kept.dropped == ()


def test_clean_from_a_report_made_with_another_transform_says_so(make_lmdb, tmp_path, capsys):
    path = colour_set(make_lmdb, {3: jpeg_bytes((24, 24), mode="L")})
    r = tmp_path / "r.json"
    assert main(["check", str(path), "--format", "json", "-o", str(r), "--quiet", "--no-cache"]) == 1
    assert main(["clean", str(path), str(tmp_path / "out"), "--from-report", str(r),
                 "--force-color", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "--crop-size/--force-color/--force-gray Caffe's defaults there, force_color here" in err


# -------------------------------------------------------------------- real Caffe (caffe-ref)

def caffe_ref_crash() -> str:
    log = realdata("caffe-ref", "train", "logs", "train_lmdb_encoded.log").read_text()
    line = next(x for x in log.splitlines() if "Check failed" in x)
    return line.split("Check failed: ", 1)[1].strip()


def test_caffe_ref_encoded_net_aborts_where_caffe_did(capsys):
    # net_lmdb_encoded.prototxt (scale only) over db/encoded_lmdb: caffe train exited 134 with
    # "Check failed: height <= img_height (51 vs. 33)" (MANIFEST.md section 4).
    net = realdata("caffe-ref", "train", "net_lmdb_encoded.prototxt")
    code, report = run_json(capsys, "--net", net)
    assert code == 1
    crash = caffe_ref_crash()
    assert crash == "height <= img_height (51 vs. 33)"
    sizes = [f for f in report["findings"] if f["code"] == "DS600"]
    assert len(sizes) == 1 and sizes[0]["severity"] == "error" and f'"Check failed: {crash}"' in \
        sizes[0]["message"]
    gray = [f for f in report["findings"] if f["code"] == "DS403"]
    assert len(gray) == 14 and {f["severity"] for f in gray} == {"error"}


def test_caffe_ref_encoded_with_crop_and_force_color_is_fine_but_the_truncated_jpeg(tmp_path, capsys):
    # The net: force_color: true and crop_size: 32 take every record of the set
    # (its smallest side is 33); what stays is the truncated JPEG that trains as gray rows.
    source = realdata("caffe-ref", "db", "encoded_lmdb")
    net = data_net(tmp_path, ("data", source, "force_color: true crop_size: 32 scale: 0.00390625"))
    for argv in (("--net", net), (source, "--crop-size", "32", "--force-color")):
        code, report = run_json(capsys, *argv)
        assert code == 1 and [(f["code"], f["key"]) for f in report["findings"]] == [
            ("DS401", "00000010_bad/truncated.jpg")], argv
    code, report = run_json(capsys, source, "--crop-size", "34", "--force-color")
    small = {f["key"] for f in report["findings"] if f["code"] == "DS600"}
    assert small and all(f["severity"] == "error" for f in report["findings"])


@pytest.mark.parametrize("argv", [["check", "{h5}", "--crop-size", "4"],
                                  ["check", "{h5}", "--force-color", "--forward"],
                                  ["check", "{db}", "{h5}", "--force-gray"],
                                  ["show", "{h5}", "#0", "--crop-size", "2"],
                                  ["clean", "{h5}", "{out}", "--force-color"]])
def test_a_transform_option_on_an_hdf5_source_is_refused_with_or_without_forward(
        argv, make_lmdb, tmp_path, capsys):
    """HDF5Data takes no transform_param (Caffe aborts on one): --crop-size / --force-*
    for an HDF5 source are one line and exit 2, as --forward always said."""
    from conftest import make_h5
    h5 = make_h5(tmp_path / "t.h5", data=np.zeros((4, 3, 8, 8), np.float32),
                 label=np.zeros(4, np.float32))
    db = make_lmdb([(key(0), raw_datum(label=0))])
    names = {"h5": str(h5), "db": str(db), "out": str(tmp_path / "out.h5")}
    assert main([a.format(**names) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HDF5Data takes no transform_param" in err
    assert not (tmp_path / "out.h5").exists()
    assert main(["check", str(h5), "--no-cache"]) == 0    # without them: judged as it is
