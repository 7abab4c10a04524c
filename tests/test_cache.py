"""Remembered verdicts (datascan/cache.py): reused only while nothing that decides them changed.

Each kind of change a source can go through is made for real, and the re-run must scan
again and find the record the change made bad; an unchanged source must give the same
report, marked as remembered."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import h5py
import lmdb
import numpy as np
import plyvel
import pytest

from datascan import cache as verdicts
from datascan import check
from datascan.cli import main
from datascan.config import ScanConfig
from conftest import float_datum, key, make_h5, raw_datum

ROOT = Path(__file__).resolve().parents[1]
NAN = float_datum(np.full((3, 8, 8), np.nan))   # the shape raw_datum() records have


def settled(path: Path) -> Path:
    """Wait until the dataset's newest timestamp is older than cache.RACY_NS: a verdict on
    files changed just before the scan started is not remembered (the filesystem clock
    could not tell a later write from them)."""
    time.sleep(verdicts.RACY_NS / 1e9 + 0.02)
    return path


def run(capsys, path: Path, cache_dir: Path, *extra: str) -> tuple[int, dict, str]:
    code = main(["check", str(path), "--format", "json", "--quiet", "--jobs", "1",
                 "--cache-dir", str(cache_dir), *extra])
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def bad(report: dict) -> list[tuple[str, int]]:
    return [(f["code"], f["index"]) for f in report["findings"]]


def lmdb_of(make_lmdb, n: int = 6) -> Path:
    return settled(make_lmdb([(key(i), raw_datum(label=i % 3, seed=i)) for i in range(n)], f"db{n}_lmdb"))


def test_an_unchanged_source_gives_the_same_report_marked_as_remembered(capsys, make_lmdb, tmp_path):
    path = lmdb_of(make_lmdb)
    code, first, _ = run(capsys, path, tmp_path / "c", "--num-classes", "3")
    again, second, err = run(capsys, path, tmp_path / "c", "--num-classes", "3")
    assert code == again == 0 and "cached" not in first and err == ""
    scanned = second.pop("cached")["scanned"]
    assert second == first          # seconds included: the report as it was made
    assert time.strptime(scanned, "%Y-%m-%dT%H:%M:%S%z")
    assert main(["check", str(path), "--quiet", "--cache-dir", str(tmp_path / "c"),
                 "--num-classes", "3"]) == 0
    assert f"remembered verdict of {scanned}" in capsys.readouterr().out


def test_one_record_rewritten_in_an_lmdb_is_scanned_again(capsys, make_lmdb, tmp_path):
    path = lmdb_of(make_lmdb)
    assert run(capsys, path, tmp_path / "c")[1]["findings"] == []
    env = lmdb.open(str(path))
    with env.begin(write=True) as txn:
        txn.put(key(2), NAN)
    env.close()
    code, report, _ = run(capsys, settled(path), tmp_path / "c")
    assert code == 1 and "cached" not in report and bad(report) == [("DS300", 2)]
    assert "cached" in run(capsys, path, tmp_path / "c")[1]      # and that verdict is remembered


def test_a_nan_written_into_hdf5_in_place_with_its_mtime_restored_is_scanned_again(capsys, tmp_path):
    path = settled(make_h5(tmp_path / "d.h5", data=np.arange(32, dtype=np.float32).reshape(8, 1, 2, 2),
                           label=np.zeros(8, np.float32)))
    assert run(capsys, path, tmp_path / "c")[1]["findings"] == []
    st = path.stat()
    with h5py.File(path, "r+") as f:
        f["data"][5, 0, 0, 0] = np.nan
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))     # what touch -r does
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    code, report, _ = run(capsys, settled(path), tmp_path / "c")
    assert code == 1 and "cached" not in report and bad(report) == [("DS300", 5)]


def test_a_leveldb_that_got_one_more_table_is_scanned_again(capsys, make_leveldb, tmp_path):
    path = settled(make_leveldb([(key(i), raw_datum(seed=i)) for i in range(6)]))
    assert run(capsys, path, tmp_path / "c", "--jobs", "2")[1]["findings"] == []
    assert "cached" in run(capsys, path, tmp_path / "c", "--jobs", "2")[1]   # its snapshots did not count
    db = plyvel.DB(str(path))
    db.put(key(9), NAN)
    db.compact_range()
    db.close()
    code, report, _ = run(capsys, settled(path), tmp_path / "c", "--jobs", "2")
    assert code == 1 and "cached" not in report and bad(report) == [("DS300", 6)]


def test_a_leveldb_table_overwritten_in_place_with_its_mtime_restored_is_scanned_again(
        capsys, make_leveldb, tmp_path):
    path = settled(make_leveldb([(key(i), raw_datum(seed=i)) for i in range(50)]))
    assert run(capsys, path, tmp_path / "c")[1]["summary"]["records"] == 50
    table = next(p for p in path.iterdir() if p.suffix in (".ldb", ".sst"))
    st = table.stat()
    with open(table, "r+b") as fh:           # LevelDB never does this; a bad copy or dd does
        fh.seek(100)
        fh.write(bytes(b ^ 0xFF for b in fh.read(16)))
    os.utime(table, ns=(st.st_atime_ns, st.st_mtime_ns))
    report = run(capsys, settled(path), tmp_path / "c")[1]
    # Scanned again (what the scan then makes of the damaged table is test_storage.py's)
    assert "cached" not in report


def test_other_options_or_another_version_do_not_reuse_a_verdict(capsys, make_lmdb, tmp_path,
                                                                   monkeypatch):
    path = lmdb_of(make_lmdb)
    assert run(capsys, path, tmp_path / "c", "--num-classes", "3")[0] == 0
    code, report, _ = run(capsys, path, tmp_path / "c", "--num-classes", "2")
    assert code == 1 and "cached" not in report and bad(report) == [("DS500", 2), ("DS500", 5)]
    # --select and --ignore filter the remembered report as they filter a scan's
    code, report, _ = run(capsys, path, tmp_path / "c", "--num-classes", "2", "--ignore", "DS5")
    assert code == 0 and "cached" in report and report["findings"] == []
    monkeypatch.setattr(verdicts, "__version__", "99.0")
    assert "cached" not in run(capsys, path, tmp_path / "c", "--num-classes", "2")[1]


def test_no_cache_scans_and_remembers_nothing(capsys, make_lmdb, tmp_path):
    path = lmdb_of(make_lmdb)
    run(capsys, path, tmp_path / "c", "--no-cache")
    assert not (tmp_path / "c").exists()


def test_the_python_api_remembers_only_when_asked(make_lmdb, tmp_path):
    path = lmdb_of(make_lmdb)
    check(path)
    assert not any(Path(os.environ["XDG_CACHE_HOME"]).iterdir())
    assert check(path, cache=tmp_path / "c").cached is None
    assert check(path, cache=tmp_path / "c").cached is not None
    assert check(path, cache=True).cached is None      # True: $XDG_CACHE_HOME/datascan
    assert check(path, cache=True).cached is not None


def test_a_change_during_the_scan_or_just_before_it_is_not_remembered(make_lmdb, tmp_path):
    path = make_lmdb([(key(i), raw_datum(seed=i)) for i in range(4)])      # written just now
    assert check(path, cache=tmp_path / "c").cached is None
    assert check(path, cache=tmp_path / "c").cached is None          # so not remembered
    verdict = verdicts.Verdict(verdicts.Cache(tmp_path / "d"), (settled(path),),
                               ScanConfig(), None)
    report = check(path)
    env = lmdb.open(str(path))
    with env.begin(write=True) as txn:
        txn.put(key(1), NAN)
    env.close()
    assert not verdict.store(report)        # the source moved between lookup and store


@pytest.mark.parametrize("content", [b"", b"\x80\x04K\x01.", b"[1, 2]", b'{"schema": 1}',
                                     b"{not json"])
def test_a_corrupt_or_foreign_entry_is_ignored_and_replaced(capsys, make_lmdb, tmp_path, content):
    path = lmdb_of(make_lmdb)
    run(capsys, path, tmp_path / "c")
    (entry,) = (tmp_path / "c").glob("*.json")
    entry.write_bytes(content)
    code, report, err = run(capsys, path, tmp_path / "c")
    assert code == 0 and "cached" not in report and err == ""
    assert "cached" in run(capsys, path, tmp_path / "c")[1]


def test_a_falsified_fingerprint_is_not_trusted(capsys, make_lmdb, tmp_path):
    path = lmdb_of(make_lmdb)
    run(capsys, path, tmp_path / "c")
    (entry,) = (tmp_path / "c").glob("*.json")
    data = json.loads(entry.read_text())
    data["fingerprints"][0][2]["txnid"] += 1
    entry.write_text(json.dumps(data))
    assert "cached" not in run(capsys, path, tmp_path / "c")[1]


def test_a_cache_dir_that_cannot_be_written_costs_one_warning_line(capsys, make_lmdb, tmp_path):
    path = lmdb_of(make_lmdb)
    (tmp_path / "a_file").write_text("")
    blocked = tmp_path / "a_file" / "cache"       # not a directory, even for root
    _, plain, _ = run(capsys, path, tmp_path / "c", "--no-cache")
    code, report, err = run(capsys, path, blocked)
    assert code == 0 and report["findings"] == plain["findings"] == []
    assert len(err.splitlines()) == 1 and err.startswith("datascan: warning: cannot remember")


def test_the_cache_is_bounded_least_recently_used_first(make_lmdb, tmp_path):
    paths = [lmdb_of(make_lmdb, n) for n in (3, 4, 5)]
    c = tmp_path / "c"
    for p in paths + paths[:1]:                 # the first one used again: now the most recent
        check(p, cache=c)
        time.sleep(0.02)                        # distinct mtimes even on a coarse clock
    entries = list(c.glob("*.json"))
    assert len(entries) == 3
    verdicts.evict(c, sum(e.stat().st_size for e in entries) - 1)
    assert len(list(c.glob("*.json"))) == 2
    assert [check(p, cache=c).cached is not None for p in paths] == [True, False, True]
    tiny = verdicts.Cache(c, max_bytes=10)     # an entry larger than the bound is not kept
    assert check(paths[1], cache=tiny).cached is None and check(paths[1], cache=tiny).cached is None


def test_two_concurrent_scans_of_one_source_both_succeed(make_lmdb, tmp_path):
    path = settled(make_lmdb([(key(i), raw_datum(seed=i)) for i in range(3000)] +
                             [(key(3000), NAN)]))
    cmd = [sys.executable, "-m", "datascan", "check", str(path), "--format", "json", "--quiet",
           "--jobs", "2", "--cache-dir", str(tmp_path / "c")]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=ROOT) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [1, 1] and [err for _, err in outs] == ["", ""]
    reports = [json.loads(out) for out, _ in outs]
    assert [bad(r) for r in reports] == [[("DS300", 3000)]] * 2
    assert len(list((tmp_path / "c").glob("*"))) == 1          # one entry, no temporary left
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert "cached" in json.loads(again.stdout) and bad(json.loads(again.stdout)) == [("DS300", 3000)]


@pytest.mark.parametrize("kind", ["lmdb", "leveldb", "hdf5"])
def test_a_remembered_verdict_costs_startup_only(kind, make_lmdb, make_leveldb, tmp_path):
    """A hit fingerprints the source with stat calls and a few bytes read: numpy, h5py,
    protobuf, the scan and the dummy net stay unloaded."""
    path = {"lmdb": lambda: make_lmdb([(key(0), raw_datum())]),
            "leveldb": lambda: make_leveldb([(key(0), raw_datum())]),
            "hdf5": lambda: make_h5(tmp_path / "d.h5", data=np.zeros((4, 1, 2, 2), np.float32))}[kind]()
    settled(path)
    heavy = ("numpy", "h5py", "google.protobuf", "PIL", "simplejpeg", "joblib", "datascan.scan",
             "datascan.forward", "datascan.checks", "datascan.decode")
    probe = ("import sys\nfrom datascan.cli import main\n"
             f"argv = ['check', {str(path)!r}, '--quiet', '--cache-dir', {str(tmp_path / 'c')!r}]\n"
             "main(argv)\n"
             f"print([m for m in {heavy!r} if m in sys.modules])")
    first, again = (subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                   check=True).stdout for _ in range(2))
    assert "remembered verdict" not in first and first.splitlines()[-1] != "[]"    # it scanned
    assert "remembered verdict" in again and again.splitlines()[-1] == "[]"
