"""datascan clean: verified copies without the bad records, on datasets built in tmp_path."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import lmdb
import numpy as np
import pytest

from datascan import clean, scan
from datascan.cli import main
from datascan.clean import CleanRefused, atomic
from datascan.sources import leveldb as leveldb_source
from datascan.sources import lmdb as lmdb_source
from conftest import corrupt_hdf5_chunk, corrupt_leveldb_table, float_datum, key, raw_datum, realdata, tree_state

NUM_CLASSES = 3


def read_kv(path: Path) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of an LMDB or LevelDB, in key order."""
    if (path / "CURRENT").exists():
        with leveldb_source.open_db(path) as db:
            return list(db.iterator())
    env = lmdb.open(str(path), readonly=True, lock=False, subdir=path.is_dir())
    try:
        with env.begin() as txn:
            return list(txn.cursor())
    finally:
        env.close()


def faulty_records(n: int = 40) -> tuple[list[tuple[bytes, bytes]], dict[int, str], dict[int, str]]:
    """Records with planted faults: (records, errors by index, warnings by index)."""
    recs = [(key(i), raw_datum(i % NUM_CLASSES, seed=i)) for i in range(n)]
    nan = np.random.default_rng(1).random((3, 8, 8), dtype=np.float32)
    nan[1, 2, 3] = np.nan
    errors = {3: "DS200", 7: "DS300", 11: "DS500", 15: "DS600"}
    recs[3] = (key(3), b"\xff\xfe not a datum")
    recs[7] = (key(7), float_datum(nan, 1))
    recs[11] = (key(11), raw_datum(7, seed=11))
    recs[15] = (key(15), raw_datum(1, shape=(1, 8, 8), seed=15))
    warnings = {20: "DS301"}
    recs[20] = (key(20), float_datum(np.full((3, 8, 8), 1e9, dtype=np.float32), 2))
    return recs, errors, warnings


@pytest.fixture(params=["make_lmdb", "make_leveldb"])
def make_db(request):
    return request.getfixturevalue(request.param)


def manifest_of(dst: Path) -> dict:
    return json.loads((dst.parent / (dst.name + ".manifest.json")).read_text())


# ------------------------------------------------------------------ LMDB and LevelDB

@pytest.mark.parametrize("drop", ["error", "warning"])
def test_kv_round_trip_drops_exactly_the_bad_records(make_db, tmp_path, drop):
    recs, errors, warnings = faulty_records()
    src = make_db(recs)
    before = tree_state(src)
    bad = {**errors, **(warnings if drop == "warning" else {})}
    dst, qdir = tmp_path / "out", tmp_path / "quarantine"
    result = clean(src, dst, num_classes=NUM_CLASSES, drop=drop, quarantine=qdir, jobs=2)

    assert result.ok and result.verification.problems == ()
    assert read_kv(dst) == [r for i, r in enumerate(recs) if i not in bad]
    assert read_kv(qdir) == [r for i, r in enumerate(recs) if i in bad]
    assert (result.kept, len(result.dropped), result.source_records) == (40 - len(bad), len(bad), 40)
    assert tree_state(src) == before
    assert leveldb_source.sniff(dst) == leveldb_source.sniff(src)

    m = manifest_of(dst)
    assert [(d["index"], d["key"], d["codes"], d["quarantined"]) for d in m["dropped"]] == \
        [(i, key(i).decode(), [code], True) for i, code in sorted(bad.items())]
    assert all(d["path"] == str(src) for d in m["dropped"])
    assert m["counts"] == {"source": 40, "kept": 40 - len(bad), "dropped": len(bad),
                           "dropped_in_files": 0,
                           "by_code": {c: 1 for c in sorted(bad.values())}}
    assert m["verification"]["ok"] and m["destination"]["path"] == str(dst)
    assert m["quarantine"] == {"path": str(qdir), "records": len(bad)}
    assert not list(tmp_path.glob(".*datascan-*"))        # no temporaries left behind


def test_clean_source_is_copied_record_for_record(make_db, tmp_path):
    recs = [(key(i), raw_datum(i % NUM_CLASSES, seed=i)) for i in range(30)]
    result = clean(make_db(recs), tmp_path / "out", num_classes=NUM_CLASSES)
    assert result.ok and result.dropped == () and result.kept == 30
    assert read_kv(tmp_path / "out") == recs


def test_minority_shapes_are_all_dropped_so_none_remain(make_db, tmp_path):
    recs = [(key(i), raw_datum(0, shape=(3, 8, 8) if i % 5 else (1, 4, 4), seed=i)) for i in range(50)]
    result = clean(make_db(recs), tmp_path / "out")
    assert result.ok and {d.index for d in result.dropped} == set(range(0, 50, 5))
    assert {d.codes for d in result.dropped} == {("DS600",)}
    assert result.verification.report.findings == ()


def test_leveldb_records_in_a_damaged_block_are_dropped(make_leveldb, tmp_path):
    recs = [(key(i), raw_datum(i % NUM_CLASSES, shape=(3, 32, 32), seed=i)) for i in range(300)]
    src = make_leveldb(recs)
    corrupt_leveldb_table(src)
    result = clean(src, tmp_path / "out", quarantine=tmp_path / "q")
    damaged = {d.index for d in result.dropped}
    assert result.ok and 0 < len(damaged) < 100
    assert {d.codes for d in result.dropped} == {("DS101",)}
    assert read_kv(tmp_path / "out") == [r for i, r in enumerate(recs) if i not in damaged]
    # The quarantine holds what LevelDB still returns without checksums, keyed as before.
    assert {k for k, _ in read_kv(tmp_path / "q")} <= {key(i) for i in damaged}


def test_single_file_lmdb_gives_a_single_file_lmdb(make_lmdb, tmp_path):
    recs, errors, _ = faulty_records(30)
    single = tmp_path / "single.mdb"
    shutil.copy(make_lmdb(recs) / "data.mdb", single)
    result = clean(single, tmp_path / "clean.mdb", num_classes=NUM_CLASSES)
    assert result.ok and (tmp_path / "clean.mdb").is_file()
    assert not (tmp_path / "clean.mdb-lock").exists()
    assert read_kv(tmp_path / "clean.mdb") == [r for i, r in enumerate(recs) if i not in errors]


# ------------------------------------------------------------------ HDF5

def make_h5(path: Path, rows: int = 200, nan_rows=(), bad_labels=(), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    data = rng.random((rows, 3, 4, 4), dtype=np.float32)
    for r in nan_rows:
        data[r, 1, 1, 1] = np.nan
    label = (np.arange(rows) % NUM_CLASSES).astype(np.float32)
    for r in bad_labels:
        label[r] = 9
    with h5py.File(path, "w") as f:
        d = f.create_dataset("data", data=data, chunks=(min(32, rows), 3, 4, 4), compression="gzip",
                             compression_opts=4, shuffle=True, fillvalue=-1.0,
                             maxshape=(None, 3, 4, 4))
        d.attrs["scale"] = 0.5
        d.attrs["names"] = ["a", "bb"]
        f.create_dataset("label", data=label, chunks=(min(64, rows),), compression="lzf")
        g = f.create_group("meta")
        g.attrs["source"] = "test"
        g.create_dataset("ids", data=np.array([f"row{i}" for i in range(rows)],
                                               dtype=h5py.string_dtype()))
        g.create_dataset("mean", data=np.float64(0.5))
        f["alias"] = h5py.SoftLink("/data")
        f.attrs["version"] = 3
    return path


def rows_of(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {n: f[n][()] for n in ("data", "label", "meta/ids", "meta/mean")}


def assert_h5_like(src: Path, out: Path, keep: list[int]) -> None:
    a, b = rows_of(src), rows_of(out)
    for name in ("data", "label", "meta/ids"):
        assert np.array_equal(b[name], a[name][keep], equal_nan=name != "meta/ids"), name
        assert b[name].tobytes() == a[name][keep].tobytes() if name != "meta/ids" else True
    assert b["meta/mean"] == a["meta/mean"]
    with h5py.File(src, "r") as s, h5py.File(out, "r") as o:
        for name in ("data", "label", "meta/ids"):
            x, y = s[name], o[name]
            assert (y.dtype, y.compression, y.compression_opts, y.shuffle) == \
                (x.dtype, x.compression, x.compression_opts, x.shuffle), name
            assert y.chunks == x.chunks or y.chunks[0] == y.shape[0] < x.chunks[0], name
            assert (y.fillvalue == x.fillvalue) or name == "meta/ids"
        assert o["data"].maxshape == (None, 3, 4, 4)
        assert dict(o["data"].attrs)["scale"] == 0.5 and list(o["data"].attrs["names"]) == ["a", "bb"]
        assert dict(o["meta"].attrs) == {"source": "test"} and o.attrs["version"] == 3
        assert o.get("alias", getlink=True).path == "/data"


def test_hdf5_file_round_trip(tmp_path):
    src = make_h5(tmp_path / "train.h5", nan_rows=(5, 70), bad_labels=(130,))
    before = tree_state(tmp_path)
    dst, q = tmp_path / "out" / "train.h5", tmp_path / "q.h5"
    dst.parent.mkdir()
    result = clean(src, dst, num_classes=NUM_CLASSES, quarantine=q)
    assert result.ok and result.format == "hdf5"
    assert [(d.index, d.codes, d.key, d.path) for d in result.dropped] == \
        [(5, ("DS300",), None, str(src)), (70, ("DS300",), None, str(src)),
         (130, ("DS500",), None, str(src))]
    assert_h5_like(src, dst, [i for i in range(200) if i not in (5, 70, 130)])
    assert_h5_like(src, q, [5, 70, 130])
    after = tree_state(tmp_path)
    assert {k: after[k] for k in before} == before             # the source is untouched
    m = manifest_of(dst)
    assert m["counts"]["kept"] == 197 and [d["index"] for d in m["dropped"]] == [5, 70, 130]


def test_hdf5_unreadable_chunk_rows_are_dropped_and_marked_not_quarantined(tmp_path):
    data = np.random.default_rng(1).random((1000, 10)).astype(np.float32)
    good = tmp_path / "good.h5"
    with h5py.File(good, "w") as f:
        f.create_dataset("data", data=data, chunks=(100, 10), compression="gzip")
        f["label"] = np.zeros(1000, np.float32)
    bad = tmp_path / "bad.h5"
    corrupt_hdf5_chunk(good, bad, "data", 3)            # rows 300-399
    result = clean(bad, tmp_path / "out.h5", quarantine=tmp_path / "q.h5")
    assert result.ok and [d.index for d in result.dropped] == list(range(300, 400))
    with h5py.File(tmp_path / "out.h5") as f:
        assert np.array_equal(f["data"][:], np.delete(data, range(300, 400), axis=0))
    assert not manifest_of(tmp_path / "out.h5")["dropped"][0]["quarantined"]


def test_hdf5_list_round_trip(tmp_path):
    a = make_h5(tmp_path / "a.h5", nan_rows=(3,), seed=1)
    b = make_h5(tmp_path / "b.h5", rows=100, bad_labels=(50,), seed=2)
    c = make_h5(tmp_path / "sub_c.h5", rows=40, nan_rows=range(40), seed=3)   # every row bad
    (tmp_path / "sub").mkdir()
    c = c.rename(tmp_path / "sub" / "a.h5")                                    # same name as a.h5
    lst = tmp_path / "train.txt"
    lst.write_text(f"a.h5\n{b}\nsub/a.h5\na.h5\n")
    dst, q = tmp_path / "clean", tmp_path / "q"
    result = clean(lst, dst, num_classes=NUM_CLASSES, quarantine=q)
    assert result.ok and result.format == "hdf5-list"
    assert (result.source_records, result.kept, len(result.dropped)) == (340, 298, 42)
    names = (dst / "train.txt").read_text().split()
    assert names == [str(dst / "a.h5"), str(dst / "b.h5"), str(dst / "a.h5")]   # c has no row left
    assert sorted(p.name for p in dst.iterdir()) == ["a.h5", "b.h5", "train.txt"]
    assert_h5_like(a, dst / "a.h5", [i for i in range(200) if i != 3])
    assert_h5_like(b, dst / "b.h5", [i for i in range(100) if i != 50])
    qnames = (q / "train.txt").read_text().split()
    assert qnames == [str(q / "a.h5"), str(q / "b.h5"), str(q / "a_1.h5"), str(q / "a.h5")]
    assert_h5_like(c, q / "a_1.h5", list(range(40)))
    # The cleaned list scans by itself: no record has a finding; what names no record (the
    # string dataset HDF5Data cannot read, DS602) was in the source and is carried over.
    again = scan(dst / "train.txt", num_classes=NUM_CLASSES)
    assert again.records == 298 and all(f.index is None for f in again.findings)
    assert {f.code for f in result.unfixed} == {"DS602"}
    assert {f.code for f in result.verification.carried} == {"DS602"}


def test_hdf5_list_with_an_uncleanable_file_stops_unless_told_to_drop_it(tmp_path, capsys):
    make_h5(tmp_path / "a.h5", nan_rows=(1,))
    with h5py.File(tmp_path / "odd.h5", "w") as f:
        f["data"] = np.zeros((10, 2), np.float32)
        f["label"] = np.zeros(9, np.float32)           # DS601: first dimensions disagree
    lst = tmp_path / "list.txt"
    lst.write_text("a.h5\nodd.h5\nmissing.h5\n")
    assert main(["clean", str(lst), str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.h5" in err[0] and "--drop-files" in err[0]
    lst.write_text("a.h5\nodd.h5\n")
    with pytest.raises(CleanRefused, match="odd.h5: datasets disagree on the first dimension"):
        clean(lst, tmp_path / "out")
    lst.write_text("a.h5\nodd.h5\nmissing.h5\n")
    assert not (tmp_path / "out").exists()
    result = clean(lst, tmp_path / "out", drop_files=True)
    assert result.ok
    assert {Path(f["path"]).name for f in result.dropped_files} == {"odd.h5", "missing.h5"}
    assert (tmp_path / "out" / "list.txt").read_text().split() == [str(tmp_path / "out" / "a.h5")]


def test_hdf5_single_file_with_disagreeing_datasets_is_refused(tmp_path):
    with h5py.File(tmp_path / "odd.h5", "w") as f:
        f["data"] = np.zeros((10, 2), np.float32)
        f["label"] = np.zeros(9, np.float32)
    with pytest.raises(CleanRefused, match="disagree on the first dimension"):
        clean(tmp_path / "odd.h5", tmp_path / "out.h5")
    assert not (tmp_path / "out.h5").exists()


# ------------------------------------------------------------------ --from-report

def check_json(path: Path, out: Path, *extra: str) -> dict:
    assert main(["check", str(path), "--format", "json", "--output", str(out), "--quiet",
                 "--jobs", "1", *extra]) in (0, 1)
    return json.loads(out.read_text())


def test_from_report_drops_exactly_what_it_lists(make_db, tmp_path):
    recs, errors, warnings = faulty_records()
    src = make_db(recs)
    report = check_json(src, tmp_path / "r.json", "--num-classes", "3")
    # A reviewer also drops record 30 (clean by the checks) and keeps nothing else out.
    report["findings"].append({"code": "DS300", "severity": "error", "path": str(src),
                               "key": key(30).decode(), "index": 30, "message": "reviewed: drop"})
    (tmp_path / "r.json").write_text(json.dumps(report))
    result = clean(src, tmp_path / "out", num_classes=NUM_CLASSES, from_report=tmp_path / "r.json")
    assert result.ok and {d.index for d in result.dropped} == set(errors) | {30}
    assert read_kv(tmp_path / "out") == [r for i, r in enumerate(recs) if i not in set(errors) | {30}]
    assert manifest_of(tmp_path / "out")["from_report"] == str(tmp_path / "r.json")


def test_from_report_on_an_hdf5_list_matches_a_fresh_scan(tmp_path):
    make_h5(tmp_path / "a.h5", nan_rows=(3, 9), seed=1)
    make_h5(tmp_path / "b.h5", rows=64, bad_labels=(60,), seed=2)
    lst = tmp_path / "train.txt"
    lst.write_text("a.h5\nb.h5\n")
    check_json(lst, tmp_path / "r.json", "--num-classes", "3")
    fresh = clean(lst, tmp_path / "fresh", num_classes=NUM_CLASSES)
    reviewed = clean(lst, tmp_path / "out", num_classes=NUM_CLASSES, from_report=tmp_path / "r.json")
    assert reviewed.ok and fresh.ok
    assert [(Path(d.path).name, d.index) for d in reviewed.dropped] == \
        [(Path(d.path).name, d.index) for d in fresh.dropped] == [("a.h5", 3), ("a.h5", 9), ("b.h5", 60)]


def test_from_report_keeping_a_bad_record_fails_verification(make_lmdb, tmp_path, capsys):
    recs, errors, _ = faulty_records()
    src = make_lmdb(recs)
    report = check_json(src, tmp_path / "r.json", "--num-classes", "3")
    report["findings"] = [f for f in report["findings"] if f["index"] != 7]
    (tmp_path / "r.json").write_text(json.dumps(report))
    code = main(["clean", str(src), str(tmp_path / "out"), "--num-classes", "3", "--quiet",
                 "--from-report", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert code == 1 and "verification FAILED" in out and "DS300" in out
    # Never installed as DST: a training script pointed at DST finds nothing.
    failed = tmp_path / "out.failed-verification"
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.manifest.json").exists()
    m = manifest_of(failed)
    assert not m["verification"]["ok"] and m["destination"]["failed_verification"]
    assert m["destination"] == {"path": str(failed), "records": m["counts"]["kept"],
                                "requested": str(tmp_path / "out"), "failed_verification": True}
    assert str(failed) in out and (failed / "data.mdb").is_file()
    # A DST that was there (--force) stays as it was; the failed copy replaces the failed one.
    (tmp_path / "out").mkdir()
    code = main(["clean", str(src), str(tmp_path / "out"), "--num-classes", "3", "--quiet",
                 "--from-report", str(tmp_path / "r.json"), "--force"])
    assert code == 1 and list((tmp_path / "out").iterdir()) == [] and failed.is_dir()
    assert not [p for p in tmp_path.iterdir() if "datascan-" in p.name]


def test_from_report_made_with_other_options_warns(make_lmdb, tmp_path, capsys):
    recs, _, _ = faulty_records()
    src = make_lmdb(recs)
    report = check_json(src, tmp_path / "r.json", "--num-classes", "3")
    assert report["options"]["num_classes"] == 3 and report["options"]["select"] == []
    args = ["clean", str(src), "--quiet", "--from-report", str(tmp_path / "r.json")]
    assert main([*args[:2], str(tmp_path / "a"), *args[2:], "--num-classes", "3"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main([*args[:2], str(tmp_path / "b"), *args[2:], "--num-classes", "4",
                 "--ignore", "DS5"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("datascan: warning: ") and \
        "--num-classes 3 there, 4 here" in err[0] and "--ignore (none) there, DS5 here" in err[0]
    assert manifest_of(tmp_path / "b")["warnings"] == [err[0][len("datascan: warning: "):]]
    del report["options"]             # a report from before the options were recorded
    (tmp_path / "r.json").write_text(json.dumps(report))
    assert main([*args[:2], str(tmp_path / "c"), *args[2:], "--num-classes", "3"]) == 0
    assert "does not record the options" in capsys.readouterr().err


def test_from_report_for_another_source_is_refused(make_lmdb, tmp_path, capsys):
    recs, _, _ = faulty_records()
    src = make_lmdb(recs)
    other = make_lmdb(recs[:30], name="other_lmdb")
    check_json(other, tmp_path / "other.json", "--num-classes", "3")
    assert main(["clean", str(src), str(tmp_path / "out"), "--quiet",
                 "--from-report", str(tmp_path / "other.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not " + str(src) in err[0]
    # Same path, another version of the data: the record count gives it away.
    report = check_json(src, tmp_path / "r.json", "--num-classes", "3")
    report["sources"][0]["records"] = 41
    (tmp_path / "r.json").write_text(json.dumps(report))
    with pytest.raises(CleanRefused, match="another version"):
        clean(src, tmp_path / "out", from_report=tmp_path / "r.json")
    # ... and so does a key that is not the key at that position.
    report["sources"][0]["records"] = 40
    report["findings"][0]["key"] = "somebody else"
    (tmp_path / "r.json").write_text(json.dumps(report))
    with pytest.raises(CleanRefused, match="another source or version"):
        clean(src, tmp_path / "out", from_report=tmp_path / "r.json")
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(CleanRefused, match="not a datascan JSON report"):
        clean(src, tmp_path / "out", from_report=tmp_path / "junk.json")


# ------------------------------------------------------------------ refusals

def test_existing_dst_is_refused_without_force(make_lmdb, tmp_path, capsys):
    recs, errors, _ = faulty_records()
    src = make_lmdb(recs)
    dst = tmp_path / "out"
    assert main(["clean", str(src), str(dst), "--quiet"]) == 0
    first = tree_state(dst)
    assert main(["clean", str(src), str(dst), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"datascan: error: DST {dst} exists; use --force to replace it"]
    assert tree_state(dst) == first
    assert main(["clean", str(src), str(dst), "--quiet", "--num-classes", "3", "--force"]) == 0
    assert len(read_kv(dst)) == 40 - len(errors)
    assert not list(tmp_path.glob(".out*"))


def test_force_does_not_replace_what_is_not_a_dataset(make_lmdb, tmp_path):
    src = make_lmdb(faulty_records()[0])
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "notes.txt").write_text("precious")
    with pytest.raises(CleanRefused, match="not a lmdb dataset"):
        clean(src, tmp_path / "home", force=True)
    assert (tmp_path / "home" / "notes.txt").read_text() == "precious"


@pytest.mark.parametrize("where", ["same", "inside", "contains", "quarantine_inside_dst"])
def test_outputs_touching_the_source_are_refused(make_lmdb, tmp_path, where):
    src = make_lmdb(faulty_records()[0])
    before = tree_state(src)
    args = {"same": (src, None), "inside": (src / "clean", None),
            "contains": (tmp_path, None),
            "quarantine_inside_dst": (tmp_path / "out", tmp_path / "out" / "q")}[where]
    with pytest.raises(CleanRefused):
        clean(src, args[0], quarantine=args[1], force=True)
    assert tree_state(src) == before


def test_not_enough_space_is_one_clear_line(make_lmdb, tmp_path, monkeypatch, capsys):
    src = make_lmdb(faulty_records()[0])
    real = shutil.disk_usage
    monkeypatch.setattr(atomic.shutil, "disk_usage",
                        lambda p: real(p)._replace(free=1 << 20))
    assert main(["clean", str(src), str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not enough space" in err[0] and "1.0 MiB free" in err[0]
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ realdata

@pytest.mark.parametrize("rel", ["zhaowei-cnn-image-classify-lmdb/test", "caffe-ref/db/raw32_leveldb",
                                 "caffe-ref/db/raw32_lmdb"])
def test_realdata_clean_sources_are_copied_record_for_record(rel, tmp_path):
    src = realdata(*rel.split("/"))
    before = tree_state(src)
    # (zhaowei's test set holds real label noise, DS612: test_duplicates.py; not this test's)
    result = clean(src, tmp_path / "out", drop="error", jobs=2, ignore=("DS61",))
    assert result.ok and result.dropped == ()
    assert read_kv(tmp_path / "out") == read_kv(src)
    assert tree_state(src) == before


def test_realdata_hdf5_list_with_a_nan_row(tmp_path):
    src = realdata("caffe-ref", "train", "h5", "main.txt")
    result = clean(src, tmp_path / "out", num_classes=13)
    assert result.ok and [(Path(d.path).name, d.index, d.codes) for d in result.dropped] == \
        [("main.h5", 9, ("DS300",))]
    with h5py.File(src.parent / "main.h5") as s, h5py.File(tmp_path / "out" / "main.h5") as o:
        assert set(o) == set(s)
        for name in s:
            assert o[name][:].tobytes() == np.delete(s[name][:], 9, axis=0).tobytes()


# ------------------------------------------------------------------ crash safety and the CLI

def test_kill_9_mid_write_leaves_no_dst(tmp_path):
    n = 60_000
    src = tmp_path / "big_lmdb"
    lmdb_source.write(src, ((key(i), raw_datum(i % 3, shape=(3, 32, 32), seed=i % 97))
                            for i in range(n)))
    report = tmp_path / "r.json"       # nothing to drop: go straight to writing
    report.write_text(json.dumps({"sources": [{"path": str(src), "records": n}], "findings": []}))
    dst = tmp_path / "out"
    cmd = [sys.executable, "-m", "datascan", "clean", str(src), str(dst), "--from-report",
           str(report), "--quiet", "--jobs", "1", "--ignore", "DS61"]   # (97 contents, repeated)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not any((p / "data.mdb").exists() for p in tmp_path.glob(".out.datascan-tmp-*")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not dst.exists() and not (tmp_path / "out.manifest.json").exists()
    (left,) = tmp_path.glob(".out.datascan-tmp-*")             # what is left is visibly a temporary
    assert len(read_kv(left)) < n                               # ... and visibly incomplete
    done = subprocess.run(cmd + ["--force"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "verified" in done.stdout and len(read_kv(dst)) == n
    assert not list(tmp_path.glob(".out.datascan-*"))           # the dead run's temporary is gone


def test_cli_end_to_end(make_leveldb, tmp_path, capsys):
    recs, errors, warnings = faulty_records()
    src = make_leveldb(recs)
    code = main(["clean", str(src), str(tmp_path / "out"), "--num-classes", "3", "--drop", "warning",
                 "--quarantine", str(tmp_path / "q"), "--jobs", "2", "--quiet"])
    out = capsys.readouterr()
    assert code == 0 and out.err == ""
    assert f"dropped {len(errors) + len(warnings)} records" in out.out
    assert "verified" in out.out and "35 kept + 5 dropped = 40 source records" in out.out
    assert main(["clean", str(src), "--quiet"]) == 2                     # DST is required
    capsys.readouterr()
    assert main(["clean", str(src), str(tmp_path / "o3"), "--source-format", "leveldb", "-q"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["clean", str(src), str(tmp_path / "o4"), "--format", "leveldb", "-q"]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "datascan: warning: --format leveldb names a storage format; use --source-format leveldb "
        "(--format will mean only the report format)"]
    assert main(["clean", str(src), str(tmp_path / "o5"), "--source-format", "lmdb", "-q"]) == 2
    assert main(["clean", str(src), str(tmp_path / "o6"), "--format", "json", "-q"]) == 2
    assert "--source-format names the storage format" in capsys.readouterr().err
    assert main(["clean", str(src), str(tmp_path / "o2"), "--drop", "info", "--quiet"]) == 2


def test_lmdb_with_a_damaged_page_is_refused_not_half_copied(make_lmdb, tmp_path):
    src = make_lmdb([(key(i), raw_datum(i % 3, shape=(3, 32, 32), seed=i)) for i in range(300)])
    data = src / "data.mdb"
    blob = bytearray(data.read_bytes())
    page = len(blob) // 4096 // 2
    blob[page * 4096:(page + 1) * 4096] = b"\xa5" * 4096
    data.write_bytes(bytes(blob))
    # In a subprocess: a reader that mapped a bad page could die with SIGBUS.
    out = subprocess.run([sys.executable, "-m", "datascan", "clean", str(src), str(tmp_path / "out"),
                          "--quiet", "--jobs", "1"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "storage damage" in out.stderr
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


def test_progress_reports_each_phase(make_lmdb, tmp_path):
    recs, errors, _ = faulty_records()
    seen: dict[str, list] = {}

    def progress(phase, total):
        seen[phase] = [total, 0]
        return lambda n: seen[phase].__setitem__(1, seen[phase][1] + n)
    clean(make_lmdb(recs), tmp_path / "out", num_classes=NUM_CLASSES, quarantine=tmp_path / "q",
          progress=progress)
    assert seen == {"scan": [40, 40], "copy": [40, 40], "quarantine": [4, 4], "verify": [36, 36]}


def test_select_and_ignore_apply_to_what_is_dropped(make_lmdb, tmp_path):
    recs, errors, _ = faulty_records()
    src = make_lmdb(recs)
    result = clean(src, tmp_path / "out", num_classes=NUM_CLASSES, ignore=("DS5",))
    assert result.ok and {d.index for d in result.dropped} == set(errors) - {11}
    assert any(k == key(11) for k, _ in read_kv(tmp_path / "out"))


def test_clean_refuses_a_truncated_lmdb_before_mapping_it(make_lmdb, tmp_path, capsys):
    from datascan.cli import main
    path = make_lmdb([(key(i), raw_datum(i % 3, shape=(3, 32, 32), seed=i)) for i in range(300)])
    with open(path / "data.mdb", "r+b") as fh:
        fh.truncate((path / "data.mdb").stat().st_size // 2)
    assert main(["clean", str(path), str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "DS102" in err[0]
    assert not (tmp_path / "out").exists()
