"""`datascan show` (one record: its fields, findings and picture) and `datascan explain`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from conftest import make_h5
from datascan.cli import main

DEMO = str(Path(__file__).resolve().parents[1] / "fixtures" / "demo_lmdb")


def test_show_by_key_writes_the_picture_as_decoded_and_as_stored(capsys, tmp_path):
    out = tmp_path / "r31.png"
    assert main(["show", DEMO, "00000031_img_031.jpg", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "DS401 error corrupt JPEG" in text and "JPEG 96x96 (HxW) RGB" in text
    assert Image.open(out).size == (96, 96)
    stored = tmp_path / "r31.stored.jpeg"
    assert stored.read_bytes()[:3] == b"\xff\xd8\xff"


def test_show_by_index_names_its_fields_findings_and_gray_rows(capsys):
    assert main(["show", DEMO, "#25"]) == 0
    text = capsys.readouterr().out
    assert "key 00000025_img_025.jpg  #25" in text
    assert "channels 3, height 32, width 32, label 5" in text
    assert ":#25: DS303 warning" in text and "rows 20..31 are flat gray 128" in text
    assert main(["show", DEMO, "#21", "--num-classes", "10"]) == 0
    assert "DS500 error label 12 outside [0, 10)" in capsys.readouterr().out


def test_show_of_what_is_not_there_is_one_error_line(capsys, tmp_path):
    for record in ("no-such-key", "#4800", "#x"):
        assert main(["show", DEMO, record]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_show_an_hdf5_row(capsys, tmp_path):
    data = np.ones((4, 2, 3, 3), np.float32)
    data[2, 1, 0, 0] = np.inf
    h5 = make_h5(tmp_path / "t.h5", data=data, label=np.zeros(4, np.float32))
    out = tmp_path / "row.png"
    assert main(["show", str(h5), "#2", "-o", str(out)]) == 0
    assert "1 inf (magenta)" in capsys.readouterr().out
    assert Image.open(out).size == (7, 3)          # two channels side by side
    assert main(["show", str(h5), "somekey"]) == 2


def test_explain(capsys):
    assert main(["explain", "ds303"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("DS303 (warning): bottom rows are flat gray 128")
    assert "convert_imageset" in text and "--ignore DS303" in text
    assert main(["explain"]) == 0
    assert len(capsys.readouterr().out.splitlines()) > 20
    assert main(["explain", "DS999"]) == 2
