"""Image lists (Caffe's ImageData source, convert_imageset's LISTFILE), built in tmp_path
with real JPEG and PNG files: lines split at the last space, labels read with atoi,
root_folder + path as a plain string, every image check on every file."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from datascan import clean, scan, sources
from datascan.cli import main
from datascan.config import ScanConfig, Transform
from datascan.sources import imagelist, listtext
from datascan.sources.interface import LineFacts
from conftest import jpeg_bytes, png_bytes, realdata


S = (64, 64)


def _images(root):
    (root / "sub dir").mkdir(parents=True)
    files = {
        "a.jpg": jpeg_bytes(S, seed=1), "b.png": png_bytes(S, seed=2), "c.jpg": jpeg_bytes(S, seed=3),
        "sub dir/with space.png": png_bytes(S, seed=4), "d.png": png_bytes(S, seed=5),
    }
    good = jpeg_bytes(S, seed=6)
    files["truncated.jpg"] = good[:len(good) // 2]
    for name, data in files.items():
        (root / name).write_bytes(data)
    return root


LINES = [
    "a.jpg 0",                      # line 1
    "b.png 1",                      # 2
    "truncated.jpg 2",              # 3: DS401
    "missing.jpg 3",                # 4: DS130
    "c.jpg 3a",                     # 5: DS540, atoi 3
    "sub dir/with space.png 4",     # 6: a path with a space: fine
    "d.png",                        # 7: DS541 no label (and d.png 0? no: the path is "d.png")
    "",                             # 8: DS541 blank line
    "a.jpg x",                      # 9: DS540, atoi 0 (and a copy of line 1)
    "b.png  1",                     # 10: two spaces: the path is "b.png " -> DS130
]


@pytest.fixture
def listed(tmp_path):
    root = _images(tmp_path / "images")
    lst = tmp_path / "train.txt"
    lst.write_text("\n".join(LINES) + "\n")
    return lst, str(root) + "/"


def _codes(report):
    return sorted((f.code, f.index) for f in report.findings)


def test_each_line_is_judged_as_caffe_reads_it(listed):
    lst, root = listed
    report = scan(lst, config=ScanConfig(root=root, num_classes=5), jobs=1, ignore=("DS61",))
    assert report.sources[0].format == "imagelist" and report.records == len(LINES)
    assert _codes(report) == [("DS130", 3), ("DS130", 9), ("DS401", 2), ("DS540", 4),
                              ("DS540", 8), ("DS541", 6), ("DS541", 7)]
    by_index = {f.index: f for f in report.findings}
    assert by_index[2].key == "line 3: truncated.jpg"
    assert by_index[3].key == "line 4: missing.jpg" and "line 4" in by_index[3].message
    assert "'3a'" in by_index[4].message and "as 3" in by_index[4].message
    assert "more than one space" in by_index[9].message
    assert "blank" in by_index[7].message
    # label 3 of "3a" and 0 of "x" are what the records carry: atoi's values
    assert report.sources[0].labels.min == 0 and report.sources[0].labels.max == 4


def test_root_is_a_plain_prefix_and_a_missing_slash_is_said(listed):
    lst, root = listed
    report = scan(lst, config=ScanConfig(root=root.rstrip("/")), jobs=1)
    codes = {f.code for f in report.findings}
    assert "DS131" in codes and "DS401" not in codes      # "images" + "a.jpg" = "imagesa.jpg"
    ds131 = next(f for f in report.findings if f.code == "DS131")
    assert f"{root!r}" in ds131.message
    files = [f.message for f in report.findings if f.code == "DS130"]
    assert any("imagesa.jpg" in m for m in files)


def test_paths_relative_to_the_working_directory_without_root(listed, monkeypatch):
    lst, root = listed
    monkeypatch.chdir(root)
    report = scan(lst, jobs=1, ignore=("DS61",))
    assert ("DS401", 2) in _codes(report) and not any(f.code == "DS131" for f in report.findings)
    monkeypatch.chdir(lst.parent.parent)       # nothing is found: the list's directory is hinted
    report = scan(lst, jobs=1)
    assert not any(f.code == "DS131" for f in report.findings)   # images/ is not the list's dir
    assert sum(f.code == "DS130" for f in report.findings) == 9      # all but the blank line


def test_check_cli_json_names_the_lines(listed, tmp_path):
    lst, root = listed
    out = tmp_path / "r.json"
    code = main(["check", str(lst), "--root", root, "--num-classes", "5", "--format", "json",
                 "-o", str(out), "--quiet", "--no-cache"])
    assert code == 1
    data = json.loads(out.read_text())
    assert data["sources"][0]["format"] == "imagelist"
    keys = {f["key"] for f in data["findings"] if f["code"] == "DS401"}
    assert keys == {"line 3: truncated.jpg"}


def test_a_clean_list_exits_0_and_duplicates_with_two_labels_are_found(tmp_path):
    root = _images(tmp_path / "im")
    lst = tmp_path / "ok.txt"
    lst.write_text("a.jpg 0\r\nb.png 1\r\nsub dir/with space.png 1\r\n")     # CRLF: atoi ignores \r
    assert main(["check", str(lst), "--root", str(root) + "/", "--quiet", "--no-cache"]) == 0
    lst.write_text("a.jpg 0\nb.png 1\na.jpg 1\n")
    report = scan(lst, config=ScanConfig(root=str(root) + "/"), jobs=1)
    assert [(f.code, f.index) for f in report.findings] == [("DS612", 2)]


def test_sniff_takes_image_lists_and_leaves_hdf5_lists_and_text_alone(tmp_path):
    h5list = tmp_path / "h5.txt"
    h5list.write_text("a.h5\nb.h5\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello world\n")
    nolabel = tmp_path / "names.txt"
    nolabel.write_text("0-2\n1-3\n")
    odd = tmp_path / "odd.txt"
    odd.write_text("n01440764/abc 3\nn01440764/def 4\n")        # no image suffix
    good = tmp_path / "list.txt"
    good.write_text("x.JPEG 3\nsome dir/y.png 12\n\n")
    assert imagelist.sniff(good) and sources.detect(good).name == "imagelist"
    for path in (h5list, notes, nolabel, odd, tmp_path):
        assert not imagelist.sniff(path)
    assert sources.detect(h5list).name == "hdf5"
    assert sources.detect(odd, "imagelist").name == "imagelist"   # --source-format forces it
    assert main(["check", str(odd), "--source-format", "imagelist", "--quiet", "--no-cache"]) == 1


def test_atoi_and_the_split_follow_caffe():
    assert listtext.split_line(b"a b.jpg 7") == (b"a b.jpg", b"7", 7)
    assert listtext.split_line(b"a.jpg") == (b"a.jpg", None, 0)
    assert listtext.split_line(b"12.jpg") == (b"12.jpg", None, 12)     # atoi of the whole line
    assert listtext.split_line(b"a.jpg 3 ") == (b"a.jpg 3", b"", 0)
    assert [listtext.atoi(t) for t in (b"3a", b"x", b"-2", b"+4", b"2.7", b"4\r", b" 5")] == \
        [3, 0, -2, 4, 2, 4, 5]
    assert listtext.atoi(b"4294967297") == 1            # (int) of strtol's long keeps 32 bits


def test_big_lists_are_planned_in_bounded_line_ranges(tmp_path, monkeypatch):
    monkeypatch.setattr(listtext, "MAX_MARKS", 8)       # offsets kept: doubling kicks in
    monkeypatch.setattr(listtext, "CHUNK", 64)
    lst = tmp_path / "big.txt"
    n = 1000
    lst.write_text("".join(f"nowhere/{i}.jpg {i % 7}\n" for i in range(n - 1)) + "last.jpg 1")
    assert imagelist.count(lst) == n
    total, step, marks = listtext.index(lst)
    assert total == n and len(marks) <= 8 and step >= n // 8
    plan = imagelist.plan(lst, ScanConfig(), 5)
    assert plan.records == n and len(plan.shards) > 1
    seen = []
    for shard in plan.shards:
        for item in imagelist.read(shard, ScanConfig()):
            assert isinstance(item, LineFacts) and item.done == 1
            seen.append(item.line)
    assert seen == list(range(1, n + 1))
    report = scan(lst, jobs=2, select=("DS130",))
    assert [f.index for f in report.findings] == list(range(n))


def test_clean_writes_the_kept_lines_byte_for_byte(listed, tmp_path):
    lst, root = listed
    dst = tmp_path / "clean.txt"
    code = main(["clean", str(lst), str(dst), "--root", root, "--num-classes", "5",
                 "--quarantine", str(tmp_path / "bad.txt"), "--quiet"])
    assert code == 0
    kept = [LINES[i] for i in (0, 1, 5)]
    assert dst.read_text() == "".join(line + "\n" for line in kept)
    assert (tmp_path / "bad.txt").read_text() == "truncated.jpg 2\nc.jpg 3a\nd.png\na.jpg x\n"
    manifest = json.loads((tmp_path / "clean.txt.manifest.json").read_text())
    assert manifest["verification"]["ok"] and manifest["counts"]["dropped"] == 7
    assert [d["key"] for d in manifest["dropped"]][:2] == ["line 3: truncated.jpg", "line 4: missing.jpg"]
    again = scan(dst, config=ScanConfig(root=root), jobs=1)
    assert again.findings == () and again.records == 3


def test_an_image_data_layer_is_checked_under_net(listed, tmp_path):
    lst, root = listed
    net = tmp_path / "net.prototxt"
    net.write_text(f"""
layer {{ name: "data" type: "ImageData" top: "data" top: "label"
  image_data_param {{ source: "{lst.name}" root_folder: "images/" batch_size: 2 }} }}
layer {{ name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
  inner_product_param {{ num_output: 5 }} }}
layer {{ name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }}
""")
    out = tmp_path / "net.json"
    code = main(["check", "--net", str(net), "--format", "json", "-o", str(out), "--quiet"])
    assert code == 1
    data = json.loads(out.read_text())
    assert data["sources"][0]["format"] == "imagelist"
    codes = {(f["code"], f["index"]) for f in data["findings"]}
    assert {("DS401", 2), ("DS130", 3), ("DS540", 4)} <= codes


def test_forward_and_html_read_the_listed_images(listed, tmp_path):
    lst, root = listed
    out = tmp_path / "r.html"
    code = main(["check", str(lst), "--root", root, "--format", "html", "-o", str(out), "--quiet",
                 "--no-cache", "--forward", "--batch-size", "2", "--scale", "0.00390625",
                 "--crop-size", "16"])
    assert code == 1
    page = out.read_text()
    assert "line 3: truncated.jpg" in page and "data:image/png;base64" in page


# ------------------------------------------------------------------------------ realdata

def test_caffe_ref_list_against_what_convert_imageset_did():
    """caffe-ref/MANIFEST.md: convert_imageset stored 57 of 60 lines; it skipped empty.jpg,
    not_an_image.jpg and bad_crc.png (line_ids 25, 40, 55) and stored truncated.jpg (10)
    silently. datascan's records are those of the encoded LMDB it wrote, byte for byte, and
    the four lines are its only errors."""
    ref = realdata("caffe-ref")
    lst = ref / "list.txt"
    # Read as the Data layer reads the LMDB built from it with Caffe's defaults, the set also
    # aborts on its 54 sizes (DS600) and 14 gray images (DS403); with a crop that fits and
    # force_color (what ImageData's default is_color does), only the four lines are bad.
    plain = scan(lst, config=ScanConfig(root=f"{ref}/images/", num_classes=10), jobs=2)
    assert {f.code for f in plain.findings if f.index is None} == {"DS600"}
    assert sum(f.code == "DS403" and f.severity.value == "error" for f in plain.findings) == 14
    fits = Transform(crop_size=32, force_color=True, origin="options")
    report = scan(lst, config=ScanConfig(root=f"{ref}/images/", num_classes=10, transform=fits),
                  jobs=2)
    errors = {f.index: f.code for f in report.findings if f.severity.value == "error"}
    assert errors == {10: "DS401", 25: "DS400", 40: "DS400", 55: "DS401"}
    assert report.records == 60
    stored = dict(sources.get("lmdb").walk(ref / "db" / "encoded_lmdb"))
    mine = {listtext.key_line(k) - 1: v for k, v in imagelist.walk(lst) if isinstance(k, bytes)}
    assert sorted(set(mine) - {int(k[:8]) for k in stored}) == [25, 40, 55]
    assert all(mine[int(k[:8])] == v for k, v in stored.items())
    # Without the trailing "/" Caffe would open caffe-ref/imagescolor/...: every line is DS130.
    report = scan(lst, config=ScanConfig(root=f"{ref}/images"), jobs=1)
    assert {f.code for f in report.findings} == {"DS130", "DS131"}


@pytest.mark.parametrize("parts, lines", [(("bharadwajmp-cat-dog-lmdb", "train.txt"), 44),
                                          (("bharadwajmp-cat-dog-lmdb", "val.txt"), 20),
                                          (("elenajhy-verifycode-lmdb", "train.txt"), 4000)])
def test_realdata_lists_whose_images_are_not_in_the_snapshot(parts, lines):
    """The repositories kept their lists but not the images: every line is a missing file
    (DS130), and nothing else is wrong with the lists themselves."""
    lst = realdata(*parts)
    assert sources.detect(lst).name == "imagelist"
    report = scan(lst, config=ScanConfig(root=str(lst.parent) + "/"), jobs=2)
    assert report.records == lines
    assert {f.code for f in report.findings} == {"DS130"}
    assert sorted(f.index for f in report.findings) == list(range(lines))


def test_a_line_range_whose_worker_dies_is_halved_and_the_rest_read(tmp_path):
    """Recovery (recovery.py) splits a list's shard by lines; each piece seeks from the
    shard's own offset, so the findings keep their line numbers."""
    from datascan import recovery
    from datascan.shard import run_shard
    lst = tmp_path / "l.txt"
    lst.write_text("".join(f"gone/{i}.jpg {i % 3}\n" for i in range(200)))
    [shard] = imagelist.plan(lst, ScanConfig(), 1).shards
    shard = replace(shard, start=10, first_index=10, seek=(0, 0))   # a part that starts mid-way

    def outcome_of(task):
        sub, _ = task
        if sub.start <= 137 < sub.stop:
            return recovery.Outcome(exitcode=-9)
        return recovery.Outcome(run_shard(sub, ScanConfig()))

    job = recovery.shard_job(shard)
    task = next(job)
    while True:
        try:
            task = job.send(outcome_of(task))
        except StopIteration as done:
            result = done.value
            break
    assert result.records == 190
    missing = sorted(f.index for f in result.findings if f.code == "DS130")
    lost = [f for f in result.findings if f.code == "DS101"]
    assert len(lost) == 1 and "killed by SIGKILL" in lost[0].message
    hole = range(lost[0].index, lost[0].index + (190 - len(missing)))
    assert 127 in hole and missing == [i for i in range(190) if i not in hole]
    keys = {f.index: f.key for f in result.findings if f.code == "DS130"}
    assert keys[0] == "line 11: gone/10.jpg"


def test_show_reads_a_listed_image_with_root(listed, capsys, tmp_path):
    lst, root = listed
    code = main(["show", str(lst), "line 3: truncated.jpg", "--root", root,
                 "-o", str(tmp_path / "p.png")])
    assert code == 0
    out = capsys.readouterr().out
    assert "DS401" in out and (tmp_path / "p.png").is_file()


def test_a_list_rewritten_during_the_scan_is_said(listed):
    lst, root = listed
    [shard] = imagelist.plan(lst, ScanConfig(root=root), 1).shards
    lst.write_text("a.jpg 0\n")
    from datascan.sources.interface import Changed
    assert isinstance(next(iter(imagelist.read(shard, ScanConfig(root=root)))), Changed)


def test_a_saved_report_draws_the_listed_images_with_its_root(listed, tmp_path):
    lst, root = listed
    js, page = tmp_path / "r.json", tmp_path / "r.html"
    assert main(["check", str(lst), "--root", root, "--format", "json", "-o", str(js), "--quiet",
                 "--no-cache"]) == 1
    assert json.loads(js.read_text())["options"]["root"] == root
    assert main(["report", str(js), "-o", str(page)]) == 1
    assert "data:image/png;base64" in page.read_text()
