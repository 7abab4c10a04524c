"""SSD detection sets (AnnotatedDatum LMDBs): the type, box labels and corners judged as SSD's
AnnotatedData layer and MultiBoxLoss would, on LMDBs written here and on a real one."""
from __future__ import annotations

import json
import math

import pytest

from datascan import scan
from datascan.caffe.labelmap import read_label_map
from datascan.caffe.proto import message_class
from datascan.checks.record import RecordChecker
from datascan.checks.summary import ShardSummary
from datascan.cli import main
from datascan.config import BOXES_LISTED, ScanConfig
from datascan.decode.datum import ANNOTATED, DATUM
from datascan.errors import UsageError

from conftest import jpeg_bytes, key, raw_datum, realdata, tree_state

GOOD = [(1, [(0.1, 0.2, 0.5, 0.6), (0.0, 0.0, 1.0, 1.0)]), (2, [(0.3, 0.3, 0.4, 0.9)])]


def annotated(groups=GOOD, *, anno_type: int | None = 0, raw: bool = False, seed: int = 0,
              label: int | None = -1) -> bytes:
    """An AnnotatedDatum as convert_annoset writes it: an encoded JPEG (or raw pixels) under
    label -1, and groups of (group_label or None, [box or None, ...]) with box = 4 corners."""
    msg = message_class("AnnotatedDatum")()
    if raw:
        msg.datum.ParseFromString(raw_datum(label=0, shape=(3, 6, 6), seed=seed))
    else:
        msg.datum.data, msg.datum.encoded = jpeg_bytes(seed=seed), True
        msg.datum.channels, msg.datum.height, msg.datum.width = 3, 24, 32
    if label is not None:
        msg.datum.label = label
    if anno_type is not None:
        msg.type = anno_type
    for group_label, boxes in groups:
        g = msg.annotation_group.add()
        if group_label is not None:
            g.group_label = group_label
        for i, box in enumerate(boxes):
            a = g.annotation.add(instance_id=i)
            if box is not None:
                a.bbox.xmin, a.bbox.ymin, a.bbox.xmax, a.bbox.ymax = box
    return msg.SerializeToString()


LABELMAP = """item { name: "none_of_the_above" label: 0 display_name: "background" }
item { name: "cat" label: 1 display_name: "cat" }
item { name: "dog" label: 2 display_name: "dog" }
"""


@pytest.fixture
def label_map(tmp_path):
    path = tmp_path / "labelmap.prototxt"
    path.write_text(LABELMAP)
    return path


def findings(report):
    return [(f.code, f.severity.value, f.key, f.message) for f in report.findings]


def test_a_clean_detection_set_has_no_findings_and_its_inner_label_minus_one_is_not_a_class(
        make_lmdb, label_map):
    db = make_lmdb([(key(i), annotated(seed=i)) for i in range(5)])
    for report in (scan(db), scan(db, num_classes=3), scan(db, label_map=label_map),
                   scan(db, num_classes=3, label_map=label_map, ignore=("DS61",))):
        assert report.sources[0].encoding == "annotated_datum"
        assert findings(report) == []
    report = scan(db, num_classes=3)
    assert report.sources[0].labels.histogram == {1: 5, 2: 5}   # records holding each box class


FAULTS = [   # (what, the record, scan options, code, severity, words of the message)
    ("no type", annotated(anno_type=None), {}, "DS520", "error", ["Some datum misses AnnotationType"]),
    ("type not BBOX", annotated(anno_type=3), {}, "DS520", "error", ["type 3 is not BBOX"]),
    ("label past the classes", annotated([(5, [(0.1, 0.1, 0.2, 0.2)])]), {"num_classes": 3},
     "DS521", "error", ["group 0", "label 5 outside [0, 3)"]),
    ("negative label", annotated([(-2, [(0.1, 0.1, 0.2, 0.2)])]), {}, "DS521", "error",
     ["label -2 is negative"]),
    ("label not in the map", annotated([(1, [(0.1, 0.1, 0.2, 0.2)]), (7, [(0.1, 0.1, 0.2, 0.2)])]),
     {"label_map": True}, "DS521", "error", ["group 1", "label 7 is not in the label map", "0..2"]),
    ("background label", annotated([(0, [(0.1, 0.1, 0.2, 0.2)])]), {"label_map": True}, "DS522",
     "error", ["label 0 (background)", "Found background label in the dataset."]),
    ("no group_label", annotated([(None, [(0.1, 0.1, 0.2, 0.2)])]), {}, "DS522", "error",
     ["no group_label"]),
    ("NaN corner", annotated([(1, [(0.1, 0.1, 0.2, 0.2), (0.1, math.nan, 0.2, 0.2)])]), {},
     "DS523", "error", ["group 0 box 1", "ymin=nan"]),
    ("inf corner", annotated([(1, [(0.1, 0.1, math.inf, 0.2)])]), {}, "DS523", "error", ["xmax=inf"]),
    ("inverted x", annotated([(1, [(0.7, 0.1, 0.3, 0.5)])]), {}, "DS524", "error",
     ["xmin > xmax", "xmin=0.7", "xmax=0.3"]),
    ("inverted y", annotated([(1, [(0.1, 0.9, 0.3, 0.5)])]), {}, "DS524", "error", ["ymin > ymax"]),
    ("zero area", annotated([(2, [(0.4, 0.1, 0.4, 0.5)])]), {}, "DS524", "error", ["zero area"]),
    ("no bbox", annotated([(1, [None])]), {}, "DS524", "error", ["without a bbox"]),
    ("a pixel past the edge", annotated([(1, [(-0.01, 0.1, 0.5, 1.002)])]), {}, "DS525",
     "warning", ["clipped", "xmin=-0.01", "ymax=1.002"]),
    ("pixel coordinates", annotated([(1, [(48, 30, 195, 171)])]), {}, "DS526", "error",
     ["outside the image", "pixel coordinates?", "xmin=48"]),
    ("left of the image", annotated([(1, [(-0.5, 0.1, -0.1, 0.5)])]), {}, "DS526", "error",
     ["outside the image"]),
    ("empty group", annotated([(1, [(0.1, 0.1, 0.2, 0.2)]), (2, [])]), {}, "DS527", "warning",
     ["group 1 (label 2) has no box"]),
    ("no annotation", annotated([]), {}, "DS528", "warning", ["no box"]),
]


@pytest.mark.parametrize("what, record, options, code, severity, words", FAULTS,
                         ids=[f[0] for f in FAULTS])
def test_each_fault_is_one_finding_naming_the_record_and_the_box(
        make_lmdb, label_map, what, record, options, code, severity, words):
    records = [(key(i), annotated(seed=i)) for i in range(4)]
    records[2] = (key(2, "bad.jpg"), record)
    db = make_lmdb(records)
    if options.pop("label_map", False):
        options["label_map"] = label_map
    report = scan(db, ignore=("DS61",), **options)
    assert [(c, s, k) for c, s, k, _ in findings(report)] == [(code, severity, "00000002_bad.jpg")]
    message = report.findings[0].message
    assert all(w in message for w in words), message


def test_an_empty_only_group_is_also_a_record_without_boxes(make_lmdb):
    report = scan(make_lmdb([(key(0), annotated([(1, [])]))]))
    assert sorted(f.code for f in report.findings) == ["DS527", "DS528"]


def test_a_record_of_many_bad_boxes_lists_a_few_and_counts_the_rest(make_lmdb):
    boxes = [(0.9, 0.1, 0.1 + i / 1000, 0.5) for i in range(30)]      # every one inverted
    report = scan(make_lmdb([(key(0), annotated([(1, boxes)]))]))
    messages = [f.message for f in report.findings if f.code == "DS524"]
    assert len(messages) == BOXES_LISTED + 1
    more = [m for m in messages if m.startswith(f"{30 - BOXES_LISTED} more boxes")]
    named = sorted(int(m.split(":")[0].split()[-1]) for m in messages if m not in more)
    assert len(more) == 1 and named == list(range(BOXES_LISTED))


def test_annotated_records_never_take_the_raw_datum_batch_path(make_lmdb):
    """Raw pixels inside an AnnotatedDatum: the batch path (rawbatch.py) is for plain Datums
    only, so a batch of AnnotatedDatums is checked one record at a time, boxes and all."""
    assert RecordChecker("db", ANNOTATED, ScanConfig(), ShardSummary()).batches is None
    bad = annotated([(1, [(0.7, 0.1, 0.3, 0.5)])], raw=True, seed=1000)
    records = [(key(i), annotated(raw=True, seed=i)) for i in range(200)]
    records[150] = (key(150), bad)
    db = make_lmdb(records)
    for jobs in (1, 2):
        report = scan(db, num_classes=3, jobs=jobs)
        assert report.sources[0].encoding == "annotated_datum"
        assert [(f.code, f.key) for f in report.findings] == [("DS524", "00000150")]


def test_an_annotated_record_in_a_set_of_plain_datums_is_not_proven_clean(make_lmdb):
    """A plain-Datum set proves its records a batch at a time; an AnnotatedDatum among them
    does not match the learnt layout, takes the per-record checks, and is a finding."""
    records = [(key(i), raw_datum(label=i % 3, shape=(3, 6, 6), seed=i)) for i in range(100)]
    records[60] = (key(60), annotated(raw=True, seed=60))
    report = scan(make_lmdb(records), num_classes=3)
    assert report.sources[0].encoding == DATUM
    assert {f.key for f in report.findings} == {"00000060"}


def test_a_record_that_is_not_an_annotated_datum_in_a_detection_set_is_ds200(make_lmdb):
    records = [(key(i), annotated(seed=i)) for i in range(5)] + [(key(5), b"\x0a\xff\xff")]
    report = scan(make_lmdb(records), ignore=("DS61",))
    assert [(f.code, f.key) for f in report.findings] == [("DS200", "00000005")]


# ------------------------------------------------------------------------- the label map

def test_the_label_map_is_read_with_its_names(label_map):
    lm = read_label_map(label_map)
    assert lm.labels == (0, 1, 2) and lm.name(0) == "background" and lm.name(9) is None


@pytest.mark.parametrize("text, words", [
    ("", "has no item"),
    ("layer { name: 'data' type: 'Data' }", "has no item"),       # a net, not a label map
    ("item { name: 'a' label: 1 }\nitem { name: 'b' label: 1 }", "duplicate label 1"),
    ("item { name: 'a' label: 1 }\nitem { name: 'a' label: 2 }", "duplicate name 'a'"),
    ("item { name: 'a' label: one }", "not a Caffe LabelMap"),
    (b"\xff\xfe item", "not text"),
])
def test_an_invalid_label_map_is_one_line_and_exit_2(make_lmdb, tmp_path, capsys, text, words):
    db = make_lmdb([(key(0), annotated())])
    path = tmp_path / "bad.prototxt"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(UsageError, match=words):
        read_label_map(path)
    assert main(["check", str(db), "--label-map", str(path), "-q", "--no-cache"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and err[0].startswith("datascan: error: ")


def test_a_missing_label_map_is_one_line_and_exit_2(make_lmdb, tmp_path, capsys):
    db = make_lmdb([(key(0), annotated())])
    assert main(["check", str(db), "--label-map", str(tmp_path / "none.prototxt"), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot read label map" in err[0]


def test_check_with_a_label_map_end_to_end(make_lmdb, label_map, tmp_path, capsys):
    db = make_lmdb([(key(0), annotated()), (key(1), annotated([(9, [(0.1, 0.1, 0.2, 0.2)])], seed=1))])
    out = tmp_path / "report.json"
    assert main(["check", str(db), "--label-map", str(label_map), "--format", "json",
                 "-o", str(out), "-q"]) == 1
    report = json.loads(out.read_text())
    assert [(f["code"], f["key"]) for f in report["findings"]] == [("DS521", "00000001")]
    assert report["options"]["label_map"] == str(label_map)
    assert main(["check", str(db), "--label-map", str(label_map), "--select", "DS528", "-q"]) == 0
    capsys.readouterr()
    assert main(["check", str(db), "--label-map", str(label_map), "-q", "--no-cache"]) == 1
    out = capsys.readouterr().out
    assert "DS521 error label 9 is not in the label map" in out and "label 9 \u00d7 1" in out


def test_clean_drops_the_records_whose_boxes_stop_training(make_lmdb, label_map, tmp_path):
    db = make_lmdb([(key(0), annotated()), (key(1), annotated([(0, [(0.1, 0.1, 0.2, 0.2)])], seed=1)),
                    (key(2), annotated([], seed=2))])
    assert main(["clean", str(db), str(tmp_path / "clean_lmdb"), "--label-map", str(label_map),
                 "-q"]) == 0
    kept = scan(tmp_path / "clean_lmdb")
    assert kept.records == 2 and [f.code for f in kept.findings] == ["DS528"]   # a warning stays


# ------------------------------------------------------------------------------- real data

SSD = "cooparation-ssd-play-annotated-lmdb"


def test_the_real_ssd_set_has_one_image_without_boxes_and_labels_from_its_map():
    root = realdata(SSD)
    trainval = root / "testLabelImgs" / "lmdb" / "testLabelImgs_trainval_lmdb"
    test = root / "testLabelImgs" / "lmdb" / "testLabelImgs_test_lmdb"
    labelmap = root / "data" / "labelmap_voc.prototxt"
    before = tree_state(trainval)
    report = scan([trainval, test], label_map=labelmap, num_classes=21)
    assert [s.records for s in report.sources] == [18, 2]
    assert [(f.code, f.severity.value, f.key) for f in report.findings] == [
        ("DS528", "warning", "00000011_testLabelImgs/JPEGImages/000255.jpg")]
    assert dict(report.sources[0].labels.histogram) == {1: 9, 2: 9}
    # 2 classes only (background and one more): every box of class 2 stops MultiBoxLoss
    narrow = scan(trainval, num_classes=2)
    assert {f.code for f in narrow.findings} == {"DS521", "DS528"}
    assert sum(f.code == "DS521" for f in narrow.findings) == 9
    assert tree_state(trainval) == before


def test_show_lists_the_boxes_of_a_record(make_lmdb, capsys):
    db = make_lmdb([(key(0), annotated([(1, [(0.7, 0.1, 0.3, 0.5)]), (2, [])], anno_type=None))])
    assert main(["show", str(db), "00000000"]) == 0
    out = capsys.readouterr().out
    assert "annotation   type missing, 2 groups" in out
    assert "label 1, 1 box: (0.7 0.1 0.3 0.5)" in out and "label 2, 0 boxes" in out
    assert "DS524" in out and "DS520" in out and "DS527" in out


@pytest.mark.parametrize("fatal, code", [
    ("Check failed: background_label_id != label (0 vs. 0) Found background label in the dataset.",
     "DS522"),
    ("Check failed: sampled_datum->has_type() Some datum misses AnnotationType.", "DS520"),
])
def test_the_doctor_sends_ssd_aborts_to_the_box_checks(tmp_path, fatal, code):
    from datascan import doctor
    from doctor_logs import glog, iteration, start
    lines = start() + iteration(0, 2.3) + [glog(fatal, "F", "bbox_util.cpp:946"),
                                           "*** Check failure stack trace: ***"]
    log = tmp_path / "train.log"
    log.write_text("\n".join(lines) + "\n")
    report = doctor(log, data=False)
    crash = [f for f in report.findings if f.code == "DS809"]
    assert crash and code in crash[0].message, crash


def test_the_picture_of_a_record_outlines_its_boxes():
    from datascan.report.thumbs import BOX_RGB, picture
    pic = picture(annotated([(1, [(0.25, 0.25, 0.75, 0.75), (math.nan, 0, 1, 1)]),
                             (2, [(2.0, 2.0, 3.0, 3.0)])]), ANNOTATED)
    assert pic.caption.endswith("1 box outlined in green"), pic.caption   # NaN, outside: not drawn
    h, w = pic.pixels.shape[:2]
    assert (pic.pixels[int(0.25 * (h - 1)), w // 2] == BOX_RGB).all()      # the top edge
    assert not (pic.pixels[h // 2, w // 2] == BOX_RGB).all()               # not filled


def test_clean_from_a_report_made_with_another_label_map_warns(make_lmdb, label_map, tmp_path,
                                                               capsys):
    db = make_lmdb([(key(0), annotated()), (key(1), annotated([(9, [(0.1, 0.1, 0.2, 0.2)])], seed=1))])
    report = tmp_path / "r.json"
    assert main(["check", str(db), "--label-map", str(label_map), "--format", "json",
                 "-o", str(report), "-q"]) == 1
    args = ["clean", str(db), "--from-report", str(report), "-q"]
    assert main([*args[:2], str(tmp_path / "a"), *args[2:], "--label-map", str(label_map)]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main([*args[:2], str(tmp_path / "b"), *args[2:]]) == 0
    err = capsys.readouterr().err
    assert f"--label-map {label_map} there, (none) here" in err


@pytest.mark.parametrize("inner", [7, None])
def test_the_inner_datum_label_of_a_detection_record_is_never_judged(make_lmdb, inner):
    """AnnotatedData takes the classes from the box groups; the inner label (-1 as
    convert_annoset writes it, or anything else, or none) is not one."""
    db = make_lmdb([(key(i), annotated(seed=i, label=inner)) for i in range(3)])
    report = scan(db, num_classes=3)
    assert findings(report) == [] and report.sources[0].labels.histogram == {1: 3, 2: 3}


def _ssd_gray_and_sizes() -> list[tuple[bytes, bytes]]:
    """Colour 32x24 SSD records, one gray and one of another size."""
    def record(image: bytes, c: int, h: int, w: int) -> bytes:
        msg = message_class("AnnotatedDatum")()
        msg.ParseFromString(annotated())
        msg.datum.data = image
        msg.datum.channels, msg.datum.height, msg.datum.width = c, h, w
        return msg.SerializeToString()
    return [(key(0, "a.jpg"), record(jpeg_bytes(seed=0), 3, 24, 32)),
            (key(1, "b.jpg"), record(jpeg_bytes(seed=1), 3, 24, 32)),
            (key(2, "gray.jpg"), record(jpeg_bytes(mode="L", seed=2), 1, 24, 32)),
            (key(3, "big.jpg"), record(jpeg_bytes((40, 30), seed=3), 3, 30, 40))]


def test_a_gray_image_in_a_colour_ssd_set_is_ds403_unless_forced_and_sizes_are_free(make_lmdb):
    """AnnotatedData resizes (resize_param), so sizes are free, but it decodes channels as
    the Data layer does: a gray image among colour ones aborts unless force_color."""
    from datascan.config import Transform
    db = make_lmdb(_ssd_gray_and_sizes())
    got = findings(scan(db))
    assert [(c, s, k) for c, s, k, _ in got] == [("DS403", "error", "00000002_gray.jpg")]
    assert "channels == img_channels (3 vs. 1)" in got[0][3]
    forced = ScanConfig(transform=Transform(force_color=True, origin="options"))
    assert findings(scan(db, config=forced)) == []


def test_the_background_label_is_said_once(make_lmdb, label_map):
    db = make_lmdb([(key(0), annotated([(0, [(0.1, 0.1, 0.2, 0.2)])]))])
    (msg,) = [m for c, _, _, m in findings(scan(db, label_map=label_map)) if c == "DS522"]
    assert msg.startswith("label 0 (background) is MultiBoxLoss's background_label_id, group 0")
    assert "is the background label" not in msg
