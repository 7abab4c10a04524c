"""The same content twice: copies in a set (DS610), the same record in two sets of one command
(DS611), the same content under different labels (DS612); bounded, spilled, and the same
report for any split into shards."""
from __future__ import annotations

import tempfile

import numpy as np
import pytest

from datascan import scan
from datascan.checks import chunks, content, contentindex, duplicates
from datascan.decode.datum import encode_datum

from conftest import (encoded_datum, float_datum, jpeg_bytes, key, make_h5, png_bytes, raw_datum,
                      realdata, report_dict)


def _codes(report, code):
    return [f for f in report.findings if f.code == code]


def test_copies_in_a_set_name_the_first_and_count_the_copies(make_lmdb):
    records = [(key(i), raw_datum(label=i % 3, seed=i)) for i in range(40)]
    records += [(key(40), raw_datum(label=1, seed=7)), (key(41), raw_datum(label=1, seed=7))]
    report = scan(make_lmdb(records), num_classes=3)
    found = _codes(report, "DS610")
    assert [(f.key, f.index) for f in found] == [("00000040", 40), ("00000041", 41)]
    assert all("same content as #7 (key 00000007); 3 records hold it" in f.message for f in found)
    assert {f.severity.value for f in found} == {"warning"} and report.errors == 0


def test_the_batch_path_and_the_per_record_path_hash_alike(make_lmdb):
    """Record 40 is proven clean in a batch, record 41 (label outside the classes, so checked
    one by one) holds the same pixels under another label: label noise, seen across paths."""
    records = [(key(i), raw_datum(label=i % 3, seed=i)) for i in range(41)]
    records.append((key(41), raw_datum(label=9, seed=40)))
    report = scan(make_lmdb(records), num_classes=3)
    (f,) = _codes(report, "DS612")
    assert (f.key, f.index, f.severity.value) == ("00000041", 41, "error")
    assert "#40 (key 00000040), labelled 1 there and 9 here" in f.message
    assert [x.code for x in report.findings] == ["DS500", "DS612"]


def test_the_same_record_in_two_sets_is_leakage_named_by_both_keys(make_lmdb, make_leveldb):
    train = [(key(i, f"img{i}.png"), raw_datum(label=i % 2, seed=i)) for i in range(30)]
    test = [(key(i, f"t{i}.png"), raw_datum(label=i % 2, seed=100 + i)) for i in range(10)]
    test[3] = (key(3, "t3.png"), raw_datum(label=1, seed=21))          # train #21, same label
    a, b = make_lmdb(train, "train_lmdb"), make_leveldb(test, "test_leveldb")
    report = scan([a, b], num_classes=2)
    (f,) = _codes(report, "DS611")
    assert (f.path, f.key, f.index) == (str(b), "00000003_t3.png", 3)
    assert f"same content as {a} #21 (key 00000021_img21.png)" in f.message
    alone = scan(b, num_classes=2)          # one set alone: nothing to leak into
    assert not _codes(alone, "DS611")


def test_encoded_images_and_float_datums_are_compared_by_their_content(make_lmdb):
    img = jpeg_bytes(seed=1)
    records = [(key(0), encoded_datum(img, 1)), (key(1), encoded_datum(png_bytes(seed=1), 1)),
               (key(2), encoded_datum(img, 2)), (key(3), float_datum(np.ones((1, 2, 2)), 0)),
               (key(4), float_datum(np.ones((1, 2, 2)), 0)), (key(5), float_datum(np.ones((1, 4, 1)), 0))]
    report = scan(make_lmdb(records))
    assert [(f.code, f.index) for f in report.findings if f.code.startswith("DS61")] == \
        [("DS612", 2), ("DS610", 4)]          # (and DS600: record 5 is 1x4x1, not 1x2x2)


def test_hdf5_rows_compare_their_data_columns_and_their_label(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.random((50, 3, 4, 4)).astype(np.float32)
    extra = rng.random((50, 2)).astype(np.float32)
    label = (np.arange(50) % 5).astype(np.float32)
    data[30], extra[30], label[30] = data[10], extra[10], label[10]       # a copy
    data[31], extra[31], label[31] = data[11], extra[11], 4               # another label
    data[32], label[32] = data[12], label[12]                             # other 'extra': not a copy
    path = make_h5(tmp_path / "t.h5", data=data, extra=extra, label=label)
    report = scan(path)
    assert [(f.code, f.index) for f in report.findings] == [("DS610", 30), ("DS612", 31)]
    assert "row 10" in report.findings[0].message


@pytest.fixture
def leaky(make_lmdb, make_leveldb):
    train = [(key(i), raw_datum(label=i % 4, seed=i % 150)) for i in range(400)]
    test = [(key(i), raw_datum(label=(i + (i % 7 == 0)) % 4, seed=140 + i)) for i in range(60)]
    test.append((key(60), encode_datum(data=b"\x00" * 10, label=1)))   # short data: per record
    return make_lmdb(train, "train_lmdb"), make_leveldb(test, "test_leveldb")


def test_the_report_is_the_same_for_every_split_and_when_spilled(leaky, monkeypatch, tmp_path):
    reference = report_dict(scan(list(leaky), num_classes=4, jobs=1))
    assert {"DS610", "DS611", "DS612"} <= set(reference["summary"]["by_code"])
    for jobs in (2, 3):
        assert report_dict(scan(list(leaky), num_classes=4, jobs=jobs)) == reference
    monkeypatch.setattr(content, "SPILL_RECORDS", 7)
    monkeypatch.setattr(contentindex, "INDEX_RECORDS", 50)
    monkeypatch.setattr(contentindex, "INDEX_KEYS", 30)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    spilled = report_dict(scan(list(leaky), num_classes=4, jobs=3, backend="threading"))
    assert spilled == reference
    assert list((tmp_path / "tmp").iterdir()) == []          # every spill file removed


def test_past_the_listing_bound_the_rest_is_counted(leaky, monkeypatch):
    monkeypatch.setattr(duplicates, "DUPLICATES_LISTED", 5)
    report = scan(leaky[0], jobs=1, backend="inprocess")
    found = _codes(report, "DS610")
    listed = [f.index for f in found if f.index is not None]
    assert listed == [300, 301, 302, 303, 304]    # (150..299 hold them under other labels: DS612)
    assert len(_codes(report, "DS612")) == 6
    assert [f.message for f in found if f.index is None] == \
        ["95 more records repeat the content of an earlier record of their set (not listed one by one)"]


def test_realdata_train_and_test_hold_the_same_380_images():
    root = realdata("jnulzl-minicaffepython-lmdb")
    report = scan([root / "train_lmdb", root / "test_lmdb"], jobs=2)
    found = _codes(report, "DS611")
    assert len(found) == 380 and {f.path for f in found} == {str(root / "test_lmdb")}
    assert all(str(root / "train_lmdb") in f.message for f in found)


def test_realdata_text_recognition_train_and_val_are_byte_identical():
    root = realdata("shadmanrohan-bengali-crnn-lmdb", "older-commit-0807684", "data")
    report = scan([root / "train", root / "val"], jobs=2)
    found = _codes(report, "DS611")
    assert len(found) == 78 and all(f.key.startswith("image-") for f in found)
    assert found[0].message.startswith(f"same content as {root / 'train'} #0 (key image-000000001)")


def test_realdata_glyph_sets_hold_copies_label_noise_and_leakage():
    """zhaowei's test set: ~5,170 distinct payloads among 10,000 (PROVENANCE.md), some of them
    under two labels; 841 payloads are in both test and validate."""
    root = realdata("zhaowei-cnn-image-classify-lmdb")
    report = scan([root / "test", root / "validate"], jobs=2)
    by = report.by_code()
    assert by["DS612"] == 7 and by["DS611"] > 0 and by["DS610"] > 1000
    noisy = next(f for f in report.findings if f.code == "DS612")
    assert (noisy.key, noisy.message) == ("00008117_pic/52051.png", "same content as #69 (key "
                                          "00000069_pic/54806.png), labelled 8 there and 11 here (label noise)")


def test_a_killed_scans_spill_directory_is_removed_by_the_next(make_lmdb, monkeypatch, tmp_path):
    tmp = tmp_path / "tmp"
    (tmp / "datascan-scan-4194305-dead").mkdir(parents=True)       # no such process
    (tmp / "datascan-scan-4194305-dead" / "datascan-content-x").write_bytes(b"x")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    scan(make_lmdb([(key(i), raw_datum(seed=i)) for i in range(3)]))
    assert list(tmp.iterdir()) == []


@pytest.mark.parametrize("shape,dtype", [((50, 10), np.float32), ((50, 1), np.uint8), ((50, 3, 4), np.float64),
                                         ((20, 1100), np.float32)])
def test_an_hdf5_row_hashes_as_its_column_name_and_bytes_narrow_or_wide(shape, dtype):
    rows = np.random.default_rng(1).integers(0, 3, shape).astype(dtype)     # zeros at row ends too
    want = [content.digest(b"data", np.ascontiguousarray(r).tobytes()) for r in rows]
    assert content.row_digests("data", rows).tolist() == want


def test_keys_are_found_in_a_workers_unsorted_chunks_without_sorting_them_each_time(tmp_path):
    """A worker's spilled chunk is in the order its records were added (a batch's records
    checked one by one come before the batch's others), its keys of any width, some none
    (HDF5 rows): each record's key is read back from the file the index keeps, and a
    thousand lookups in a 20,000-record chunk take milliseconds (sorting the chunk and its
    keys for every lookup took seconds: ~20 ms each)."""
    import time
    from datascan.checks.keys import Keys
    n = 20_000
    rng = np.random.default_rng(3)
    order = rng.permutation(n)
    keys = [None if i % 7 == 3 else b"k" * (i % 5) + str(i).encode() for i in order.tolist()]
    log = content.ContentLog(str(tmp_path))
    log.add_many(content.entries(rng.integers(0, 2**63, n, dtype=np.uint64), np.zeros(n), order),
                 Keys.of(keys))
    log.spill()
    index = contentindex.ContentIndex(str(tmp_path))
    try:
        index.add(2, 5, log)
        assert len(index.files) == 1
        want = {i: k for i, k in zip(order.tolist(), keys)}
        probe = rng.choice(n, 1000, replace=False).tolist()
        started = time.perf_counter()
        got = [index.key_of((2 << contentindex.SRC) | (5 << contentindex.SHARD) | i) for i in probe]
        took = time.perf_counter() - started
        assert got == [want[i] for i in probe]
        assert index.key_of((2 << contentindex.SRC) | (5 << contentindex.SHARD) | n) is None
        assert took < 2.0, took
    finally:
        index.close()
    assert list(tmp_path.iterdir()) == []


def test_a_written_chunk_heads_with_its_lowest_and_highest_index(tmp_path):
    """Its head names the range of indexes it holds, which key_of reads it for: the lowest
    is its records' lowest, not 0 (an empty chunk: 0..-1, none)."""
    from datascan.checks.keys import Keys
    path = tmp_path / "log"
    with open(path, "wb") as fh:
        made = [chunks.write_chunk(fh, content.entries(np.arange(len(i), dtype=np.uint64) << np.uint64(60),
                                                        np.zeros(len(i)), i), Keys.of([b"a", None, b"bcd"][:len(i)]))
                for i in ([7, 5, 9], [], [40_000, 30_000])]
    with open(path, "rb") as fh:
        read = chunks.chunk_index(fh)
    assert [(c.low, c.high, c.n) for c in made] == [(c.low, c.high, c.n) for c in read] == \
        [(5, 9, 3), (0, -1, 0), (30_000, 40_000, 2)]
    assert [e["i"].tolist() for e, _ in chunks.read_chunks(str(path))] == [[7, 5, 9], [], [40_000, 30_000]]


def test_a_chunk_without_keys_says_so_and_every_key_reads_back(tmp_path):
    """A chunk none of whose records has a key (HDF5 rows) says so in its head, so that the
    index never reads it to look a key up; a keyed chunk gives each record's key (or None)
    from its key table, in whatever order its records were added."""
    from datascan.checks.keys import Keys
    path = tmp_path / "log"
    keyed = [b"k3", None, b"", b"longer-key-1", b"x"]
    with open(path, "wb") as fh:
        for keys in ([None] * 4, keyed):
            idx = np.array([3, 1, 0, 2, 4][:len(keys)])
            hashes = np.arange(len(keys), dtype=np.uint64) << np.uint64(59)   # several buckets
            chunks.write_chunk(fh, content.entries(hashes, np.zeros(len(keys)), idx), Keys.of(keys))
    with open(path, "rb") as fh:
        bare, full = chunks.chunk_index(fh)
        assert not bare.keyed and full.keyed
        assert [bare.key(fh, i) for i in (0, 3, 4)] == [None, None, False]
        table = full.key_table(fh)
        assert [full.key(fh, i, table) for i in (3, 1, 0, 2, 4, 9)] == keyed + [False]
        assert [full.key(fh, i) for i in (3, 2)] == [b"k3", b"longer-key-1"]
    assert [list(k) for _, k in [(e, [keys[j] for j in range(len(keys))]) for e, keys in chunks.read_chunks(str(path))]] \
        == [[None] * 4, keyed]


def test_a_recovered_shards_content_log_spills_into_the_scans_directory(make_lmdb, monkeypatch,
                                                                         tmp_path):
    """Recovery (recovery._combine) joins a dead shard's pieces into one content log in this
    process; the index keeps its file until the scan ends, so it must lie in the scan's
    directory, which is removed however the scan ends (a killed scan's by the next one),
    not loose in TMPDIR."""
    from datascan.config import ScanConfig
    from datascan.run_options import RunOptions
    from datascan.scan import run_plans
    from test_parallel import leaf_keys, pages, patch, reader_dies
    recs = [(key(i), raw_datum(i % 3, shape=(1, 16, 16), seed=i % 700)) for i in range(3000)]
    db = make_lmdb(recs)
    _, leaves = pages(db)
    lost = set(leaf_keys(db, leaves[len(leaves) // 2]))
    patch(db, leaves[len(leaves) // 2] * 4096, bytes(4096))
    assert reader_dies(db) < 0
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setattr(content, "SPILL_RECORDS", 100)
    with content.spill_dir(ScanConfig(num_classes=3)) as config:
        _, merger = run_plans([db], config, RunOptions(jobs=2))
        try:
            kept = [path for _, path, _ in merger.contents.files]
            # At least the recovered shard's joined log, which spills in this process (its
            # workers see the patched SPILL_RECORDS only when forked, not from a forkserver).
            assert kept
            assert [p for p in kept if not p.startswith(config.spill_dir + "/")] == []
            infos, found = merger.finish()
        finally:
            merger.close()
    assert infos[0].records == 3000 - len(lost) and any(f.code == "DS101" for f in found)
    assert not list(tmp.glob("datascan-content-*"))


def test_keys_in_messages_survive_a_one_table_cache_an_empty_key_and_hdf5_rows(
        make_lmdb, make_leveldb, monkeypatch, tmp_path):
    """Review: LMDB, HDF5 rows (no keys) and a LevelDB whose first key is b"" in one scan; with
    every log spilled in tiny chunks, keys written out by the index and one key table kept
    (TABLES=1: evicted at each new chunk), every DS61x names the right key, and its first's."""
    import re
    rng = np.random.default_rng(5)
    a = [(b"a" * (i % 4) + b"%04d" % i, raw_datum(int(rng.integers(3)), seed=int(rng.integers(90))))
         for i in range(200)]
    b = [(b"" if i == 0 else b"b%03d" % i, raw_datum(int(rng.integers(3)), seed=int(rng.integers(60, 150))))
         for i in range(80)]
    b[5] = (b[5][0], b[0][1])                       # a copy of the record keyed b""
    rows = rng.integers(0, 3, (120, 2)).astype(np.float32)
    srcs = [make_lmdb(a, "a_lmdb"), make_h5(tmp_path / "c.h5", data=rows), make_leveldb(b, "b_leveldb")]
    keys = {str(srcs[0]): sorted(k for k, _ in a), str(srcs[2]): sorted(k for k, _ in b)}
    monkeypatch.setattr(duplicates, "DUPLICATES_LISTED", 10_000)
    reference = report_dict(scan(srcs, num_classes=3, jobs=1, backend="inprocess"))
    for name, value in (("INDEX_RECORDS", 1), ("INDEX_KEYS", 3), ("GROUP_RECORDS", 5), ("TABLES", 1)):
        monkeypatch.setattr(contentindex, name, value)
    monkeypatch.setattr(content, "SPILL_RECORDS", 3)
    for kw in (dict(jobs=1, backend="inprocess"), dict(jobs=3, backend="threading")):
        report = scan(srcs, num_classes=3, **kw)
        assert report_dict(report) == reference
    found = [f for f in report.findings if f.code.startswith("DS61") and f.index is not None]
    assert {"DS610", "DS611", "DS612"} <= {f.code for f in found} and any("(key )" in f.message for f in found)
    for f in found:
        want = keys.get(f.path)
        assert f.key == (None if want is None else want[f.index].decode())
        m = re.search(r"same content as (?:(/\S+) )?(?:#(\d+) \(key (.*?)\)|row (\d+))", f.message)
        first = keys.get(m.group(1) or f.path)
        assert (m.group(3) is None) == (first is None)
        if first is not None:
            assert m.group(3) == first[int(m.group(2))].decode()
