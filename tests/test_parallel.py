"""Parallel scans: the same report for every --jobs value and backend, a worker that dies
costs one damaged page (real crashes of the LMDB library, planted in tmp_path), record
progress, split points that read no records, and a dask cluster on loopback."""
from __future__ import annotations

import json
import struct
import subprocess
import threading
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from datascan import recovery, scan
from datascan import shard as shard_runner
from datascan.codes import NON_FINITE
from datascan.model import Finding
from datascan.config import ScanConfig
from datascan.scan import guided, plan_sources
from datascan.sources import kv
from datascan.sources import leveldb as leveldb_source
from datascan.sources import lmdb as lmdb_source
from datascan.shard import ShardResult
from datascan.sources.interface import Shard
from datascan.sources.lmdb_pages import HDR, Tree
from conftest import encoded_datum, float_datum, jpeg_bytes, key, raw_datum, report_dict


def faulty_records(n=400, shape=(3, 16, 16)):
    """Datums of ~800 bytes (several per LMDB page, so shards split often) with planted
    faults spread over the key range."""
    recs = [(key(i), raw_datum(i % 3, shape=shape, seed=i)) for i in range(n)]
    recs[17] = (key(17), raw_datum(7, shape=shape))                           # DS500
    recs[140] = (key(140), b"\xff\xfe not a datum")                           # DS200
    recs[222] = (key(222), float_datum(np.full(shape, np.nan, np.float32)))   # DS300
    recs[301] = (key(301), encoded_datum(jpeg_bytes(seed=3)[:300]))           # DS40x
    for i in (50, 250, 390):                                                  # DS600
        recs[i] = (key(i), raw_datum(1, shape=(1, 16, 16), seed=i))
    return recs



def make_hdf5(path: Path, rows=12_000) -> Path:
    """A chunked float32 file of ~9 MB: more than one block, so jobs > 1 splits it."""
    data = np.random.default_rng(0).random((rows, 3, 8, 8), dtype=np.float32)
    data[[5, 4321, 11_999]] = np.nan
    label = (np.arange(rows) % 5).astype(np.float32)
    label[777] = 9
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=data, chunks=(256, 3, 8, 8))
        f.create_dataset("label", data=label, chunks=(256,))
    return path


BACKENDS = [dict(jobs=2), dict(jobs=3), dict(jobs=2, backend="threading"),
            dict(jobs=2, backend="loky")]


@pytest.mark.parametrize("fmt", ["lmdb", "leveldb", "hdf5"])
def test_report_is_identical_for_every_jobs_value_and_backend(fmt, make_lmdb, make_leveldb, tmp_path):
    if fmt == "hdf5":
        path = make_hdf5(tmp_path / "d.h5")
    else:
        path = (make_lmdb if fmt == "lmdb" else make_leveldb)(faulty_records())
    reference = scan(path, num_classes=3, jobs=1)
    assert len(reference.findings) >= 5
    for kw in BACKENDS:
        assert report_dict(scan(path, num_classes=3, **kw)) == report_dict(reference), kw


def test_shape_references_do_not_depend_on_the_shard_count(make_lmdb, monkeypatch):
    # A minority shape is listed record by record up to SHAPE_REFS_CAP: per shard that
    # cap would list more records the more shards there are.
    monkeypatch.setattr("datascan.checks.summary.SHAPE_REFS_CAP", 3)
    recs = [(key(i), raw_datum(0, shape=(1 if i % 40 == 0 else 3, 16, 16), seed=i)) for i in range(400)]
    path = make_lmdb(recs)
    one, three = scan(path, jobs=1, backend="threading"), scan(path, jobs=3, backend="threading")
    assert report_dict(one) == report_dict(three)
    assert sum(f.code == "DS600" and f.index is not None for f in one.findings) == 3


# ----------------------------------------------------------------- real crashes in LMDB

def pages(path: Path) -> tuple[list[int], list[int]]:
    """(bottom-level branch pages, leaf pages) of the live tree, in key order."""
    with Tree(path / "data.mdb") as tree:
        branches, leaves, stack = [], [], [tree.root]
        while stack:
            pgno = stack.pop()
            page = tree.page(pgno)
            if page.leaf:
                leaves.append(pgno)
                continue
            if tree.page(page.nodes[0][1]).leaf:
                branches.append(pgno)
            stack.extend(child for _, child, _, _ in reversed(page.nodes))
    return branches, leaves


def leaf_keys(path: Path, pgno: int) -> list[bytes]:
    with Tree(path / "data.mdb") as tree:
        return [n[0] for n in tree.page(pgno).nodes]


def patch(path: Path, offset: int, data: bytes) -> None:
    with open(path / "data.mdb", "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def reader_dies(path: Path) -> int:
    """Walk the database with py-lmdb alone, in a subprocess: its return code."""
    code = ("import lmdb, sys; env = lmdb.open(sys.argv[1], readonly=True, lock=False); "
            "txn = env.begin(); [None for _ in txn.cursor()]")
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          timeout=60).returncode


@pytest.fixture
def crash_db(make_lmdb):
    """3000 small Datums (a few hundred leaf pages), a bad label at 100 and at 2800."""
    recs = [(key(i), raw_datum(i % 3, shape=(1, 16, 16), seed=i)) for i in range(3000)]
    recs[100] = (key(100), raw_datum(9, shape=(1, 16, 16)))
    recs[2800] = (key(2800), raw_datum(9, shape=(1, 16, 16)))
    return make_lmdb(recs)


def test_a_worker_killed_by_a_zeroed_leaf_page_costs_that_page_only(crash_db):
    page_size = 4096
    _, leaves = pages(crash_db)
    bad = len(leaves) // 2
    lost = leaf_keys(crash_db, leaves[bad])
    following = leaf_keys(crash_db, leaves[bad + 1])[0]
    patch(crash_db, leaves[bad] * page_size, bytes(page_size))
    assert reader_dies(crash_db) < 0            # a real crash: the LMDB library aborts

    reports = [scan(crash_db, num_classes=3, jobs=j) for j in (2, 3)]
    assert report_dict(reports[0]) == report_dict(reports[1])
    report = reports[0]
    assert report.records == 3000 - len(lost)
    [damage] = [f for f in report.findings if f.code == "DS101"]
    assert f"['{lost[0].decode()}', '{following.decode()}')" in damage.message
    assert damage.index == int(lost[0])
    # Everything else is still scanned; indexes after the page count readable records.
    labels = sorted((f.key, f.index) for f in report.findings if f.code == "DS500")
    assert labels == [("00000100", 100), ("00002800", 2800 - len(lost))]


def test_a_worker_that_cannot_start_is_one_error_line_not_damage(crash_db):
    """A worker that fails before it takes a shard (here its start-up raises) is this
    machine's failure, not the data's: one line, exit 2, at once; not a DS101 for every
    shard, a worker forked again and again, or a traceback from each."""
    probe = ("import sys\nimport datascan.pool as pool\n"
             "def broken():\n    raise RuntimeError('no prctl here')\n"
             "pool._die_with_parent = broken\nfrom datascan.cli import main\n"
             f"sys.exit(main(['check', {str(crash_db)!r}, '--jobs', '2', '--no-cache', '--num-classes', '3']))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == "datascan: error: a scan worker could not start: RuntimeError: no prctl here\n"


def test_cli_survives_the_crash_and_reports_it(crash_db):
    _, leaves = pages(crash_db)
    patch(crash_db, leaves[3] * 4096, bytes(4096))
    out = subprocess.run([sys.executable, "-m", "datascan", "check", str(crash_db), "--jobs", "2",
                          "--format", "json", "--num-classes", "3"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    codes = [f["code"] for f in json.loads(out.stdout)["findings"]]
    assert codes.count("DS101") == 1 and codes.count("DS500") == 2


def test_a_branch_pointer_to_the_wrong_page_costs_that_subtree(crash_db):
    branches, _ = pages(crash_db)
    with Tree(crash_db / "data.mdb") as tree:
        page = tree.page(branches[1])
        ptr = struct.unpack_from("<H", page.buf, HDR + 2 * 2)[0]      # the third child
        first, after = page.nodes[2][0], page.nodes[3][0]
        lost = len(tree.page(page.nodes[2][1]).nodes)
    patch(crash_db, branches[1] * 4096 + ptr, struct.pack("<HHH", 1, 0, 0))   # -> meta page 1
    assert reader_dies(crash_db) < 0
    reports = [scan(crash_db, num_classes=3, jobs=j) for j in (2, 3)]
    assert report_dict(reports[0]) == report_dict(reports[1])
    [damage] = [f for f in reports[0].findings if f.code == "DS101"]
    assert f"['{first.decode()}', '{after.decode()}')" in damage.message
    assert reports[0].records == 3000 - lost


def test_a_damaged_page_among_the_first_records_does_not_kill_the_planner(crash_db):
    # Planning samples the first records and finds split points with plain file reads:
    # a cursor walking from the first record onto this page would abort the planner.
    _, leaves = pages(crash_db)
    lost = leaf_keys(crash_db, leaves[1])
    following = leaf_keys(crash_db, leaves[2])[0]
    assert len(leaf_keys(crash_db, leaves[0])) < kv.SAMPLE_RECORDS
    patch(crash_db, leaves[1] * 4096, bytes(4096))
    assert reader_dies(crash_db) < 0
    report = scan(crash_db, num_classes=3, jobs=2)
    assert report.sources[0].encoding == "datum"
    assert report.records == 3000 - len(lost)
    assert [f.message.split(":")[0] for f in report.findings if f.code == "DS101"] == \
        [f"LMDB page(s) holding keys ['{lost[0].decode()}', '{following.decode()}') are damaged"]


def test_a_page_lmdb_reports_damaged_is_skipped_the_same_way_in_process(crash_db):
    # A node claiming a value far beyond its page: py-lmdb raises instead of dying, and
    # the in-process walk resumes after the page just as recovery does after a crash.
    _, leaves = pages(crash_db)
    with Tree(crash_db / "data.mdb") as tree:
        page = tree.page(leaves[40])
        ptr = struct.unpack_from("<H", page.buf, HDR + 2 * 3)[0]
        on_page = len(page.nodes)
    patch(crash_db, leaves[40] * 4096 + ptr, struct.pack("<HH", 0, 0x400))   # a 64 MB value
    reports = [scan(crash_db, num_classes=3, jobs=j) for j in (1, 2, 3)]
    assert report_dict(reports[0]) == report_dict(reports[1]) == report_dict(reports[2])
    [damage] = [f for f in reports[0].findings if f.code == "DS101"]
    assert "damaged after key" in damage.message
    assert reports[0].records == 3000 - on_page + 3      # 3 records read before the bad node


# ----------------------------------------------------------------------- recovery logic

def drive(job, outcome_of):
    """Run a shard_job generator with a fake executor: outcome_of(task) -> Outcome."""
    task = next(job)
    while True:
        try:
            task = job.send(outcome_of(task))
        except StopIteration as done:
            return done.value


def test_a_row_range_whose_worker_dies_is_halved_down_to_the_bad_rows():
    shard = Shard("d.h5", "hdf5", 0, 0, 640, file="d.h5", first_index=0)

    def outcome_of(task):
        sub, _ = task
        if sub.start <= 37 < sub.stop:
            return recovery.Outcome(exitcode=-11)
        return recovery.Outcome(ShardResult(sub, sub.stop - sub.start, [
            Finding.of(NON_FINITE, "d.h5", "nan", index=0)]))

    result = drive(recovery.shard_job(shard), outcome_of)
    assert result.records == 640
    [loss] = [f for f in result.findings if f.code == "DS101"]
    assert loss.index == 30 and loss.message.startswith("rows 30..39 could not be read")
    assert "SIGSEGV" in loss.message
    # 0-20, 20-30, 40-80, 80-160, 160-320, 320-640 read; each piece's finding is rebased.
    assert sorted(f.index for f in result.findings if f.code == "DS300") == [0, 20, 40, 80, 160, 320]


def test_a_record_whose_check_kills_the_worker_is_named_and_the_rest_kept():
    shard = Shard("db", "leveldb", 0, None, None, encoding="datum")
    keys = [key(i) for i in range(10)]

    def outcome_of(task):
        sub, mode = task
        inside = [k for k in keys if (sub.start is None or k >= sub.start)
                  and (sub.stop is None or k < sub.stop)]
        if key(5) in inside:   # checking record 5 kills the process
            before = [k for k in inside if k < key(5)]
            return recovery.Outcome(exitcode=-11, last=before[-1] if before else None,
                                    reading=key(5) if mode == recovery.FORENSIC else None)
        return recovery.Outcome(ShardResult(sub, len(inside), []))

    result = drive(recovery.shard_job(shard), outcome_of)
    assert result.records == 10
    assert [(f.code, f.key, f.index) for f in result.findings] == [("DS101", "00000005", 5)]


def test_progress_counts_every_record_once(crash_db, make_lmdb, monkeypatch):
    monkeypatch.setattr(shard_runner, "TICK_SECONDS", 0)   # workers are forked: they see it too

    def run(db, jobs, total, backend=None):
        done, totals = [], []
        report = scan(db, jobs=jobs, backend=backend, progress=done.append,
                      progress_total=totals.append)
        assert totals == [total] and sum(done) == report.records
        return done

    # Readers tick after each batch (at most kv.BATCH records) when TICK_SECONDS have passed:
    # while shards run, not once per shard. (A worker started from a forkserver, as when an
    # earlier test left threads behind, does not see the patch: the in-process run does.)
    big = make_lmdb([(key(i), raw_datum(i % 3, shape=(1, 4, 4))) for i in range(12 * kv.BATCH)],
                    name="big_lmdb")
    assert len(run(big, 1, 12 * kv.BATCH, "inprocess")) >= 12
    assert len(run(big, 2, 12 * kv.BATCH)) >= 12
    run(big, 1, 12 * kv.BATCH)
    assert len(run(crash_db, 1, 3000, "inprocess")) >= 3
    run(crash_db, 1, 3000)
    _, leaves = pages(crash_db)
    patch(crash_db, leaves[10] * 4096, bytes(4096))
    run(crash_db, 2, 3000)                        # recovery re-reads records: counted once


def test_hdf5_progress_moves_with_the_blocks_not_once_per_shard(tmp_path, monkeypatch):
    monkeypatch.setattr(shard_runner, "TICK_SECONDS", 0)
    monkeypatch.setattr(shard_runner, "TICK", 1)
    path = tmp_path / "rows.h5"
    with h5py.File(path, "w") as f:         # 4 blocks of data (8 MB each), then the labels
        f.create_dataset("data", data=np.zeros((4096, 2048), np.float32), chunks=(256, 2048))
        f.create_dataset("label", data=np.zeros(4096, np.float32))
    for jobs in (1, 2):
        done = []
        report = scan(path, jobs=jobs, progress=done.append,
                      backend="inprocess" if jobs == 1 else None)
        assert sum(done) == report.records == 4096
        if jobs == 1:   # (pool workers started from a forkserver do not see the patched TICK)
            assert len([n for n in done if n]) > 4                # 4 blocks of data, then labels


def test_progress_ticks_at_most_every_tick_seconds(make_lmdb, monkeypatch):
    # Tiny records check at a million a second: a tick per batch would wake the parent
    # every millisecond. A worker ticks when TICK_SECONDS have passed, and once at the end.
    monkeypatch.setattr(shard_runner, "TICK_SECONDS", 3600)
    db = make_lmdb([(key(i), raw_datum(i % 3, shape=(1, 4, 4))) for i in range(12 * kv.BATCH)],
                   name="big_lmdb")
    for jobs in (1, 2):
        done = []
        # (in process for one job: a worker started from a forkserver, as when an earlier
        # test left threads behind, would not see the patched TICK_SECONDS)
        report = scan(db, jobs=jobs, progress=done.append,
                      backend="inprocess" if jobs == 1 else None)
        assert sum(done) == report.records == 12 * kv.BATCH
        shards = len(plan_sources([db], ScanConfig(), jobs)[0].shards)
        if jobs == 1 or threading.active_count() == 1:   # forked workers see the patch
            assert len([n for n in done if n]) == shards              # one per shard


# ---------------------------------------------------------------------- split points

def test_guided_shards_shrink_towards_the_end_and_never_join_what_is_not_adjacent():
    parts = [Shard("a.h5", "hdf5", i, 100 * i, 100 * (i + 1), file="a.h5") for i in range(16)]
    shards = guided(parts, 2)
    sizes = [(s.stop - s.start) // 100 for s in shards]
    assert sizes == [4, 3, 2, 2, 1, 1, 1, 1, 1]                    # big first, single parts last
    assert [s.shard_id for s in shards] == list(range(len(shards)))
    assert [(s.start, s.stop) for s in shards][:2] == [(0, 400), (400, 700)]
    # Parts of two files of an HDF5 list, or with a gap between them, stay apart.
    two = [Shard("l.txt", "hdf5", i, 10 * r, 10 * (r + 1), file=f)
           for i, (f, r) in enumerate([("f0.h5", 0), ("f0.h5", 1)] + [("f1.h5", r) for r in range(6)])]
    assert [(s.file, s.start, s.stop) for s in guided(two, 1)] == [
        ("f0.h5", 0, 20), ("f1.h5", 0, 30), ("f1.h5", 30, 50), ("f1.h5", 50, 60)]
    gap = [Shard("db", "lmdb", 0, None, b"b"), Shard("db", "lmdb", 1, b"c", None)]
    assert guided(gap, 1) == (gap[0], gap[1])


def test_lmdb_split_points_come_from_branch_pages(crash_db):
    with Tree(crash_db / "data.mdb") as tree:
        bounds = tree.split(8)
        assert len(bounds) == 7 and bounds == sorted(bounds)
        sizes = np.diff([0] + [int(b) for b in bounds] + [3000])
        assert sizes.min() > 3000 / 8 / 2             # pages are half full to full
        assert list(tree.records()) == list(lmdb_source.walk(crash_db))


def test_lmdb_walk_reopens_the_map_and_misses_nothing(crash_db, monkeypatch):
    monkeypatch.setattr(lmdb_source, "REOPEN_BYTES", 10_000)
    walked = list(kv.flatten(lmdb_source.read(Shard(str(crash_db), "lmdb", 0, key(5), key(2990)))))
    assert [k for k, _ in walked] == [key(i) for i in range(5, 2990)]


def test_split_by_size_balances_bytes_without_reading_records():
    sizes = {key(i): (100 if i < 500 else 10) for i in range(1000)}   # heavy first half

    def size(a: bytes, b: bytes) -> int:
        return sum(v for k, v in sizes.items() if a <= k < b)

    bounds = kv.split_by_size(size, key(0), key(999), 4)
    edges = [key(0), *bounds, key(999) + b"\x00"]
    parts = [size(a, b) for a, b in zip(edges, edges[1:])]
    assert len(parts) == 4 and max(parts) - min(parts) <= 200


def test_large_leveldb_is_split_by_approximate_size(make_leveldb, monkeypatch):
    path = make_leveldb(faulty_records(2000))
    monkeypatch.setattr(leveldb_source, "EXACT_SPLIT_BYTES", 0)
    plan = leveldb_source.plan(path, None, 6)
    assert plan.records is None and len(plan.shards) > 1   # no key was counted
    assert report_dict(scan(path, num_classes=3, jobs=3)) == \
        report_dict(scan(path, num_classes=3, jobs=1))


# ------------------------------------------------------------------------- dask cluster

def test_dask_cluster_on_loopback_gives_the_local_report(crash_db, make_lmdb):
    distributed = pytest.importorskip("distributed", reason="dask extra not installed "
                                      "(pip install 'datascan[dask]')")
    clean = make_lmdb(faulty_records(), name="faulty_lmdb")
    _, leaves = pages(crash_db)
    patch(crash_db, leaves[7] * 4096, bytes(4096))        # kills whichever worker reads it
    local = [scan(p, num_classes=3, jobs=2) for p in (clean, crash_db)]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        remote = [scan(p, num_classes=3, backend="dask", scheduler=cluster.scheduler_address)
                  for p in (clean, crash_db)]
    for a, b in zip(local, remote):
        assert report_dict(a) == report_dict(b)
    assert any(f.code == "DS101" for f in remote[1].findings)


def test_info_findings_are_capped_per_file_whatever_the_split(tmp_path):
    import h5py
    import numpy as np

    from datascan import scan
    from datascan.config import INFO_CAP
    path = tmp_path / "raw_units.h5"
    values = np.random.default_rng(0).random((5000, 8), dtype=np.float32)
    values[::7, 0] = 1e5                                   # 715 rows beyond float16's range
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=values, chunks=(64, 8))
        f["label"] = np.zeros(5000, np.float32)
    reports = [scan(path, jobs=j) for j in (1, 2, 3)]
    assert reports[0].findings == reports[1].findings == reports[2].findings
    listed = [f for f in reports[0].findings if f.code == "DS302" and f.index is not None]
    assert [f.index for f in listed] == list(range(0, 7 * INFO_CAP, 7))
    summary = [f for f in reports[0].findings if f.code == "DS302" and f.index is None]
    assert len(summary) == 1 and summary[0].message.startswith(f"{715 - INFO_CAP} more DS302")
