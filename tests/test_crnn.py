"""Text-recognition LMDBs (crnn, deep-text-recognition-benchmark): num-samples, image-%09d,
label-%09d. Samples counted, pairing with num-samples checked (DS62x), labels as UTF-8 text
(DS51x), images as images, and no Caffe crop or channel advice (the loaders resize and
convert every image)."""
from __future__ import annotations

import json
import time

import pytest

from datascan import cache as verdicts
from datascan import scan
from datascan.checks import textlayout
from datascan.checks.textlayout import IndexRuns, parse_key
from datascan.cli import main
from datascan.config import ScanConfig
from datascan.report import to_dict

from conftest import jpeg_bytes, png_bytes, realdata


def crnn_records(n: int = 6, labels=None, num_samples: bytes | None = None, sizes=None):
    """A well-formed set of n samples: images of mixed sizes and channel counts (as real
    sets are), UTF-8 labels, num-samples."""
    out = []
    for i in range(1, n + 1):
        size = sizes[i - 1] if sizes else (100 + 7 * i, 32 + i % 3)
        mode = "L" if i % 2 else "RGB"
        out.append((f"image-{i:09d}".encode(), png_bytes(size, mode, seed=i)))
        text = labels[i - 1] if labels else f"word{i}"
        out.append((f"label-{i:09d}".encode(), text.encode() if isinstance(text, str) else text))
    out.append((b"num-samples", str(n).encode() if num_samples is None else num_samples))
    return out


def without(records, *keys: bytes):
    return [(k, v) for k, v in records if k not in keys]


def found(report) -> list[tuple[str, str | None]]:
    return [(f.code, f.key) for f in report.findings]


def codes(report) -> set[str]:
    return {f.code for f in report.findings}


# ---------------------------------------------------------------------------- well-formed

def test_a_well_formed_set_counts_samples_and_gets_no_crop_or_channel_advice(make_lmdb):
    report = scan(make_lmdb(crnn_records(6)))
    assert report.findings == () or list(report.findings) == []
    src = report.sources[0]
    assert (src.records, src.samples, src.layout) == (13, 6, "text-recognition")
    d = to_dict(report)["sources"][0]
    assert (d["records"], d["samples"], d["layout"]) == (13, 6, "text-recognition")


def test_mixed_sizes_and_channels_are_still_judged_outside_the_layout(make_lmdb):
    """The same images under plain keys (no text layout) keep the Caffe advice."""
    records = [(f"{i:08d}".encode(), v) for i, (k, v) in enumerate(crnn_records(6)) if k.startswith(b"image")]
    assert {"DS600", "DS403"} <= codes(scan(make_lmdb(records)))


def test_text_report_and_json_say_samples(make_lmdb, capsys):
    path = make_lmdb(crnn_records(4))
    assert main(["check", str(path), "-q"]) == 0
    out = capsys.readouterr().out
    assert "4 samples (9 keys, text-recognition layout)" in out
    assert "No findings in 4 samples (9 records)" in out
    assert main(["check", str(path), "-q", "--format", "json"]) == 0
    src = json.loads(capsys.readouterr().out)["sources"][0]
    assert (src["records"], src["samples"]) == (9, 4)


def test_a_remembered_verdict_keeps_the_samples_and_the_alphabet_is_part_of_it(make_lmdb, capsys):
    path = make_lmdb(crnn_records(3, labels=["ab", "ab", "aZ"]))
    time.sleep(verdicts.RACY_NS / 1e9 + 0.02)     # files written just now are not remembered
    args = ["check", str(path), "-q", "--format", "json"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert again.get("cached") and again["sources"][0]["samples"] == 3
    assert main([*args, "--alphabet", "ab"]) == 1            # another question: scanned again
    assert [f["code"] for f in json.loads(capsys.readouterr().out)["findings"]] == ["DS512"]


# ---------------------------------------------------------------------------- num-samples

def test_num_samples_missing_or_not_a_count(make_lmdb):
    report = scan(make_lmdb(without(crnn_records(3), b"num-samples"), "none"))
    assert found(report) == [("DS620", None)]
    report = scan(make_lmdb(crnn_records(3, num_samples=b"three"), "word"))
    assert found(report) == [("DS620", "num-samples")]
    assert report.findings[0].index == 6        # image-1..3, label-1..3, num-samples
    assert found(scan(make_lmdb(crnn_records(3, num_samples=b" 3\n"), "spaces"))) == []  # int() reads it


def test_num_samples_above_the_samples_stops_the_loader(make_lmdb):
    report = scan(make_lmdb(crnn_records(4, num_samples=b"7")))
    assert found(report) == [("DS621", None)]
    f = report.findings[0]
    assert f.severity.value == "error" and "samples 5..7 (3)" in f.message and "num-samples 7" in f.message


def test_samples_past_num_samples_are_never_read(make_lmdb):
    report = scan(make_lmdb(crnn_records(5, num_samples=b"3")))
    assert found(report) == [("DS623", "image-000000004"), ("DS623", "label-000000004")]
    assert [f.index for f in report.findings] == [3, 8]
    assert all(f.severity.value == "warning" and "2 keys past num-samples 3" in f.message
               for f in report.findings)
    assert report.sources[0].samples == 5


# ---------------------------------------------------------------------------- pairing

def test_an_image_without_its_label_and_a_label_without_its_image(make_lmdb):
    records = without(crnn_records(6), b"label-000000002", b"image-000000005")
    report = scan(make_lmdb(records))
    assert found(report) == [("DS622", "image-000000002"), ("DS621", "label-000000005")]
    by_code = {f.code: f for f in report.findings}
    assert by_code["DS622"].index == 1 and "sample 2 " in by_code["DS622"].message
    assert by_code["DS621"].index == 8       # image-1..4, 6 (5 keys), label-1, 3, 4, then 5
    assert report.errors == 2


def test_a_sample_with_neither_is_one_finding(make_lmdb):
    report = scan(make_lmdb(without(crnn_records(6), b"label-000000003", b"image-000000003")))
    assert found(report) == [("DS621", None)]
    assert "sample 3 has neither" in report.findings[0].message


def test_index_zero_and_keys_not_zero_padded_are_never_read(make_lmdb):
    records = crnn_records(3) + [(b"image-000000000", png_bytes(seed=40)),
                                 (b"label-000000000", b"zero"),
                                 (b"image-4", png_bytes(seed=41)), (b"label-4", b"four")]
    report = scan(make_lmdb(records))
    assert sorted(found(report)) == [("DS623", "image-000000000"), ("DS623", "image-4"),
                                     ("DS623", "label-000000000"), ("DS623", "label-4")]
    assert report.errors == 0


def test_labels_without_num_samples_and_images_are_not_a_layout(make_lmdb):
    """A set of only label-N keys (no num-samples, no inputs) is not taken for the layout."""
    report = scan(make_lmdb([(f"label-{i:09d}".encode(), b"w") for i in range(1, 4)]))
    assert report.sources[0].samples is None and not codes(report) & {"DS620", "DS621", "DS622"}


def test_pairing_is_the_same_whatever_the_shards(make_lmdb):
    records = without(crnn_records(120, num_samples=b"123", sizes=[(160, 48)] * 120),
                      b"label-000000017", b"image-000000090")
    path = make_lmdb(records)
    one = scan(path, jobs=1, backend="inprocess")
    many = scan(path, jobs=3, backend="inprocess")
    assert found(one) == found(many) == [("DS621", None), ("DS622", "image-000000017"),
                                         ("DS621", "label-000000090")]
    assert "samples 121..123 (3) have neither" in one.findings[0].message
    assert [f.index for f in one.findings] == [f.index for f in many.findings]


def test_runs_are_bounded_and_say_how_far_they_are_exact(make_lmdb, monkeypatch):
    monkeypatch.setattr(textlayout, "TEXT_MAX_RUNS", 3)
    runs = IndexRuns()
    for n in (1, 2, 4, 6, 8, 10):
        runs.add(n, n)
    assert runs.count == 6 and len(runs.runs) == 3 and runs.exact_to == 6
    assert list(runs.gaps(1, 6)) == [(3, 3), (5, 5)] and runs.position(4) == 4
    records = [r for r in crnn_records(12) if r[0] not in
               {f"label-{i:09d}".encode() for i in (2, 4, 6, 8, 10)}]
    report = scan(make_lmdb(records), backend="inprocess")
    assert [f.key for f in report.findings if f.code == "DS622"] == ["image-000000002", "image-000000004"]
    notes = [f for f in report.findings if f.code == "DS623"]
    assert len(notes) == 1 and notes[0].severity.value == "info" and "1..5 only" in notes[0].message


def test_key_parsing():
    assert parse_key(b"image-000000017") == ("image", 17, True)
    assert parse_key(b"label-17") == ("label", 17, False)
    assert parse_key(b"image-1000000000") == ("image", 1000000000, True)
    assert parse_key(b"num-samples") is None and parse_key(b"00000001_a.jpg") is None


# ---------------------------------------------------------------------------- labels

def test_labels_as_utf8_text(make_lmdb):
    labels = ["ok", b"\xff\xfeab", "", "   ", "অঞ্চল", "fine"]
    report = scan(make_lmdb(crnn_records(6, labels=labels)))
    assert found(report) == [("DS510", "label-000000002"), ("DS511", "label-000000003"),
                             ("DS511", "label-000000004")]
    assert "ff fe 61 62 are not UTF-8" in report.findings[0].message
    assert report.errors == 1 and report.warnings == 2


def test_alphabet_and_max_label_length(make_lmdb, tmp_path, capsys):
    path = make_lmdb(crnn_records(4, labels=["abc", "aXc", "abcdefgh", "a\u200dc"]))
    report = scan(path, config=ScanConfig(alphabet="abcdefgh", max_label_length=5))
    assert found(report) == [("DS512", "label-000000002"), ("DS513", "label-000000003"),
                             ("DS512", "label-000000004")]
    assert "not in --alphabet: X" in report.findings[0].message
    assert "U+200D" in report.findings[2].message
    alphabet = tmp_path / "keys.txt"
    alphabet.write_text("a\nb\nc\nd\ne\nf\ng\nh\nX\n", encoding="utf-8")
    assert main(["check", str(path), "-q", "--format", "json", "--alphabet", str(alphabet)]) == 1
    got = [(f["code"], f["key"]) for f in json.loads(capsys.readouterr().out)["findings"]]
    assert got == [("DS512", "label-000000004")]
    assert main(["check", str(path), "-q", "--alphabet", "abcdefghX\u200d",
                 "--max-label-length", "8"]) == 0


def test_bad_text_options_are_one_line(make_lmdb, capsys):
    path = make_lmdb(crnn_records(2))
    assert main(["check", str(path), "-q", "--max-label-length", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--max-label-length" in err[0]


def test_images_are_still_checked_and_named(make_lmdb):
    records = crnn_records(4)
    records[2] = (b"image-000000002", png_bytes()[:40])      # truncated
    records[4] = (b"image-000000003", b"not an image at all")
    report = scan(make_lmdb(records))
    assert [(c, k) for c, k in found(report) if c.startswith("DS4")] == \
        [("DS400", "image-000000002"), ("DS400", "image-000000003")]


def test_word_number_keys_outside_the_layout_are_still_judged_as_images(make_lmdb):
    records = [(f"img-{i:06d}".encode(), jpeg_bytes(seed=i)) for i in range(4)]
    records[2] = (records[2][0], b"\x00\x01\x02 not an image")
    report = scan(make_lmdb(records))
    assert found(report) == [("DS400", "img-000002")] and report.sources[0].samples is None


def test_lexicons_are_optional_and_not_inputs(make_lmdb):
    """bgshih/crnn writes lexicon-%09d beside some samples: neither an input nor a label."""
    records = crnn_records(4) + [(b"lexicon-000000001", b"word1 wordl"), (b"lexicon-000000009", b"x")]
    report = scan(make_lmdb(records))
    assert found(report) == [("DS623", "lexicon-000000009")]
    assert report.sources[0].samples == 4


def test_trajectory_inputs_pair_with_labels(make_lmdb):
    """lstm_sliding writes traject-%09d (text) beside label-%09d: the same pairing."""
    records = [(f"traject-{i:09d}".encode(), b"1,2,3,4") for i in range(1, 5)]
    records += [(f"label-{i:09d}".encode(), b"word") for i in (1, 2, 4)] + [(b"num-samples", b"4")]
    report = scan(make_lmdb(records))
    assert found(report) == [("DS622", "traject-000000003")]
    assert report.sources[0].samples == 4


# ---------------------------------------------------------------------------- real data

@pytest.mark.parametrize("rel, samples, encoding", [
    ("shadmanrohan-bengali-crnn-lmdb/data/val", 200, "image"),
    ("lukecca-tma-crnn-lmdb/lmdb", 10, "image+text"),
    ("lzp-lstm-sliding-crnn-lmdb/data/test_lmdb", 1024, "text"),
    ("lzp-lstm-sliding-crnn-lmdb/data/train_lmdb", 10920, "text"),
])
def test_real_text_recognition_sets(rel, samples, encoding):
    """Well-formed sets by crnn's create_dataset.py: counted as samples, no findings (the
    Bengali set's mixed image sizes gave 11 DS600 crop warnings before)."""
    report = scan(realdata(*rel.split("/")))
    src = report.sources[0]
    assert (src.samples, src.layout, src.encoding) == (samples, "text-recognition", encoding)
    assert src.records == 2 * samples + 1
    assert list(report.findings) == []


def test_real_alphabet_check(capsys):
    path = realdata("lzp-lstm-sliding-crnn-lmdb", "data", "test_lmdb")
    assert main(["check", str(path), "-q", "--alphabet", "abcdefghijklmnopqrstuvwxyz"]) == 0
    capsys.readouterr()
    assert main(["check", str(path), "-q", "--format", "json", "--alphabet", "abcdefghijklm"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert findings and {f["code"] for f in findings} == {"DS512"}
    assert all(f["key"].startswith("label-") for f in findings)


def test_label_findings_show_the_label_text_in_show_and_html(make_lmdb, tmp_path, capsys):
    """label-N values are text: show and the HTML report print them, never 'not an image';
    the HTML header counts samples beside the keys."""
    db = make_lmdb(crnn_records(4, labels=[b"abc", b"ABC!", b"\xff\xfe", b"ok"]))
    assert main(["show", str(db), "label-000000003"]) == 0
    out = capsys.readouterr().out
    assert "label        text (not UTF-8): bytes ff fe" in out and "not an image" not in out
    page = tmp_path / "r.html"
    main(["check", str(db), "--no-cache", "--alphabet", "abcok", "--format", "html", "-o", str(page)])
    html = page.read_text()
    assert "text &#39;ABC!&#39;" in html and "text (not UTF-8): bytes ff fe" in html
    assert "not an image" not in html
    assert "9 keys: 4 samples" in html and "<span>samples</span>" in html
