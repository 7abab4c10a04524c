"""--net as a user meets it (netcheck.py): ImageData's resize, scan options given with the net,
the net's own label map and MultiBoxLoss classes, missing sources, a source two layers read
with different transforms, the advice for a layer that cannot read its source's format, the
net block in the text and HTML reports, and clean --from-report with a --net report."""
from __future__ import annotations

import json

from datascan.cli import main

from conftest import encoded_datum, jpeg_bytes, key
from test_boxes import LABELMAP, annotated

LOSS = ('layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" '
        'inner_product_param { num_output: 3 } }\n'
        'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }\n')


def run(capsys, *argv, fmt="json") -> tuple[int, dict | str, str]:
    code = main(["check", *map(str, argv), "--format", fmt, "--quiet", "--no-cache"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out and fmt == "json" else out), err


def write_net(tmp_path, *layers: str, name="net.prototxt", loss=LOSS):
    path = tmp_path / name
    path.write_text("".join(layers) + loss)
    return path


def data_layer(name, source, transform="", phase="TRAIN"):
    return (f'layer {{ name: "{name}" type: "Data" top: "data" top: "label" '
            f'include {{ phase: {phase} }} transform_param {{ {transform} }} '
            f'data_param {{ source: "{source}" batch_size: 2 backend: LMDB }} }}\n')


def image_list(tmp_path, sizes) -> tuple:
    """An image list of colour JPEGs of the given (h, w) sizes under tmp_path/imgs/."""
    (tmp_path / "imgs").mkdir()
    lines = []
    for i, size in enumerate(sizes):
        (tmp_path / "imgs" / f"{i}.jpg").write_bytes(jpeg_bytes(size, seed=i))
        lines.append(f"{i}.jpg {i % 3}\n")
    listing = tmp_path / "list.txt"
    listing.write_text("".join(lines))
    return listing, str(tmp_path / "imgs") + "/"


def image_data(listing, root, extra="", transform=""):
    return (f'layer {{ name: "data" type: "ImageData" top: "data" top: "label" '
            f'transform_param {{ {transform} }} image_data_param {{ source: "{listing}" '
            f'root_folder: "{root}" batch_size: 2 {extra} }} }}\n')


def mixed_colour_set(make_lmdb):
    """8 colour 24x24 JPEGs but a gray one (#3) and a 20x20 one (#5)."""
    records = [(key(i), encoded_datum(jpeg_bytes((24, 24), seed=i), i % 3)) for i in range(8)]
    records[3] = (key(3), encoded_datum(jpeg_bytes((24, 24), mode="L"), 0))
    records[5] = (key(5), encoded_datum(jpeg_bytes((20, 20), seed=5), 2))
    return make_lmdb(records)


# ------------------------------------------------------------------ 1: ImageData's resize

def test_imagedata_resize_frees_sizes_and_crop_is_judged_on_the_new_size(tmp_path, capsys):
    listing, root = image_list(tmp_path, [(24, 32), (40, 30), (33, 52), (24, 32)])
    plain = write_net(tmp_path, image_data(listing, root), name="plain.prototxt")
    code, report, _ = run(capsys, "--net", plain)
    assert code == 1 and {f["code"] for f in report["findings"]} == {"DS600"}
    assert "Caffe's ImageData layer" in report["findings"][0]["message"]
    resized = write_net(tmp_path, image_data(listing, root, "new_height: 40 new_width: 40"),
                        name="resized.prototxt")
    code, report, _ = run(capsys, "--net", resized)
    assert code == 0 and report["findings"] == []
    assert report["options"]["transform"]["layers"][0]["resize"] == [40, 40]
    code, text, _ = run(capsys, "--net", resized, fmt="text")
    assert "resized to 40x40" in text
    cropped = write_net(tmp_path, image_data(listing, root, "new_height: 64 new_width: 64",
                                             "crop_size: 48"), name="cropped.prototxt")
    code, report, _ = run(capsys, "--net", cropped)
    assert code == 0 and report["findings"] == []
    too_big = write_net(tmp_path, image_data(listing, root, "new_height: 40 new_width: 40",
                                             "crop_size: 48"), name="big.prototxt")
    code, report, _ = run(capsys, "--net", too_big)
    assert code == 1 and [f["code"] for f in report["findings"]] == ["DS600"]
    assert "resized to 40x40" in report["findings"][0]["message"]
    # the forward pass does not resize: it says so instead of a wrong crop error
    code, report, err = run(capsys, "--net", cropped, "--forward")
    assert code == 0 and err == ""
    assert "does not resize" in report["forward"][0]["not_run"]


# ------------------------------------------------------------------ 2: scan options with --net

def test_label_options_apply_to_every_layer_and_others_are_refused(make_lmdb, tmp_path, capsys):
    db = make_lmdb([(key(i), encoded_datum(jpeg_bytes((24, 24), seed=i), i)) for i in range(6)])
    net = write_net(tmp_path, data_layer("d", db), loss="")    # no loss: no num_classes
    code, report, _ = run(capsys, "--net", net)
    assert code == 0
    code, report, _ = run(capsys, "--net", net, "--num-classes", "4")
    assert code == 1 and {(f["code"], f["index"]) for f in report["findings"]} == {
        ("DS500", 4), ("DS500", 5)}
    assert report["options"]["num_classes"] == 4
    code, report, _ = run(capsys, "--net", net, "--num-classes", "4", "--ignore-label", "5")
    assert {f["index"] for f in report["findings"]} == {4}
    for flag in (("--root", "x/"), ("--label-dataset", "y"), ("--source-format", "lmdb")):
        code, _, err = run(capsys, "--net", net, *flag)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "--net" in err


def test_ssd_net_reads_its_label_map_and_multibox_classes(make_lmdb, tmp_path, capsys):
    db = make_lmdb([(key(i), annotated(seed=i)) for i in range(3)] +
                   [(key(3), annotated([(5, [(0.1, 0.1, 0.2, 0.2)])], seed=3))])
    labelmap = tmp_path / "labelmap.prototxt"
    labelmap.write_text(LABELMAP)
    layer = ('layer { name: "data" type: "AnnotatedData" top: "data" top: "label" '
             f'data_param {{ source: "{db}" batch_size: 2 backend: LMDB }} '
             '%s }\n')
    multibox = ('layer { name: "mbox_loss" type: "MultiBoxLoss" bottom: "loc" bottom: "conf" '
                'bottom: "prior" bottom: "label" multibox_loss_param { num_classes: 3 } }\n')
    net = write_net(tmp_path, layer % "", loss=multibox)
    code, report, _ = run(capsys, "--net", net)          # num_classes 3 from MultiBoxLoss
    assert code == 1 and [(f["code"], f["index"]) for f in report["findings"]] == [("DS521", 3)]
    assert "outside [0, 3)" in report["findings"][0]["message"]
    with_map = write_net(tmp_path, layer % f'annotated_data_param {{ label_map_file: "{labelmap}" }}',
                         name="map.prototxt", loss="")
    code, report, _ = run(capsys, "--net", with_map)
    assert code == 1 and "not in the label map" in report["findings"][0]["message"]
    code, _, err = run(capsys, "--net", net, "--label-map", tmp_path / "nonexistent")
    assert code == 2 and "cannot read label map" in err
    bad_map = write_net(tmp_path, layer % 'annotated_data_param { label_map_file: "nothere" }',
                        name="badmap.prototxt", loss="")
    code, _, err = run(capsys, "--net", bad_map)
    assert code == 2 and "label_map_file" in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------ 3: notes, missing sources

def test_missing_source_is_an_error_and_shown(make_lmdb, tmp_path, capsys):
    db = mixed_colour_set(make_lmdb)
    net = write_net(tmp_path, data_layer("d1", db, "force_color: true crop_size: 16"),
                    data_layer("d2", tmp_path / "nothere", phase="TEST"))
    code, report, _ = run(capsys, "--net", net)
    assert code == 1 and [(f["code"], f["severity"]) for f in report["findings"]] == [
        ("DS100", "error")]
    assert "layer 'd2' (TEST)" in report["findings"][0]["message"]
    code, text, _ = run(capsys, "--net", net, fmt="text")
    assert "layer 'd2' (TEST) reads" in text and "note: source not found" in text
    assert "layer 'd1' (TRAIN) reads" in text and "judged with crop_size 16, force_color" in text
    out = tmp_path / "r.html"
    assert main(["check", "--net", str(net), "--format", "html", "-o", str(out), "--quiet"]) == 1
    page = out.read_text()
    assert 'id="net"' in page and "source not found" in page


def test_a_source_two_layers_read_is_judged_with_each_transform(make_lmdb, tmp_path, capsys):
    db = mixed_colour_set(make_lmdb)
    net = write_net(tmp_path, data_layer("d1", db, "force_color: true crop_size: 16"),
                    data_layer("d2", db, phase="TEST"))
    code, report, _ = run(capsys, "--net", net)
    assert code == 1 and {(f["code"], f["index"]) for f in report["findings"]} == {
        ("DS403", 3), ("DS600", 5)}
    assert all("layer d2's" in f["message"] for f in report["findings"])
    assert len(report["sources"]) == 1
    notes = [x["notes"] for x in report["net"]["layers"]]
    assert notes[0] == [] and "judged with each" in notes[1][0]


# ------------------------------------------------------------------ 9: the layer for the format

def test_a_layer_that_cannot_read_its_source_is_told_the_right_layer(make_lmdb, tmp_path, capsys):
    db = make_lmdb([(key(i), encoded_datum(jpeg_bytes((24, 24), seed=i), 0)) for i in range(2)])
    listing, root = image_list(tmp_path, [(24, 24)])
    data_over_list = write_net(tmp_path, data_layer("d", listing), name="a.prototxt")
    code, _, err = run(capsys, "--net", data_over_list)
    assert code == 2 and "an image list is read by an ImageData layer (image_data_param" in err
    assert "IMAGELIST" not in err
    list_over_lmdb = write_net(tmp_path, image_data(db, root), name="b.prototxt")
    code, _, err = run(capsys, "--net", list_over_lmdb)
    assert code == 2 and "use a Data layer with backend: LMDB" in err
    assert "data_param says so" not in err


# ------------------------------------------------------------------ 8: clean --from-report

def test_clean_from_a_net_report_verifies_with_the_layers_transform(make_lmdb, tmp_path, capsys):
    db = mixed_colour_set(make_lmdb)
    net = write_net(tmp_path, data_layer("d1", db, "force_color: true crop_size: 16"))
    r = tmp_path / "one.json"
    assert main(["check", "--net", str(net), "--format", "json", "-o", str(r), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["clean", str(db), str(tmp_path / "out"), "--from-report", str(r), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "layer 'd1' judged" in err and "crop_size 16, force_color" in err
    assert "(none) there" not in err


def test_ds131_under_net_names_root_folder_not_root(tmp_path, capsys):
    listing, root = image_list(tmp_path, [(24, 24), (24, 24)])
    net = write_net(tmp_path, image_data(listing, root.rstrip("/")))
    code, report, _ = run(capsys, "--net", net)
    ds131 = [f["message"] for f in report["findings"] if f["code"] == "DS131"]
    assert ds131 and "set image_data_param root_folder:" in ds131[0] and "--root" not in ds131[0]
