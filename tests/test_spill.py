"""Findings past a bound go to disk (issue 15, point 7): with the bound patched small, the
findings are spilled (the merge's shard results and the report's sorted runs), and every
report (JSON, text, HTML) is the same as the one held in memory."""
from __future__ import annotations

import gc
import json
import tempfile

import numpy as np
import pytest

from datascan import findings, merge
from datascan.config import ScanConfig
from datascan.cli import main
from datascan.engine import check
from datascan.findings import Sink, Spilled
from datascan.model import Finding, Severity, Tally

from conftest import float_datum, key, make_h5, raw_datum

TEN = ScanConfig(num_classes=10)


@pytest.fixture
def tmpdir_here(tmp_path, monkeypatch):
    """TMPDIR inside the test's directory: what the spill leaves behind can be seen."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)
    yield scratch
    tempfile.tempdir = None


def _h5(tmp_path):
    rows = 300
    data = np.ones((rows, 4), np.float32)
    data[::2, 0] = np.nan                      # DS300 on every other row
    data[5::7, 1] = 1e9                        # DS301
    label = (np.arange(rows) % 13).astype(np.float32)   # DS500 with --num-classes 10
    return make_h5(tmp_path / "bad.h5", data=(data, {"chunks": (16, 4)}), label=label)


def _lmdb(make_lmdb):
    records = []
    for i in range(120):
        if i % 3 == 0:
            value = float_datum([[[float("nan"), 1.0, 2.0]]], label=i % 12)
        elif i % 5 == 0:
            value = b"\x00not a datum"
        else:
            value = raw_datum(label=i % 12, seed=i)
        records.append((key(i), value))
    return make_lmdb(records)


def _spied(monkeypatch, bound: int) -> list[str]:
    """Patch the bound; return the list the names of written spill files go to."""
    written: list[str] = []
    real = findings.write

    def write(path, found):
        written.append(path.name)
        return real(path, found)
    monkeypatch.setattr(findings, "BOUND", bound)
    monkeypatch.setattr(findings, "write", write)
    return written


@pytest.mark.parametrize("which", ["h5", "lmdb"])
def test_a_spilled_report_is_the_report_held_in_memory(tmp_path, make_lmdb, monkeypatch,
                                                       tmpdir_here, which):
    path = _h5(tmp_path) if which == "h5" else _lmdb(make_lmdb)
    held = check(path, config=TEN, jobs=2)
    assert isinstance(held.findings, tuple) and len(held.findings) > 40
    written = _spied(monkeypatch, 7)
    spilled = check(path, config=TEN, jobs=2)
    assert isinstance(spilled.findings, Spilled)
    assert any(n.startswith("shard-") for n in written)      # the merge spilled shard results
    assert sum(n.startswith("run-") for n in written) >= len(held.findings) // 7
    assert list(spilled.findings) == list(held.findings)
    assert spilled.findings == held.findings and spilled.findings[3] == held.findings[3]
    assert spilled.tally == Tally.of(held.findings)
    assert (spilled.errors, spilled.warnings, spilled.bad_records, spilled.by_code()) == \
        (held.errors, held.warnings, held.bad_records, held.by_code())
    del spilled
    gc.collect()
    assert list(tmpdir_here.iterdir()) == []                 # its directory went with it


@pytest.mark.parametrize("fmt", ["json", "text", "html"])
def test_every_report_format_is_the_same_when_spilled(tmp_path, monkeypatch, tmpdir_here, fmt):
    path = _h5(tmp_path)
    args = ["check", str(path), "--num-classes", "10", "--jobs", "2", "--quiet", "--format", fmt]
    assert main([*args, "-o", str(tmp_path / "held")]) == 1
    written = _spied(monkeypatch, 5)
    assert main([*args, "-o", str(tmp_path / "spilled")]) == 1
    assert written
    held, spilled = (tmp_path / "held").read_text(), (tmp_path / "spilled").read_text()
    if fmt == "json":
        a, b = json.loads(held), json.loads(spilled)
        a["summary"].pop("seconds"), b["summary"].pop("seconds")
        assert a == b and len(a["findings"]) > 100
    else:
        drop = ("s)", "rendered", "scan time")      # lines that carry the time taken
        same = lambda t: [x for x in t.splitlines() if not any(d in x for d in drop)]  # noqa: E731
        assert same(held) == same(spilled)
    gc.collect()
    assert list(tmpdir_here.iterdir()) == []


def test_a_sink_gives_what_sorted_gives_ties_included(tmpdir_here):
    # Findings with equal sort keys keep the order they came in, as sorted() keeps them.
    found = [Finding(f"DS30{i % 3}", Severity.ERROR, f"p{i % 4}", None, i % 11, "m")
             for i in range(200)]
    found += [Finding("DS300", Severity.WARNING, "p1", "k", 3, "m")]   # ties with an error
    sink = Sink(bound=9)
    sink.extend(found)
    out = sink.done()
    assert isinstance(out, Spilled) and list(out) == sorted(found, key=Finding.sort_key)
    assert out.tally == Tally.of(found)
    assert Sink(bound=1000).done() == () and isinstance(findings.collect(found, 1000), tuple)


def test_the_json_report_is_streamed_byte_for_byte(tmp_path):
    from datascan.report import json as report_json
    report = check(_h5(tmp_path), config=TEN, jobs=1)
    expected = json.dumps(report_json.to_dict(report), indent=2, ensure_ascii=False) + "\n"
    assert report_json.render(report) == expected
    empty = check(tmp_path / "bad.h5", select=("DS9",), jobs=1)
    assert report_json.render(empty) == \
        json.dumps(report_json.to_dict(empty), indent=2, ensure_ascii=False) + "\n"


def test_the_merge_bound_is_the_findings_bound():
    assert merge.Merger([]).bound == findings.BOUND


def test_a_worker_writes_the_findings_it_holds_past_its_bound(tmp_path, monkeypatch, tmpdir_here):
    from datascan import shard
    from datascan.merge import Merger
    from datascan.scan import plan_sources
    path = _h5(tmp_path)
    plans = plan_sources([path], TEN, 1)
    held, spilled = Merger(plans), Merger(plans)
    for s in plans[0].shards:
        held.add(shard.run_shard(s, TEN))
    monkeypatch.setattr(shard, "FLUSH", 16)
    for s in plans[0].shards:
        r = shard.run_shard(s, TEN, spill_dir=spilled.spill_dir())
        assert r.spilled is not None and len(r.findings) < 16
        spilled.add(r)
    a, b = held.finish(), spilled.finish()
    assert a == b and len(a[1]) > 100
    assert list(tmpdir_here.iterdir()) == []      # finish() removed what the workers wrote
