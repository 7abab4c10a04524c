"""Storage: the source is never modified, and damaged storage is a finding or exit 2."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from datascan import scan
from datascan.cli import main
from conftest import corrupt_leveldb_table, key, raw_datum, tree_state


def records(n=300, shape=(3, 32, 32)):
    return [(key(i), raw_datum(i % 3, shape=shape, seed=i)) for i in range(n)]


def test_lmdb_source_is_byte_identical_after_scan(make_lmdb):
    path = make_lmdb(records(50))
    before = tree_state(path)
    time.sleep(0.01)
    scan(path, jobs=1)
    scan(path, jobs=2)
    assert tree_state(path) == before
    assert sorted(os.listdir(path)) == ["data.mdb", "lock.mdb"]


def test_leveldb_source_is_byte_identical_after_scan(make_leveldb):
    path = make_leveldb(records(50))
    before = tree_state(path)
    time.sleep(0.01)
    assert scan(path, jobs=1).records == 50
    assert scan(path, jobs=2).records == 50
    assert tree_state(path) == before


def test_leveldb_held_open_by_another_process_still_scans(make_leveldb):
    path = make_leveldb(records(40))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import plyvel, sys, time; db = plyvel.DB(sys.argv[1]); "
         "print('open', flush=True); time.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        report = scan(path, jobs=1)
        assert report.records == 40 and report.findings == ()
    finally:
        holder.kill()
        holder.wait()


def test_readonly_lmdb_directory_scans(make_lmdb, tmp_path):
    path = make_lmdb(records(20))
    (path / "lock.mdb").unlink()
    os.chmod(path / "data.mdb", 0o444)
    os.chmod(path, 0o555)
    try:
        assert scan(path).records == 20
        assert sorted(os.listdir(path)) == ["data.mdb"]
    finally:
        os.chmod(path, 0o755)


def test_single_file_lmdb(tmp_path, make_lmdb):
    path = make_lmdb(records(10))
    single = tmp_path / "single.mdb"
    shutil.copy(path / "data.mdb", single)
    report = scan(single)
    assert report.sources[0].format == "lmdb" and report.records == 10


def test_truncated_data_mdb_is_ds102_without_mapping(make_lmdb):
    path = make_lmdb(records(300))
    data = path / "data.mdb"
    size = data.stat().st_size
    with open(data, "r+b") as fh:
        fh.truncate(size // 2)
    # In a subprocess: if the file were mapped, the read would die with SIGBUS.
    out = subprocess.run([sys.executable, "-m", "datascan", "check", str(path), "--format", "json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out.stderr
    assert '"DS102"' in out.stdout and "Traceback" not in out.stderr


@pytest.mark.parametrize("page", [0.25, 0.5, 0.75])
@pytest.mark.parametrize("fill", [b"\x00", b"\xa5"])
def test_lmdb_page_overwritten_gives_findings_not_tracebacks(make_lmdb, page, fill):
    path = make_lmdb(records(300))
    data = path / "data.mdb"
    blob = bytearray(data.read_bytes())
    n_pages = len(blob) // 4096
    p = max(2, int(n_pages * page))
    blob[p * 4096:(p + 1) * 4096] = fill * 4096
    data.write_bytes(bytes(blob))
    out = subprocess.run([sys.executable, "-m", "datascan", "check", str(path), "--format", "json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode in (1, 2), out.stderr
    assert "Traceback" not in out.stderr
    if out.returncode == 1:
        assert '"DS10' in out.stdout or '"DS20' in out.stdout


def test_corrupted_ldb_block_is_ds101_and_scan_goes_on(make_leveldb):
    path = make_leveldb(records(300))
    corrupt_leveldb_table(path)
    report = scan(path)
    damaged = [f for f in report.findings if f.code == "DS101"]
    assert report.records == 300
    assert 0 < len(damaged) < 100                      # one block's worth, not the whole table
    assert all(f.key is not None and f.index == int(f.key) for f in damaged)
    assert not [f for f in report.findings if f.code != "DS101"]


def test_unrecognised_path_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello\n")
    assert main(["check", str(tmp_path / "notes.txt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a dataset datascan recognises" in err[0]
    assert main(["check", str(tmp_path / "missing")]) == 2


def test_leveldb_table_damaged_at_its_first_block_is_ds101_not_a_silent_stop(make_leveldb):
    # LevelDB's verified iterator ends quietly when it cannot even start on a damaged block
    # (plyvel does not raise its status): without the tables' key ranges the walk would end
    # early and the rest would pass unread. Small identical records: one table, one block.
    path = make_leveldb([(key(i), raw_datum(i % 3)) for i in range(300)])
    corrupt_leveldb_table(path, at=10, n=1)
    for jobs in (1, 2):
        report = scan(path, jobs=jobs)
        damage = [f for f in report.findings if f.code == "DS101"]
        assert len(damage) == 1 and "cannot be read" in damage[0].message
        assert report.errors >= 1


def test_leveldb_damage_in_a_later_table_stops_the_walk_with_ds101(make_leveldb, tmp_path):
    import plyvel
    path = make_leveldb([(key(i), raw_datum(i % 3)) for i in range(300)])
    db = plyvel.DB(str(path))             # a second table, after the first one's keys
    for i in range(300, 600):
        db.put(key(i), raw_datum(i % 3))
    db.compact_range(start=key(300))
    db.close()
    tables = sorted(p for p in path.iterdir() if p.suffix in (".ldb", ".sst"))
    assert len(tables) == 2
    blob = bytearray(tables[-1].read_bytes())
    blob[10] ^= 0xFF
    tables[-1].write_bytes(bytes(blob))
    report = scan(path, jobs=1)
    assert report.records == 300
    damage = [f for f in report.findings if f.code == "DS101"]
    assert len(damage) == 1 and "00000299" in damage[0].message    # where the walk stopped
