"""HDF5 files and Caffe HDF5Data source lists: sources/hdf5.py, sources/h5list.py, checks/arrays.py.

Files are built with h5py in tmp_path; plan()/run() are called directly and merged
here the way scan.merge does (shard-local index + first_index), plus end-to-end runs
through main([...]).
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections import Counter
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest

from datascan.checks import arrays
from datascan.checks.labels import LabelRange
from datascan.checks.values import Values
from datascan.cli import main
from datascan.config import ScanConfig
from datascan.shard import run_shard
from datascan.sources import h5layout, hdf5, h5list
from conftest import corrupt_hdf5_chunk, make_h5

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def scan(path, n_shards: int = 3, **config):
    """plan + run every shard + merge: (plan, findings with absolute rows, results)."""
    cfg = ScanConfig(**config)
    plan = hdf5.plan(Path(path), cfg, n_shards)
    results = [run_shard(s, cfg) for s in plan.shards]
    for r in results:         # (the merge would read and remove their content logs' files)
        r.summary.contents.discard()
    findings = list(plan.findings)
    for r in results:
        findings += [f if f.index is None else replace(f, index=f.index + r.shard.first_index)
                     for f in r.findings]
    return plan, findings, results


def hits(findings, code=None) -> set:
    return {(f.code, Path(f.path).name, f.index) for f in findings if code in (None, f.code)}


def clean_rows(n: int, shape=(3, 4, 4), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *shape), dtype=np.float32)


# ---------------------------------------------------------------- planted faults

def test_planted_value_and_label_faults_are_found_at_their_rows(tmp_path):
    data = clean_rows(1000)
    data[5, 0, 1, 1] = data[5, 2, 0, 0] = np.nan
    data[700, 1, 1, 1] = np.inf
    data[300, 0, 0, 0] = -3e9
    data[400, 0, 0, 0] = 70000.0
    label = (np.arange(1000) % 10).astype(np.float32)
    label[17], label[30], label[40] = 12, 2.5, -1
    extra = np.zeros((1000, 2))
    extra[999, 1] = np.nan
    path = make_h5(tmp_path / "faults.h5",
                   data=(data, dict(chunks=(64, 3, 4, 4), compression="gzip", shuffle=True)),
                   label=(label, dict(chunks=(128,), compression="lzf")),
                   g__extra=extra)
    plan, findings, results = scan(path, n_shards=4, num_classes=10)
    assert plan.records == 1000 and len(plan.shards) >= 1
    assert sum(r.records for r in results) == 1000
    assert hits(findings) == {("DS300", "faults.h5", 5), ("DS300", "faults.h5", 700),
                              ("DS300", "faults.h5", 999), ("DS301", "faults.h5", 300),
                              ("DS302", "faults.h5", 400), ("DS500", "faults.h5", 17),
                              ("DS500", "faults.h5", 40), ("DS501", "faults.h5", 30)}
    by_row = {(f.code, f.index): f for f in findings}
    assert "2 NaN" in by_row["DS300", 5].message and "'data'" in by_row["DS300", 5].message
    assert "1 inf" in by_row["DS300", 700].message
    assert "'g/extra'" in by_row["DS300", 999].message
    assert all(f.path == str(path) and f.key is None for f in findings)
    labels = sum((r.summary.labels.counts for r in results), Counter())
    assert labels[12] == 1 and labels[-1] == 1 and sum(labels.values()) == 999   # 2.5 is not counted


def test_shards_follow_chunks_and_cover_every_row_once(tmp_path):
    # MATLAB's store2hdf5 writes chunked datasets with an unlimited first dimension.
    path = tmp_path / "matlab.h5"
    with h5py.File(path, "w") as f:
        d = f.create_dataset("data", shape=(0, 1, 5, 5), maxshape=(None, 1, 5, 5),
                             chunks=(32, 1, 5, 5), dtype="f4")
        lab = f.create_dataset("label", shape=(0, 1), maxshape=(None, 1), chunks=(32, 1), dtype="f8")
        for part in range(5):
            d.resize(d.shape[0] + 50, axis=0)
            lab.resize(lab.shape[0] + 50, axis=0)
            d[-50:] = clean_rows(50, (1, 5, 5), seed=part)
            lab[-50:, 0] = 1
        d[233, 0, 2, 2] = np.nan
    plan = hdf5.plan(path, ScanConfig(), 1)
    h5layout.BLOCK_BYTES, saved = 4096, h5layout.BLOCK_BYTES      # force many small blocks and shards
    try:
        plan = hdf5.plan(path, ScanConfig(), 5)
        results = [run_shard(s, ScanConfig()) for s in plan.shards]
        for r in results:
            r.summary.contents.discard()
    finally:
        h5layout.BLOCK_BYTES = saved
    assert len(plan.shards) > 1
    assert [s.start for s in plan.shards] == [s.first_index for s in plan.shards]
    assert all(s.start % 32 == 0 for s in plan.shards)
    assert [s.stop for s in plan.shards[:-1]] == [s.start for s in plan.shards[1:]]
    assert plan.shards[-1].stop == 250 == sum(r.records for r in results)
    found = [(f.index + r.shard.first_index) for r in results for f in r.findings]
    assert found == [233]


def test_labels_without_num_classes_regression_targets_and_ignore_label(tmp_path):
    path = make_h5(tmp_path / "r.h5", data=clean_rows(6),
                   label=np.array([0.25, -1.0, 3.0, -0.5, 255, -7], dtype=np.float32),
                   target=np.array([[1, -2], [0, 1], [0, 0], [1, 1], [0, 0], [1, 1]], "i4"))
    _, findings, _ = scan(path)
    assert hits(findings, "DS503") == {("DS503", "r.h5", 1), ("DS503", "r.h5", 5)}  # not -0.5
    assert not hits(findings, "DS501")                       # fractional: a regression target
    assert hits(findings, "DS602") == {("DS602", "r.h5", None)}   # int data 'target': info
    _, findings, _ = scan(path, ignore_label=-1)
    assert hits(findings, "DS503") == {("DS503", "r.h5", 5)}
    _, findings, _ = scan(path, num_classes=256, ignore_label=-1)
    assert hits(findings, "DS500") == {("DS500", "r.h5", 5)}
    assert hits(findings, "DS501") == {("DS501", "r.h5", 0), ("DS501", "r.h5", 3)}
    _, findings, _ = scan(path, label_datasets=("label", "target"), num_classes=2)
    assert ("DS500", "r.h5", 0) in hits(findings)            # target -2 in row 0


def test_multi_column_and_uint8_labels(tmp_path):
    label = np.zeros((8, 3), np.uint8)
    label[6, 2] = 9
    path = make_h5(tmp_path / "m.h5", data=(clean_rows(8), dict(compression="gzip")),
                   label=(label, dict(compression="gzip")))
    _, findings, results = scan(path, num_classes=5)
    assert [(f.code, f.index) for f in findings] == [("DS500", 6)]
    assert not results[0].summary.labels      # three labels per row: no class histogram


def test_mismatched_first_dimensions_are_ds601_and_not_scanned(tmp_path):
    data = clean_rows(10)
    data[3] = np.nan
    path = make_h5(tmp_path / "mis.h5", data=data, label=np.zeros(9, np.float32))
    plan, findings, _ = scan(path)
    assert [f.code for f in findings] == ["DS601"]
    assert plan.shards == () and plan.records == 0
    assert "'data' 10" in findings[0].message and "'label' 9" in findings[0].message


def test_string_compound_and_scalar_datasets(tmp_path):
    data = clean_rows(4)
    data[2] = np.inf
    path = make_h5(tmp_path / "types.h5", data=data, label=np.zeros(4, np.float32),
                   names=np.array([b"a", b"b", b"c", b"d"]),
                   pairs=np.zeros(4, dtype=[("a", "i4"), ("b", "f4")]),
                   count=np.float32(4))
    plan, findings, _ = scan(path)
    ds602 = {f.message.split("'")[1]: f.severity.value for f in findings if f.code == "DS602"}
    assert ds602 == {"names": "error", "pairs": "error"}
    assert {(f.code, f.severity.value) for f in findings if f.code == "DS601"} == {("DS601", "warning")}
    assert ("DS300", "types.h5", 2) in hits(findings) and plan.records == 4


# ---------------------------------------------------------------- storage damage

def test_corrupt_chunk_is_ds101_for_its_rows_and_other_chunks_are_checked(tmp_path):
    data = np.random.default_rng(1).random((1000, 10)).astype(np.float32)
    data[850, 3] = np.nan
    good = make_h5(tmp_path / "good.h5", data=(data, dict(chunks=(100, 10), compression="gzip")),
                   label=np.zeros(1000, np.float32))
    bad = tmp_path / "bad.h5"
    chunk = corrupt_hdf5_chunk(good, bad, "data", 3)
    assert chunk.chunk_offset == (300, 0)               # rows 300-399
    _, findings, results = scan(bad, n_shards=1)
    assert {f.index for f in findings if f.code == "DS101"} == set(range(300, 400))
    assert "rows 300-399" in next(f for f in findings if f.code == "DS101").message
    assert ("DS300", "bad.h5", 850) in hits(findings)
    assert sum(r.records for r in results) == 1000


def test_missing_filter_is_ds101_for_the_rows_it_holds(tmp_path):
    path = tmp_path / "blosc.h5"
    with h5py.File(path, "w") as f:
        d = f.create_dataset("data", shape=(10, 4), dtype="f4", chunks=(5, 4), compression=32001,
                             allow_unknown_filter=True)     # a filter id no plugin provides here
        for row in (0, 5):
            d.id.write_direct_chunk((row, 0), np.zeros((5, 4), "f4").tobytes())
        f["label"] = np.zeros(10, "f4")
    _, findings, _ = scan(path)
    assert {f.index for f in findings if f.code == "DS101"} == set(range(10))
    assert "not available" in findings[0].message


def test_truncated_and_foreign_files_are_findings_not_tracebacks(tmp_path, capsys):
    whole = make_h5(tmp_path / "whole.h5", data=clean_rows(2000), label=np.zeros(2000, "f4"))
    blob = whole.read_bytes()
    for name, cut in (("half.h5", len(blob) // 2), ("head.h5", 40), ("sig.h5", 12)):
        (tmp_path / name).write_bytes(blob[:cut])
        plan, findings, _ = scan(tmp_path / name)
        assert [f.code for f in findings] == ["DS102"], name
        assert plan.shards == ()
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"\x00\x01not hdf5" * 100)
    assert not hdf5.sniff(junk)
    assert [f.code for f in scan(junk)[1]] == ["DS100"]
    assert main(["check", str(tmp_path / "half.h5"), "--format", "json", "--quiet"]) == 1
    assert json.loads(capsys.readouterr().out)["findings"][0]["code"] == "DS102"


def test_user_block_file_is_recognised(tmp_path):
    path = tmp_path / "ub.h5"
    with h5py.File(path, "w", userblock_size=1024) as f:
        f["data"] = clean_rows(3)
    assert h5list.signature_offset(path) == 1024 and hdf5.sniff(path)
    assert scan(path)[0].records == 3


# ---------------------------------------------------------------- source lists

def test_list_with_missing_file_reports_ds103_and_scans_the_others(tmp_path):
    a = clean_rows(5)
    a[4] = np.nan
    make_h5(tmp_path / "a.h5", data=a, label=np.zeros(5, "f4"))
    make_h5(tmp_path / "b.h5", data=clean_rows(7), label=np.full(7, 3, "f4"))
    lst = tmp_path / "train.txt"
    lst.write_text("a.h5\n  gone.h5 b.h5\n")
    assert hdf5.sniff(lst)
    plan, findings, results = scan(lst)
    assert plan.records == 12 and plan.source == str(lst)
    assert {s.file for s in plan.shards} == {str(tmp_path / "a.h5"), str(tmp_path / "b.h5")}
    assert [s.shard_id for s in plan.shards] == list(range(len(plan.shards)))
    assert hits(findings) == {("DS103", "train.txt", None), ("DS300", "a.h5", 4)}
    assert sum((r.summary.labels.counts for r in results), Counter()) == Counter({0: 5, 3: 7})


def test_list_with_foreign_absolute_path_resolves_beside_the_list(tmp_path):
    make_h5(tmp_path / "train.h5", data=clean_rows(4), label=np.array([0, 1, 2, 7], "f4"))
    lst = tmp_path / "list.txt"
    lst.write_text("/home/someone/caffe/data/train.h5\n/home/someone/caffe/data/train.h5\n"
                   "C:\\caffe\\data\\train.h5\n")
    plan, findings, _ = scan(lst, num_classes=5)
    assert plan.records == 4                                  # the repeated file is scanned once
    assert hits(findings) == {("DS104", "list.txt", None), ("DS500", "train.h5", 3)}
    assert sum(f.code == "DS104" for f in findings) == 2      # one per distinct written name
    row = next(f for f in findings if f.code == "DS500")
    assert row.path == str(tmp_path / "train.h5") and row.key is None


def test_sniff_tells_lists_from_other_text(tmp_path):
    make_h5(tmp_path / "x.h5", data=clean_rows(2))
    (tmp_path / "noext").write_bytes((tmp_path / "x.h5").read_bytes())
    cases = {"bare.txt": "noext\n", "suffix.txt": "elsewhere/y.hdf5 z.H5\n",
             "images.txt": "img/0.jpg 0\nimg/1.jpg 1\n", "empty.txt": "", "notes.txt": "hello world\n"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    assert {n for n in cases if hdf5.sniff(tmp_path / n)} == {"bare.txt", "suffix.txt"}
    assert hdf5.sniff(tmp_path / "noext") and not hdf5.sniff(tmp_path)
    assert not hdf5.sniff(tmp_path / "missing.h5")


# ---------------------------------------------------------------- links and external storage

def test_external_links_outside_are_reported_not_followed(tmp_path):
    inner, outer = tmp_path / "set", tmp_path / "elsewhere"
    inner.mkdir(), outer.mkdir()
    bad = clean_rows(3)
    bad[1] = np.nan
    make_h5(outer / "far.h5", extra=bad)
    make_h5(inner / "near.h5", extra=bad, grp__more=bad)
    path = inner / "main.h5"
    with h5py.File(path, "w") as f:
        f["data"] = clean_rows(3)
        f["far"] = h5py.ExternalLink(str(outer / "far.h5"), "/extra")
        f["near"] = h5py.ExternalLink("near.h5", "/extra")
        f["nearg"] = h5py.ExternalLink("near.h5", "/grp")
        f["alias"] = h5py.SoftLink("/data")
    _, findings, _ = scan(path)
    ds105 = sorted(f.message for f in findings if f.code == "DS105")
    assert len(ds105) == 3
    assert "not scanned" in ds105[0] and "'far'" in ds105[0]
    assert all("scanned" in m and "not scanned" not in m for m in ds105[1:])
    nan = {f.message.split("'")[1] for f in findings if f.code == "DS300"}
    assert nan == {"near", "nearg/more"} and {f.index for f in findings if f.code == "DS300"} == {1}


def test_external_raw_storage_resolves_beside_the_file(tmp_path, monkeypatch):
    raw = np.arange(12, dtype="<f4")
    raw[5] = np.nan
    (tmp_path / "raw.bin").write_bytes(raw.tobytes())
    path = tmp_path / "ext.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("data", shape=(6, 2), dtype="<f4", external=[("raw.bin", 0, 48)])
        f.create_dataset("far", shape=(6,), dtype="<f4", external=[("/etc/hostname", 0, 24)])
    monkeypatch.chdir(tmp_path.parent)      # HDF5's default would look in the working directory
    _, findings, _ = scan(path)
    assert {(f.code, f.index) for f in findings} == {("DS105", None), ("DS300", 2)}
    assert sorted("not scanned" in f.message for f in findings if f.code == "DS105") == [False, True]


def test_virtual_datasets_read_only_sources_inside_the_directory(tmp_path):
    inner, outer = tmp_path / "set", tmp_path / "elsewhere"
    inner.mkdir(), outer.mkdir()
    part = clean_rows(4, (2,))
    part[3, 1] = np.nan
    make_h5(inner / "part.h5", x=part)
    make_h5(outer / "far.h5", x=part)
    path = inner / "vds.h5"
    with h5py.File(path, "w") as f:
        for name, source in (("near", "part.h5"), ("far", str(outer / "far.h5"))):
            layout = h5py.VirtualLayout(shape=(4, 2), dtype="f4")
            layout[:] = h5py.VirtualSource(source, "x", shape=(4, 2))
            f.create_virtual_dataset(name, layout)
    _, findings, _ = scan(path)
    assert sorted((f.code, f.index) for f in findings) == [("DS105", None), ("DS105", None),
                                                           ("DS300", 3)]
    assert "'near'" in next(f.message for f in findings if f.code == "DS300")


# ---------------------------------------------------------------- checks/arrays.py

def test_array_checks_are_per_row_and_reusable():
    rows = np.array([[0, np.nan, np.inf, np.nan], [1, 2, 3, 4], [2e8, -5e8, 7e4, 0]], np.float32)
    where, nan, inf = arrays.nonfinite_rows(rows)
    assert where.tolist() == [0] and nan.tolist() == [2] and inf.tolist() == [1]
    assert arrays.nonfinite_rows(rows[1:]) is None
    big = arrays.magnitude_rows(rows, 1e8)
    assert list(big) == [(2, 2, 2e8)]
    assert arrays.peak_magnitude(rows[1:]) == 5e8
    assert arrays.finite_peak(rows[1:]) == 5e8
    for bad in (np.nan, np.inf, -np.inf):       # any one of them, anywhere: no peak
        block = rows[1:].copy()
        block[1, 3] = bad
        assert arrays.finite_peak(block) is None
    assert arrays.finite_peak(np.array([[3, -7]], np.int16)) == 7
    assert [c.code for _, c, _ in Values().find(rows, "x")] == ["DS300", "DS301"]
    labels = np.array([[0], [2.5], [-1], [9]], np.float64)
    assert [r for r, *_ in LabelRange(5, ignore_label=-1).hits(labels)] == [3]
    assert [r for r, *_ in arrays.fractional_rows(labels)] == [1]
    assert [r for r, *_ in LabelRange(None, None).hits(labels)] == [2]
    assert arrays.integer_histogram(labels) == Counter({0: 1, -1: 1, 9: 1})
    assert arrays.as_rows(np.zeros((0, 3, 2))).shape == (0, 6)


def test_each_column_is_read_in_blocks_of_whole_chunks():
    def column(shape, chunk_rows, itemsize=4):
        return h5layout.Column("d", "f.h5", "/d", False, shape, itemsize, chunk_rows)
    block_rows = hdf5.block_rows
    per_block = h5layout.BLOCK_BYTES // (3 * 64 * 64 * 4)          # 170 rows of 3x64x64 float32
    assert block_rows(column((10**6, 3, 64, 64), 16)) == per_block - per_block % 16
    assert block_rows(column((10**6,), 1024)) % 1024 == 0    # a label column: its own chunks
    assert block_rows(column((10**6, 3, 64, 64), 4096)) == per_block   # chunk > a block
    assert block_rows(column((10**6, 3, 64, 64), 0)) == per_block      # contiguous


# ---------------------------------------------------------------- memory and speed

def write_big(path: Path, rows: int = 51200) -> Path:
    """~200 MB float32 (rows x 1024), written in pieces; one NaN at row rows - 7."""
    with h5py.File(path, "w") as f:
        d = f.create_dataset("data", shape=(rows, 1, 32, 32), dtype="f4", chunks=(256, 1, 32, 32))
        f.create_dataset("label", data=(np.arange(rows) % 10).astype(np.float32))
        piece = np.random.default_rng(0).random((2048, 1, 32, 32), dtype=np.float32)
        for i in range(0, rows, 2048):
            d[i:i + 2048] = piece[:min(2048, rows - i)]
        d[rows - 7, 0, 3, 3] = np.nan
    return path


def test_memory_stays_bounded_on_a_file_much_larger_than_the_block(tmp_path):
    path = write_big(tmp_path / "big.h5")
    size = path.stat().st_size
    assert size > 20 * h5layout.BLOCK_BYTES
    tracemalloc.start()
    started = time.perf_counter()
    try:
        _, findings, results = scan(path, n_shards=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    seconds = time.perf_counter() - started
    read = sum(r.bytes_read for r in results)
    print(f"\n{size / 2**20:.0f} MiB file: tracemalloc peak {peak / 2**20:.1f} MiB, "
          f"{read / 2**20 / seconds:.0f} MiB/s")
    assert read >= 200 * 2**20 and [(f.code, f.index) for f in findings] == [("DS300", 51193)]
    assert peak < 64 * 2**20      # the block budget (8 MiB) plus checks' masks, not the file


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc for VmHWM")
def test_peak_rss_of_a_scan_process_stays_bounded(tmp_path):
    # tracemalloc does not see HDF5's own buffers; the kernel's high-water mark does. It is read
    # in a fresh process (ru_maxrss would carry pytest's peak across fork+exec).
    path = write_big(tmp_path / "big.h5")
    probe = textwrap.dedent(f"""
        from datascan.sources import hdf5
        from datascan.shard import run_shard
        from datascan.config import ScanConfig
        def kib(key):
            return int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith(key)))
        plan = hdf5.plan({str(path)!r}, ScanConfig(), 1)
        try:
            open("/proc/self/clear_refs", "w").write("5")    # reset VmHWM to the current RSS
        except OSError:
            pass
        before = kib("VmRSS:")
        for shard in plan.shards:
            run_shard(shard, ScanConfig()).summary.contents.discard()
        print((kib("VmHWM:") - before) * 1024)
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    growth = int(out.stdout.strip())
    print(f"\npeak RSS growth while scanning {path.stat().st_size / 2**20:.0f} MiB: "
          f"{growth / 2**20:.1f} MiB")
    assert growth < 64 * 2**20


# ---------------------------------------------------------------- real data

REAL_ERRORS = {   # the known faults in ../shared/realdata (see its PROVENANCE.md, caffe-ref/MANIFEST.md)
    "caffe-ref/train/h5/main.h5": {("DS300", "main.h5", 9)},
    "caffe-ref/train/h5/main.txt": {("DS300", "main.h5", 9)},
    "caffe-ref/train/h5/only_nan.h5": {("DS300", "only_nan.h5", 9)},
    "caffe-ref/train/h5/only_nan.txt": {("DS300", "only_nan.h5", 9)},
    # the training .h5 these lists name was not in the snapshot
    "wangxuewen99-sr-matlab-hdf5/ESPCN/train.txt": {("DS103", "train.txt", None)},
    "wangxuewen99-sr-matlab-hdf5/FSRCNN/train.txt": {("DS103", "train.txt", None)},
}


def real_sources() -> list[str]:
    if not REALDATA.is_dir():
        return []
    return sorted(str(p.relative_to(REALDATA)) for p in REALDATA.rglob("*")
                  if p.is_file() and p.suffix in (".h5", ".txt", ".in", ".cmake") and hdf5.sniff(p))


@pytest.mark.skipif(not REALDATA.is_dir(), reason=f"{REALDATA} not present (only beside the dev checkout)")
def test_realdata_every_h5_and_list_is_recognised():
    found = set(real_sources())
    every = {str(p.relative_to(REALDATA)) for p in REALDATA.rglob("*.[th][x5]*")
             if p.suffix in (".h5", ".txt")}
    assert {p for p in every if p.endswith(".h5")} <= found and len(found) >= 40
    missed = {p for p in every - found if ".h5" in (REALDATA / p).read_text(errors="replace")}
    assert missed == set() and "caffe-ref/list.txt" not in found   # an image list


@pytest.mark.skipif(not REALDATA.is_dir(), reason=f"{REALDATA} not present (only beside the dev checkout)")
@pytest.mark.parametrize("name", real_sources() or ["-"])
def test_realdata_has_no_false_errors(name):
    path = REALDATA / name
    plan, findings, results = scan(path)
    errors = hits([f for f in findings if f.severity.value == "error"])
    assert errors == REAL_ERRORS.get(name, set())
    assert sum(r.records for r in results) == plan.records
    if name not in REAL_ERRORS:
        assert plan.records > 0


@pytest.mark.skipif(not REALDATA.is_dir(), reason=f"{REALDATA} not present (only beside the dev checkout)")
def test_realdata_out_of_range_labels_with_num_classes():
    h5 = REALDATA / "caffe-ref" / "train" / "h5"
    for name, row in (("only_label12_mid", 2), ("only_label12_last", 3), ("main", 2)):
        _, findings, _ = scan(h5 / f"{name}.txt", num_classes=10)
        assert ("DS500", f"{name}.h5", row) in hits(findings)
    _, findings, _ = scan(h5 / "clean.h5", num_classes=10)
    assert findings == []
    # Caffe's test data: uint8 labels 1..10 in a gzip file, float64 data, list of foreign paths
    test_data = REALDATA / "bvlc-caffe-test-h5" / "src" / "caffe" / "test" / "test_data"
    _, findings, results = scan(test_data / "sample_data_2_gzip.h5", num_classes=11)
    assert [f.code for f in findings] == ["DS602"] and results[0].summary.labels.counts == Counter(range(1, 11))


# ---------------------------------------------------------------- end to end

def run_json(capsys, *args) -> tuple[int, dict]:
    code = main(["check", *map(str, args), "--format", "json", "--quiet"])
    return code, json.loads(capsys.readouterr().out)


def test_cli_end_to_end_on_a_list_with_json(capsys, tmp_path):
    data = clean_rows(3000, (2, 4, 4))
    data[2500, 1, 0, 0] = np.nan
    label = (np.arange(3000) % 4).astype(np.float32)
    label[10] = 9
    make_h5(tmp_path / "one.h5", data=(data, dict(chunks=(100, 2, 4, 4), compression="gzip")),
            label=label)
    make_h5(tmp_path / "two.h5", data=clean_rows(50, (2, 4, 4)), label=np.zeros(50, "f4"))
    lst = tmp_path / "train.txt"
    lst.write_text(f"/elsewhere/one.h5\n{tmp_path / 'two.h5'}\nmissing.h5\n")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    code, report = run_json(capsys, lst, "--num-classes", "4", "--jobs", "2",
                            "--ignore", "DS61")       # (two.h5 repeats one.h5's first rows)
    assert code == 1
    assert report["sources"] == [{"path": str(lst), "format": "hdf5", "records": 3050,
                                  "encoding": "array", "labels": report["sources"][0]["labels"]}]
    assert report["sources"][0]["labels"]["max"] == 9
    got = {(f["code"], Path(f["path"]).name, f["index"]) for f in report["findings"]}
    assert got == {("DS103", "train.txt", None), ("DS104", "train.txt", None),
                   ("DS500", "one.h5", 10), ("DS300", "one.h5", 2500)}
    assert report["summary"]["bad_records"] == 2 and report["summary"]["errors"] == 3
    assert before == {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    code, report = run_json(capsys, tmp_path / "two.h5")
    assert code == 0 and report["findings"] == [] and report["summary"]["records"] == 50


def test_labels_asked_for_but_no_dataset_holds_them_is_one_ds502(tmp_path):
    # A typo in --label-dataset, or --num-classes on a file whose labels have another name,
    # would otherwise check no label at all, silently.
    path = make_h5(tmp_path / "t.h5", data=clean_rows(6), labels=np.arange(6, dtype=np.float32))
    _, found, _ = scan(path, num_classes=3)
    assert [(f.code, f.severity.value, f.index) for f in found] == [("DS502", "warning", None)]
    assert "'label'" in found[0].message and "'labels'" in found[0].message
    _, found, _ = scan(path, num_classes=3, label_datasets=("labels",))
    assert hits(found) == {("DS500", "t.h5", 3), ("DS500", "t.h5", 4), ("DS500", "t.h5", 5)}
    _, found, _ = scan(path, label_datasets=("lbl",))
    assert hits(found) == {("DS502", "t.h5", None)}
    _, found, _ = scan(path)                  # nothing asked of labels: nothing said
    assert found == []
    assert main(["check", str(path), "--label-dataset", "lbl", "-q"]) == 0     # a warning
    assert main(["check", str(path), "--label-dataset", "lbl", "-q", "--fail-on", "warning"]) == 1


def _mapped_files(tmp_path) -> dict[str, Path]:
    """Files whose rows can be mapped (chunked whole rows, contiguous) and some that cannot
    (compressed, rows split over chunks, chunks never written, a cut file), each with a NaN,
    an extreme value and copies in it."""
    rng = np.random.default_rng(3)
    data = rng.random((500, 3, 4, 4)).astype(np.float32)
    data[17, 1, 2, 3], data[333, 0, 0, 0] = np.nan, 3e9
    data[400] = data[10]
    label = (np.arange(500) % 7).astype(np.float32)
    files = {
        "chunked": make_h5(tmp_path / "chunked.h5", data=(data, dict(chunks=(16, 3, 4, 4))), label=label),
        "contiguous": make_h5(tmp_path / "contiguous.h5", data=data, label=label),
        "gzip": make_h5(tmp_path / "gzip.h5", data=(data, dict(chunks=(16, 3, 4, 4), compression="gzip")),
                        label=label),
        "split rows": make_h5(tmp_path / "split.h5", data=(data, dict(chunks=(16, 3, 2, 4))), label=label),
        "f64 big-endian": make_h5(tmp_path / "be.h5", data=data.astype(">f8"), label=label),
    }
    sparse = tmp_path / "sparse.h5"          # chunks 2-4 never written: fill values
    with h5py.File(sparse, "w") as f:
        d = f.create_dataset("data", (500, 3, 4, 4), np.float32, chunks=(32, 3, 4, 4), fillvalue=np.nan)
        d[:64], d[160:] = data[:64], data[160:]
        f["label"] = label
    files["sparse"] = sparse
    cut = tmp_path / "cut.h5"
    blob = files["chunked"].read_bytes()
    cut.write_bytes(blob[:len(blob) * 2 // 3])
    files["cut"] = cut
    return files


def test_rows_read_from_a_mapping_give_the_report_h5py_reads_give(tmp_path, monkeypatch):
    from datascan import scan as scan_api
    from datascan.sources import h5map
    files = _mapped_files(tmp_path)
    with h5py.File(files["chunked"], "r") as f, h5py.File(files["contiguous"], "r") as g, \
            h5py.File(files["gzip"], "r") as z, h5py.File(files["split rows"], "r") as s:
        assert h5map.Mapped.of(f["data"]) is not None and h5map.Mapped.of(g["data"]) is not None
        assert h5map.Mapped.of(z["data"]) is None and h5map.Mapped.of(s["data"]) is None

    def reports():
        out = {}
        for name, path in files.items():
            for jobs in (1, 2):
                try:
                    r = scan_api(path, num_classes=7, jobs=jobs)
                except Exception as e:          # the cut file may not open at all
                    out[name, jobs] = type(e).__name__
                    continue
                out[name, jobs] = (r.records, [(f.code, f.index, f.message) for f in r.findings])
        return out

    mapped = reports()
    monkeypatch.setattr(h5map.Mapped, "of", classmethod(lambda cls, ds: None))
    assert reports() == mapped
    codes = {c for f in mapped["chunked", 2][1] for c in f[:1]}
    assert {"DS300", "DS301", "DS612"} <= codes
