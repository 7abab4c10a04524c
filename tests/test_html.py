"""The HTML report: thumbnails of each kind of record, escaping, bounds, `datascan report`,
and the pages opened in real headless Chromium (tests/browser.py)."""
from __future__ import annotations

import base64
import io
import json
import os
import re
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import encoded_datum, float_datum, jpeg_bytes, key, make_h5, raw_datum
from datascan.cli import main
from datascan.model import Finding, LabelStats, Report, Severity, SourceInfo
from datascan.report import View, render
from datascan.report.thumbs import INF_RGB, NAN_RGB, picture
from datascan.sources import lmdb as lmdb_source

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo_lmdb"
ARTEFACTS = Path(os.environ.get("DATASCAN_ARTEFACTS", ROOT / "test-artefacts"))
INJECTED = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a size: a decompression bomb, never to be decoded."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk +
            struct.pack(">I", zlib.crc32(chunk)) + b"\0" * 64)


# ------------------------------------------------------------------ thumbnails, one per kind

def test_raw_datum_is_drawn_from_chw_bgr_as_rgb():
    chw = np.zeros((3, 4, 5), np.uint8)
    chw[0] = 200                                     # blue, as Caffe stores BGR
    from datascan.decode.datum import encode_datum
    pic = picture(encode_datum(channels=3, height=4, width=5, data=chw.tobytes()), "datum")
    assert pic.pixels.shape == (4, 5, 3) and (pic.pixels[0, 0] == (0, 0, 200)).all()
    assert "BGR" in pic.caption


def test_truncated_jpeg_is_drawn_as_the_loader_gets_it_with_gray_rows_outlined():
    whole = jpeg_bytes(size=(96, 96))
    pic = picture(encoded_datum(whole[: len(whole) * 2 // 3]), "datum")
    assert pic.pixels is not None and pic.outline is not None
    first, last = pic.outline
    assert last == 95 and 0 < first < 95
    assert np.abs(pic.pixels[first:].astype(int) - 128).max() <= 2
    assert picture(encoded_datum(whole), "datum").outline is None


def test_float_record_marks_nan_and_inf():
    values = np.zeros((1, 4, 4), np.float32)
    values[0, 1, 2], values[0, 3, 3] = np.nan, np.inf
    pic = picture(float_datum(values), "datum")
    assert tuple(pic.pixels[1, 2]) == NAN_RGB and tuple(pic.pixels[3, 3]) == INF_RGB
    assert "1 NaN" in pic.caption and "1 inf" in pic.caption


def test_undecodable_and_bomb_say_why_and_a_bomb_is_never_decoded(monkeypatch):
    assert picture(encoded_datum(b"\xff\xd8\xff garbage"), "datum").pixels is None
    import datascan.report.thumbs as thumbs
    monkeypatch.setattr(thumbs, "_decode", lambda *a: pytest.fail("a bomb was decoded"))
    pic = picture(_png_claiming(100_000, 100_000), "image")
    assert pic.pixels is None and "not decoded" in pic.caption
    assert picture(b"", "datum").pixels is None and picture(None, "datum").pixels is None


def test_hdf5_row_is_read_by_row_and_shows_its_nan(tmp_path):
    data = np.ones((6, 1, 3, 3), np.float32)
    data[4, 0, 1, 1] = np.nan
    h5 = make_h5(tmp_path / "t.h5", data=data, label=np.arange(6, dtype=np.float32))
    assert main(["check", str(h5), "--format", "html", "-o", str(tmp_path / "r.html"),
                 "--quiet", "--jobs", "1", "--ignore", "DS61"]) == 1   # (rows of ones: copies)
    page = (tmp_path / "r.html").read_text()
    assert page.count("data:image/png;base64,") == 1 and "data[4]: float 1x3x3" in page and "1 NaN" in page


# ------------------------------------------------------------------ the page

def _bad_lmdb(tmp_path) -> Path:
    nan = np.zeros((3, 4, 4), np.float32)
    nan[0, 0, 0] = np.nan
    broken = jpeg_bytes(size=(64, 64))
    records = [(INJECTED[0].encode(), raw_datum(label=12)),
               (INJECTED[1].encode(), float_datum(nan)),
               (b"line\nbreak", encoded_datum(broken[: len(broken) // 2])),
               (b"00000000_\xd6\xd0.jpg", raw_datum(label=9))]
    records += [(key(i), raw_datum(label=i % 5, seed=i)) for i in range(1, 12)]
    path = tmp_path / "evil_lmdb"
    lmdb_source.write(path, sorted(records))
    return path


def test_data_strings_are_escaped(tmp_path):
    out = tmp_path / "r.html"
    assert main(["check", str(_bad_lmdb(tmp_path)), "--num-classes", "5", "--format", "html",
                 "-o", str(out), "--quiet", "--jobs", "1"]) == 1
    page = out.read_text()
    for text in INJECTED:
        assert text not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "line\\nbreak" in page and "00000000_\\xd6\\xd0.jpg" in page
    assert len(re.findall(r"<script>", page)) == 1          # only the page's own script


def test_clean_dataset_gets_a_short_green_page(tmp_path):
    out = tmp_path / "r.html"
    assert main(["check", str(ROOT / "fixtures" / "demo_clean_lmdb"), "--format", "html",
                 "-o", str(out), "--quiet"]) == 0
    page = out.read_text()
    assert 'class="verdict pass"' in page and 'id="clean"' in page and "data:image" not in page
    assert len(page) < 40_000


def test_100000_findings_stay_bounded_and_say_so():
    n = 100_000
    found = tuple(Finding("DS500", Severity.ERROR, "/gone/train_lmdb", f"{i:08d}", i,
                          f"label {i % 7} outside [0, 5)") for i in range(n))
    labels = LabelStats(0, 999, 1000, {i: 300 for i in range(1000)})
    report = Report("0.1.0", (SourceInfo("/gone/train_lmdb", "lmdb", 3 * n, "datum", labels),),
                    found, 12.0)
    start = time.perf_counter()
    page = render(report, "html", View())
    assert time.perf_counter() - start < 30
    assert len(page.encode()) < 10_000_000
    assert "and 99,800 more DS500 findings" in page
    assert "/gone/train_lmdb: not there any more" in page


def test_report_command_renders_a_saved_report_with_and_without_its_sources(tmp_path, capsys):
    saved = tmp_path / "r.json"
    assert main(["check", str(DEMO), "--num-classes", "10", "--format", "json", "-o", str(saved),
                 "--quiet"]) == 1
    assert main(["report", str(saved), "-o", str(tmp_path / "r.html")]) == 1
    with_pictures = (tmp_path / "r.html").read_text()
    assert with_pictures.count("data:image/") == 6
    assert "options <code>--num-classes 10</code>" in with_pictures    # as the JSON records them
    moved = json.loads(saved.read_text())
    del moved["options"]                                    # a report made before they were
    for item in moved["sources"] + moved["findings"]:
        item["path"] = str(tmp_path / "moved_lmdb")
    (tmp_path / "m.json").write_text(json.dumps(moved))
    assert main(["report", str(tmp_path / "m.json"), "-o", str(tmp_path / "m.html")]) == 1
    without = (tmp_path / "m.html").read_text()
    assert "data:image/" not in without and "not there any more" in without
    assert "not recorded in the JSON report" in without
    assert without.count('class="group"') == with_pictures.count('class="group"') == 12
    (tmp_path / "bad.json").write_text("[1, 2]")
    capsys.readouterr()
    assert main(["report", str(tmp_path / "bad.json")]) == 2
    assert capsys.readouterr().err.startswith("datascan: error: ")


# ------------------------------------------------------------------ in a real browser

THUMBS = ("Array.from(document.querySelectorAll('img[data-thumb]')).filter("
          "i => i.complete && i.naturalWidth > 0).length")
ALL_IMGS = "document.images.length"
TEXT = "document.body.innerText"


def _open(page: Path):
    from browser import visit
    return visit(page, (THUMBS, ALL_IMGS, TEXT, "window.__alerts"))


def _own_requests_only(seen, page: Path) -> None:
    outside = [u for u in seen.requests if u != page.resolve().as_uri() and not u.startswith("data:")]
    assert outside == []


def test_demo_report_in_chromium(tmp_path):
    page = tmp_path / "demo.html"
    assert main(["check", str(DEMO), "--num-classes", "10", "--format", "html", "-o", str(page),
                 "--quiet"]) == 1
    seen = _open(page)
    assert seen.errors == [] and seen.dialogs == []
    _own_requests_only(seen, page)
    assert seen.values[THUMBS] == seen.values[ALL_IMGS] == 6     # every thumbnail decoded
    assert "DS303" in seen.values[TEXT] and "00000025_img_025.jpg" in seen.values[TEXT]
    Image.open(io.BytesIO(seen.screenshot)).verify()
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / "demo_report.png").write_bytes(seen.screenshot)


def test_injected_keys_show_as_text_in_chromium(tmp_path):
    page = tmp_path / "evil.html"
    assert main(["check", str(_bad_lmdb(tmp_path)), "--num-classes", "5", "--format", "html",
                 "-o", str(page), "--quiet", "--jobs", "1"]) == 1
    seen = _open(page)
    assert seen.errors == [] and seen.dialogs == [] and seen.values["window.__alerts"] == []
    _own_requests_only(seen, page)
    for text in INJECTED:
        assert text in seen.values[TEXT]
    assert seen.values[ALL_IMGS] == seen.values[THUMBS] >= 2


def test_thumbnails_decode_outside_the_browser_too(tmp_path):
    page = tmp_path / "demo.html"
    main(["check", str(DEMO), "--num-classes", "10", "--format", "html", "-o", str(page), "-q"])
    uris = re.findall(r'src="data:image/(png|jpeg);base64,([^"]+)"', page.read_text())
    assert len(uris) == 6
    for _, data in uris:
        Image.open(io.BytesIO(base64.b64decode(data))).load()


def test_pictures_stop_at_their_byte_budget(monkeypatch):
    import datascan.report.page as page_module
    from datascan.config import ScanConfig
    from datascan.engine import check
    report = check(DEMO, config=ScanConfig(num_classes=10), jobs=1)
    monkeypatch.setattr(page_module, "PICTURE_BYTES", 12_000)
    page = render(report, "html", View())
    drawn = page.count("data:image/")
    assert 0 < drawn < 6 and "the page&#39;s pictures reached" in page
