"""`datascan doctor --format html`: the page's parts (verdict, curves with nan/inf marked,
findings with their evidence, per-layer table, lint, records), escaping, and the page opened
in real headless Chromium (tests/browser.py) on a real log and on a synthetic one."""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

from PIL import Image

from conftest import realdata
from datascan import doctor
from datascan.cli import main
from datascan.report.doctor import render_html
from doctor_logs import glog, healthy_debug, iteration, start

ROOT = Path(__file__).resolve().parents[1]
ARTEFACTS = Path(os.environ.get("DATASCAN_ARTEFACTS", ROOT / "test-artefacts"))
EVIL = "<script>alert(1)</script>"
TEXT = "document.body.innerText"
MARKS = "document.querySelectorAll('svg.curve [data-nonfinite]').length"


def _evil_log(tmp_path) -> Path:
    """A run whose layer name and abort message carry markup: NaN in that layer at iteration 3,
    then an abort that quotes it."""
    lines = start(max_iter=10)
    for i in range(3):
        lines += iteration(i, 2.3 - 0.1 * i, debug={**healthy_debug(),
                                                    ("Forward", EVIL, "top blob ip data"): 0.1})
    bad = {**healthy_debug(), ("Forward", EVIL, "top blob ip data"): "nan"}
    lines += iteration(3, "nan", debug=bad) + iteration(4, "nan", lr="nan")
    lines.append(glog(f"Check failed: {EVIL} (3 vs. 1)", sev="F", where="blob.cpp:33"))
    path = tmp_path / "evil.log"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_page_shows_verdict_curves_findings_and_layers_escaped(tmp_path):
    page = render_html(doctor(_evil_log(tmp_path), data=False))
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert len(re.findall(r"<script>", page)) == 1            # only the page's own script
    assert 'id="headline"' in page and "http://" not in page.replace("http://www.w3.org", "")
    assert page.count('<svg class="curve"') == 2              # loss and lr
    assert page.count("data-nonfinite") == 2 + 1              # loss nan x2, lr nan x1: drawn
    assert page.count("first NaN/inf: iteration 3") == 2      # the line on both curves
    assert '<pre class="evidence">' in page and "Check failed" in page
    assert 'class="bad"' in page and "first non-finite value: nan at iteration 3" in page


def test_lint_only_and_a_log_without_debug_info_render_too(tmp_path):
    net = tmp_path / "net.prototxt"
    net.write_text('name: "n"\nlayer { name: "p" type: "Pooling" bottom: "x" top: "p"\n'
                   '  pooling_param { pool: AVE kernel_size: 2 stride: 3 } }\n')
    page = render_html(doctor(net=net))
    assert "DS900" in page and 'id="curves"' not in page and 'id="layers"' not in page
    log = tmp_path / "plain.log"
    log.write_text("\n".join(start() + iteration(0, 2.3) + iteration(10, 2.1)) + "\n")
    page = render_html(doctor(log))
    assert 'class="verdict pass"' in page and "data-nonfinite" not in page
    assert "No findings in the log." in page


def test_cli_writes_the_page(tmp_path):
    out = tmp_path / "d.html"
    assert main(["doctor", str(_evil_log(tmp_path)), "--format", "html", "-o", str(out)]) == 1
    assert out.read_text().startswith("<!DOCTYPE html>")


# ------------------------------------------------------------------ in a real browser

def _visit(page: Path):
    from browser import visit
    seen = visit(page, (TEXT, MARKS, "window.__alerts"))
    assert seen.errors == [] and seen.dialogs == [] and seen.values["window.__alerts"] == []
    assert [u for u in seen.requests if u != page.resolve().as_uri()] == []
    Image.open(io.BytesIO(seen.screenshot)).verify()
    return seen


def test_real_log_page_in_chromium(tmp_path):
    logs = realdata("caffe-ref", "train")
    page = tmp_path / "doctor.html"
    assert main(["doctor", str(logs / "logs" / "train_hdf5_main.log"), "--net",
                 str(logs / "net_hdf5_main.prototxt"), "--format", "html", "-o", str(page)]) == 1
    seen = _visit(page)
    text = seen.values[TEXT]
    assert "NaN at iteration 2, first in layer data's forward top data data" in text
    assert "row 9 of main.h5" in text and "[Forward] Layer data, top blob data data: nan" in text
    assert seen.values[MARKS] >= 1
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / "doctor_report.png").write_bytes(seen.screenshot)


def test_injected_log_text_shows_as_text_in_chromium(tmp_path):
    page = tmp_path / "evil.html"
    main(["doctor", str(_evil_log(tmp_path)), "--format", "html", "-o", str(page)])
    seen = _visit(page)
    assert EVIL in seen.values[TEXT] and seen.values[MARKS] == 3


def test_the_per_layer_table_is_bounded_and_says_so(tmp_path):
    from datascan.doctor.evidence import MAX_LAYERS
    debug = {("Forward", f"l{k}", f"top blob l{k} data"): 0.5 for k in range(MAX_LAYERS + 30)}
    debug[("Backward", "l7", "bottom blob l6 diff")] = "nan"
    log = tmp_path / "wide.log"
    log.write_text("\n".join(start() + iteration(0, 2.3, debug=debug)) + "\n")
    report = doctor(log, data=False)
    assert len(report.layers) == MAX_LAYERS and report.layers_left == 31
    assert report.layers[0].bad                           # what stands out is kept
    assert "and 31 more blobs not listed" in render_html(report)
