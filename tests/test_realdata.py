"""Reality check: datasets made by other people's tools and by the real Caffe tools."""
from __future__ import annotations

import pytest

from datascan import scan
from datascan.cli import main
from conftest import realdata, tree_state

# (path under realdata, records) — counts from PROVENANCE.md and caffe-ref/MANIFEST.md
DATUM_DBS = [
    ("bharadwajmp-cat-dog-lmdb/test_lmdb", 20),
    ("elenajhy-verifycode-lmdb/data/test_lmdb", 400),
    ("jnulzl-minicaffepython-lmdb/test_lmdb", 380),
    ("jnulzl-minicaffepython-lmdb/train_lmdb", 380),
    ("lijinging-misustc-windows-lmdb/test_lmdb", 1000),
    ("liruoteng-crf-flow-lmdb/train_images_lmdb", 1),
    ("liruoteng-crf-flow-lmdb/train_labels_lmdb", 1),
    ("seeker-awe-catsdogs-lmdb/commit-26e0f8e/input/validation_lmdb", 7),
    ("seeker-awe-catsdogs-lmdb/commit-8241281/input/train_lmdb", 3),
    ("seeker-awe-catsdogs-lmdb/commit-8241281/input/validation_lmdb", 1),
    ("sujack1-caffestart-lmdb/test_lmdb", 8),
    ("sujack1-caffestart-lmdb/train_lmdb", 12),
    ("wateryym-authorship-lmdb/data/test_lmdb", 17),
    ("wateryym-authorship-lmdb/data/train_lmdb", 38),
    ("wateryym-authorship-lmdb/test_lmdb", 17),
    ("wateryym-authorship-lmdb/train_lmdb", 38),
    ("yeungalan0-minecraft-ai-lmdb/train_lmdb", 32),
    ("zhaowei-cnn-image-classify-lmdb/test", 10000),
    ("zhaowei-cnn-image-classify-lmdb/validate", 10000),
    ("itortoise-mycaffe-siamese-leveldb/examples/imagenet/ilsvrc12_train_lmdb", 0),
    ("pl8787-exp-caffe-mnist-leveldb/examples/mnist/mnist-test-leveldb", 10000),
    ("itortoise-mycaffe-siamese-leveldb/examples/siamese/mnist_siamese_test_leveldb", 10000),
    ("cooparation-ssd-play-annotated-lmdb/testLabelImgs/lmdb/testLabelImgs_trainval_lmdb", 18),
    ("cooparation-ssd-play-annotated-lmdb/testLabelImgs/lmdb/testLabelImgs_test_lmdb", 2),
]


@pytest.mark.parametrize("rel, count", DATUM_DBS)
def test_real_datum_databases_scan_clean_with_right_counts(rel, count):
    path = realdata(*rel.split("/"))
    before = tree_state(path)
    report = scan(path, ignore=("DS61",))   # (zhaowei's sets hold real copies: test_duplicates.py)
    assert report.records == count
    if count == 0:    # an LMDB that convert_imageset left empty: Caffe cannot train on it
        assert [f.code for f in report.findings] == ["DS106"]
    else:
        assert report.errors == 0, [f for f in report.findings][:3]
    assert tree_state(path) == before


def test_mnist_leveldb_labels_are_mnist():
    report = scan(realdata("pl8787-exp-caffe-mnist-leveldb", "examples", "mnist", "mnist-test-leveldb"),
                  num_classes=10)
    assert report.findings == ()
    hist = report.sources[0].labels.histogram
    assert hist[0] == 980 and hist[1] == 1135 and hist[9] == 1009


@pytest.mark.parametrize("db", ["encoded_lmdb", "encoded_leveldb"])
def test_caffe_ref_encoded_errors_are_where_caffe_aborts(db):
    # Caffe's defaults (no crop_size, no force_color): its Data layer aborted on the sizes
    # (MANIFEST.md: "height <= img_height (51 vs. 33)") and would on the gray images;
    # tests/test_loader.py runs the caffe-ref net and a net that crops and forces colour.
    report = scan(realdata("caffe-ref", "db", db), num_classes=10)
    assert report.records == 57
    errors = [(f.code, f.key) for f in report.findings if f.severity.value == "error"]
    assert ("DS401", "00000010_bad/truncated.jpg") in errors and ("DS600", None) in errors
    gray = {key for code, key in errors if code == "DS403"}
    assert len(gray) == 14 and all("gray/" in k for k in gray)
    assert len(errors) == 16 and report.warnings == 0


@pytest.mark.parametrize("db", ["raw32_lmdb", "raw32_leveldb"])
def test_caffe_ref_raw32_warns_on_the_gray_filled_record(db):
    report = scan(realdata("caffe-ref", "db", db), num_classes=10)
    assert report.records == 57
    assert [(f.code, f.key, f.severity.value) for f in report.findings] == [
        ("DS303", "00000010_bad/truncated.jpg", "warning")]


def test_32bit_lmdb_is_one_clear_line(capsys):
    path = realdata("chitrang6-selfdriving-lmdb", "validation_lmdb")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "32-bit" in err[0]


@pytest.mark.parametrize("rel, samples", [
    ("nil-hxz-mydata-lmdb/val", 1024),
    ("shadmanrohan-bengali-crnn-lmdb/data/val", 200),
    ("lukecca-tma-crnn-lmdb/lmdb", 10),
])
def test_text_recognition_lmdbs_check_their_images(rel, samples):
    report = scan(realdata(*rel.split("/")))
    assert report.sources[0].encoding.startswith("image")
    assert report.records == 2 * samples + 1        # image-N, label-N and num-samples
    assert report.errors == 0


def test_trajectory_text_lmdb_is_not_flagged_as_broken_datums():
    report = scan(realdata("lzp-lstm-sliding-crnn-lmdb", "data", "test_lmdb"))
    assert report.sources[0].encoding == "text"
    assert report.errors == 0
