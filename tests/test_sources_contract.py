"""The Format contract (sources/interface.py), checked on every registered format: a new
format must get a builder here, and then passes the same test as the others."""
from __future__ import annotations

import os
import sys
from dataclasses import fields

import h5py
import numpy as np
import pytest

from datascan import clean, scan, sources
from datascan.cli import main
from datascan.config import ScanConfig
from datascan.shard import run_shard
from datascan.sources import kv
from datascan.sources.interface import KEYED, ROWS, Format, LineFacts, RowBlock, StorageDamage
from conftest import float_datum, jpeg_bytes, key, raw_datum

N = 12
NAN_AT, LABEL_AT = 3, 8      # the records planted with a NaN and with label 7 (--num-classes 5)


def _keyed(name):
    def build(tmp_path):
        records = [(key(i), float_datum(np.full((1, 2, 2), np.nan if i == NAN_AT else 0.5),
                                        label=7 if i == LABEL_AT else i % 5)) for i in range(N)]
        path = tmp_path / f"src_{name}"
        sources.get(name).write(path, records)
        return path
    return build


def _hdf5(tmp_path):
    path = tmp_path / "src.h5"
    data = np.full((N, 1, 2, 2), 0.5, np.float32)
    data[NAN_AT, 0, 1, 1] = np.nan
    label = (np.arange(N) % 5).astype(np.float32)
    label[LABEL_AT] = 7
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=data, chunks=(4, 1, 2, 2))
        f.create_dataset("label", data=label, chunks=(4,))
    return path


def _imagelist(tmp_path):
    """An image list naming real files by absolute path (Caffe's root_folder ""); the record
    planted "with a NaN" is a truncated JPEG (an image holds no NaN)."""
    lines = []
    for i in range(N):
        data = jpeg_bytes((64, 64), seed=i)
        f = tmp_path / "images" / f"img_{i:02d}.jpg"
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(data[:len(data) // 2] if i == NAN_AT else data)
        lines.append(f"{f} {7 if i == LABEL_AT else i % 5}\n")
    path = tmp_path / "src_list.txt"
    path.write_text("".join(lines))
    return path


BUILDERS = {"lmdb": _keyed("lmdb"), "leveldb": _keyed("leveldb"), "hdf5": _hdf5,
            "imagelist": _imagelist}
# What each format's planted records are found as (an image list's bad image is DS401).
PLANTED = {"imagelist": [("DS401", NAN_AT), ("DS500", LABEL_AT)]}


def test_every_registered_format_has_a_builder_here():
    assert set(sources.names()) == set(BUILDERS)


def test_the_registry_is_read_only():
    with pytest.raises(TypeError):
        sources.REGISTRY["csv"] = sources.REGISTRY["lmdb"]


@pytest.mark.parametrize("name", sources.names())
def test_format_plans_reads_writes_and_rereads(name, tmp_path):
    fmt = sources.get(name)
    assert isinstance(fmt, Format) and fmt.name == name and fmt.records in (KEYED, ROWS)
    path = BUILDERS[name](tmp_path)
    assert fmt.sniff(path) and sources.detect(path) is fmt
    assert not fmt.sniff(tmp_path / "nothing-here")

    config = ScanConfig(num_classes=5)
    plan = fmt.plan(path, config, 3)
    assert plan.format == name and plan.shards and plan.records in (None, N)
    # read() yields only what the contract names, never findings; the records add up.
    seen = 0
    for shard in plan.shards:
        for item in fmt.read(shard, config, kv.BATCH):
            assert isinstance(item, (list, RowBlock, StorageDamage, LineFacts))
            assert not isinstance(item, (StorageDamage, LineFacts))   # nothing wrong planted
            seen += len(item) if isinstance(item, list) else item.done
    assert seen == N
    # The shard runner turns what was read into findings at the planted records.
    results = [run_shard(s, config) for s in plan.shards]
    assert sum(r.records for r in results) == N
    report = scan(path, num_classes=5, jobs=2, ignore=("DS61",))   # (the builders repeat records)
    assert [(f.code, f.index) for f in report.findings] == \
        PLANTED.get(name, [("DS300", NAN_AT), ("DS500", LABEL_AT)])
    keys = [key(i) for i in range(N)]
    if fmt.walk is not None:
        walked = list(fmt.walk(path))
        if name == "imagelist":      # its keys name the line: "line N: path"
            keys = [k for k, _ in walked]
            assert keys[1].startswith(b"line 2: ")
        assert [k for k, _ in walked] == keys
    if fmt.count is not None:
        assert fmt.count(path) == N
    if fmt.fetch is not None:
        assert dict(fmt.fetch(path, [keys[1], b"missing"])) == {keys[1]: dict(fmt.walk(path))[keys[1]],
                                                                 b"missing": None}
    # Written by the format's own writer (clean), then read again: the bad records are gone.
    dst = tmp_path / f"clean_{name}"
    result = clean(path, dst, num_classes=5, ignore=("DS61",))
    assert result.ok and result.kept == N - 2
    again = scan(dst, num_classes=5, ignore=("DS61",))
    assert again.records == N - 2 and again.findings == ()
    assert sources.detect(dst) is fmt


def test_capabilities_are_callables_or_none():
    for name in sources.names():
        fmt = sources.get(name)
        for f in fields(Format):
            value = getattr(fmt, f.name)
            if f.name not in ("name", "records", "errors"):
                assert value is None or callable(value), (name, f.name)


@pytest.mark.parametrize("forced", [None, "leveldb"])
def test_a_missing_backend_is_one_line_naming_what_to_install(forced, make_leveldb, monkeypatch, capsys):
    path = make_leveldb([(key(i), raw_datum(i)) for i in range(3)])
    monkeypatch.setitem(sys.modules, "plyvel", None)      # import plyvel now raises ImportError
    argv = ["check", str(path)] + (["--source-format", forced] if forced else [])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "leveldb" in err[0] and "pip install plyvel" in err[0] and "not a dataset" not in err[0]


def _rewrite(name, path):
    """One record rewritten in place, the way each format's own tools would."""
    if name == "lmdb":
        import lmdb
        with lmdb.open(str(path), subdir=True) as env, env.begin(write=True) as txn:
            txn.put(key(2), float_datum(np.full((1, 2, 2), np.nan)))
    elif name == "leveldb":
        import plyvel
        db = plyvel.DB(str(path))
        db.put(key(2), float_datum(np.full((1, 2, 2), np.nan)))
        db.compact_range()          # one more table
        db.close()
    else:
        st = path.stat()
        with h5py.File(path, "r+") as f:
            f["data"][2, 0, 0, 0] = np.nan
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))   # mtime set back, as touch -r does


def _stable(fp: dict) -> dict:
    """What a scan must leave alone: all but the "~" keys (what datascan's own scan changes)."""
    return {k: v for k, v in fp.items() if not k.startswith("~")}


@pytest.mark.parametrize("name", sources.names())
def test_fingerprint_changes_when_a_record_is_rewritten_and_not_when_scanned(name, tmp_path):
    fmt = sources.get(name)
    if fmt.fingerprint is None:
        pytest.skip(f"{name} has no fingerprint: its verdicts are not remembered")
    path = BUILDERS[name](tmp_path)
    before = fmt.fingerprint(path)
    scan(path, jobs=2)
    after = fmt.fingerprint(path)
    assert _stable(after) == _stable(before), "a scan changed what the fingerprint sees"
    _rewrite(name, path)
    assert _stable(fmt.fingerprint(path)) != _stable(after)
    assert ("DS300", 2) in [(f.code, f.index) for f in scan(path).findings]
