"""Defects a review found in image lists, `show`, `clean --from-report`, `report` and the
text-recognition options: each test builds its data in tmp_path and runs the CLI."""
from __future__ import annotations

import json
import re

import pytest

from conftest import corrupt_leveldb_table, key, raw_datum, realdata
from datascan.cli import main
from datascan.report.load import load
from datascan.sources import imagelist
from test_crnn import crnn_records
from test_imagelist import LINES, listed  # noqa: F401 - the fixture


@pytest.fixture
def fresh_process(monkeypatch):
    """What a new process knows of image lists' roots: nothing (no plan ran in it)."""
    monkeypatch.setattr(imagelist, "_ROOTS", {})


def _check_json(args, tmp_path, name="r.json") -> dict:
    out = tmp_path / name
    main(["check", *args, "--format", "json", "-o", str(out), "--quiet", "--no-cache"])
    return json.loads(out.read_text())


# ------------------------------------------------------------------ 4: --root without a plan

def test_clean_from_report_reads_the_list_with_root(listed, tmp_path, fresh_process, monkeypatch):
    lst, root = listed
    report = _check_json([str(lst), "--root", root, "--num-classes", "5"], tmp_path)
    monkeypatch.setattr(imagelist, "_ROOTS", {})     # clean runs later, in another process
    dst = tmp_path / "clean.txt"
    assert main(["clean", str(lst), str(dst), "--from-report", str(tmp_path / "r.json"),
                 "--root", root, "--num-classes", "5", "--quiet"]) == 0
    assert dst.read_text() == "".join(LINES[i] + "\n" for i in (0, 1, 5))
    assert report["options"]["root"] == root


def test_clean_names_ds130_when_a_missing_file_is_not_dropped(listed, tmp_path, capsys):
    lst, root = listed
    assert main(["clean", str(lst), str(tmp_path / "c.txt"), "--root", root,
                 "--ignore", "DS13", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "include DS130" in err[0] and "DS101" not in err[0]


# ------------------------------------------------------------------ 5: show's positions and findings

def test_show_index_is_checks_index_for_every_line(listed, tmp_path, capsys, fresh_process):
    lst, root = listed
    report = _check_json([str(lst), "--root", root, "--num-classes", "5"], tmp_path)
    capsys.readouterr()
    by_index: dict[int, set[str]] = {}
    for f in report["findings"]:
        by_index.setdefault(f["index"], set()).add(f["code"])
    # Record-level codes only: DS6xx (shapes, copies) need the whole scan.
    by_index = {i: {c for c in cs if not c.startswith("DS6")} for i, cs in by_index.items()}
    for i, line in enumerate(LINES):
        imagelist._ROOTS.clear()
        assert main(["show", str(lst), f"#{i}", "--root", root, "--num-classes", "5"]) == 0
        out = capsys.readouterr().out
        assert f"key line {i + 1}: {line.rsplit(' ', 1)[0] if ' ' in line else line}  #{i}" in out
        shown = set(re.findall(r":#%d: (DS\d{3})" % i, out))
        assert shown == by_index.get(i, set()), (i, out)
    assert main(["show", str(lst), f"#{len(LINES)}", "--root", root]) == 2


def test_show_of_a_line_gives_all_its_findings(listed, capsys, fresh_process):
    lst, root = listed
    assert main(["show", str(lst), "line 5: c.jpg", "--root", root]) == 0
    out = capsys.readouterr().out
    assert "#4" in out and ":#4: DS540 error" in out and "atoi reads it as 3" in out
    assert main(["show", str(lst), "line 4: missing.jpg", "--root", root]) == 0
    out = capsys.readouterr().out
    assert "#3" in out and "cannot be read" in out and ":#3: DS130 error" in out
    assert "missing.jpg' does not exist" in out and "no record" not in out


def test_show_without_root_says_the_file_is_missing(listed, capsys, fresh_process, monkeypatch):
    lst, _ = listed
    monkeypatch.chdir(lst.parent)        # the images are under images/, not here
    assert main(["show", str(lst), "#1"]) == 0
    out = capsys.readouterr().out
    assert "key line 2: b.png  #1" in out and "DS130 error" in out and "'b.png' does not exist" in out


def test_show_index_counts_a_damaged_leveldb_record(make_leveldb, tmp_path, capsys):
    recs = [(key(i), raw_datum(i % 10, shape=(3, 32, 32), seed=i)) for i in range(300)]
    src = make_leveldb(recs)
    corrupt_leveldb_table(src)
    report = _check_json([str(src)], tmp_path)
    damaged = sorted(f["index"] for f in report["findings"] if f["code"] == "DS101")
    assert damaged and damaged[-1] < 299
    capsys.readouterr()
    after = damaged[-1] + 1
    assert main(["show", str(src), f"#{after}"]) == 0
    assert f"key {key(after).decode()}  #{after}" in capsys.readouterr().out
    assert main(["show", str(src), f"#{damaged[0]}"]) == 0
    out = capsys.readouterr().out
    assert "cannot be read" in out and f":#{damaged[0]}: DS101 error" in out


# ------------------------------------------------------------------ 11: a binary file forced as a list

def test_a_binary_file_forced_as_a_list_is_one_error_line(tmp_path, capsys):
    blob = tmp_path / "weights.bin"
    blob.write_bytes(bytes(range(256)) * 64 + b"\xff\xfe\x00 1\n")
    for args in (["check", str(blob)], ["clean", str(blob), str(tmp_path / "c.txt")]):
        assert main([*args, "--source-format", "imagelist", "--quiet"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "binary file" in err[0] and "internal error" not in err[0]


def test_a_list_with_a_nul_in_a_line_gets_findings(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    lst = tmp_path / "l.txt"
    lst.write_bytes(b"a.jpg 0\n" * 20 + b"b\x00c.jpg 1\n\xff\xfe.jpg 2\n")
    report = _check_json([str(lst), "--root", str(tmp_path) + "/", "--source-format", "imagelist"],
                         tmp_path)
    dead = {f["index"]: f["message"] for f in report["findings"] if f["code"] == "DS130"}
    assert "NUL byte" in dead[20] and "does not exist" in dead[21]


# ------------------------------------------------------------------ report: options, doctor JSON

def test_report_keeps_and_shows_the_options(listed, tmp_path, capsys):
    lst, root = listed
    made = _check_json([str(lst), "--root", root, "--num-classes", "5", "--ignore", "DS612"],
                       tmp_path)
    assert load(tmp_path / "r.json").options.root == root
    assert main(["report", str(tmp_path / "r.json"), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["options"] == made["options"]
    page = tmp_path / "r.html"
    main(["report", str(tmp_path / "r.json"), "-o", str(page)])
    text = page.read_text()
    assert "not recorded" not in text and "--num-classes 5" in text and "--ignore DS612" in text


def test_report_of_a_doctor_json_is_one_line(tmp_path, capsys):
    log = tmp_path / "train.log"
    log.write_text("I0101 00:00:00.000000  1 solver.cpp:218] Iteration 0 (0 iter/s), loss = nan\n")
    js = tmp_path / "d.json"
    assert main(["doctor", str(log), "--format", "json", "-o", str(js)]) in (0, 1)
    capsys.readouterr()
    assert main(["report", str(js)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "doctor" in err[0] and "KeyError" not in err[0]


def test_doctor_without_iterations_does_not_print_none(tmp_path, capsys):
    log = tmp_path / "convert.log"
    log.write_text("I20261121 09:50:59.559811 28062 convert_imageset.cpp:89] A total of 4 images.\n"
                   "E20261121 09:50:59.567616 28062 io.cpp:80] Could not open or find file b.png\n"
                   "I20261121 09:50:59.569239 28062 convert_imageset.cpp:153] Processed 3 files.\n")
    main(["doctor", str(log)])
    out = capsys.readouterr().out
    assert "None" not in out and "no iteration logged" in out


# ------------------------------------------------------------------ text recognition options

def test_alphabet_reads_a_file_only_when_asked(make_lmdb, tmp_path, capsys, monkeypatch):
    path = make_lmdb(crnn_records(3, labels=["abc", "ab", "zz"]))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "abc").write_text("z\n", encoding="utf-8")

    def codes(*alphabet) -> list[str]:
        capsys.readouterr()
        main(["check", str(path), "--format", "json", "-q", "--no-cache", *alphabet])
        return [f["code"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert codes("--alphabet", "abc") == ["DS512"]            # the characters a, b, c: zz
    main(["check", str(path), "-q", "--no-cache", "--alphabet", "abc"])
    assert "--alphabet @abc reads the file" in capsys.readouterr().err
    assert codes("--alphabet", "@abc") == ["DS512", "DS512"]  # the file: z
    assert codes("--alphabet", "./abc") == ["DS512", "DS512"]
    assert main(["check", str(path), "-q", "--alphabet", "@nothere"]) == 2


def test_an_invisible_character_outside_the_alphabet_is_named(make_lmdb, tmp_path):
    path = make_lmdb(crnn_records(1, labels=["a b"]))
    report = _check_json([str(path), "--alphabet", "ab"], tmp_path)
    [f] = report["findings"]
    assert f["code"] == "DS512" and f["message"].endswith("not in --alphabet: U+0020 (space)")


def test_help_names_image_lists_and_no_default_label_length(capsys):
    try:
        main(["check", "--help"])
    except SystemExit:
        pass
    out = " ".join(capsys.readouterr().out.split())
    assert "image list" in out and "25 by default" not in out.replace("batch_max_length 25 by default", "")


def test_caffe_ref_crash_log_does_not_print_none(capsys):
    main(["doctor", str(realdata("caffe-ref", "train", "logs", "train_lmdb_encoded.log"))])
    assert "None" not in capsys.readouterr().out
