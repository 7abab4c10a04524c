"""The one entry (datascan/engine.py) from Python: requests, the public wrappers, and the
rule that the forward pass sees unfiltered damage while select/ignore apply once, at the end."""
from __future__ import annotations

import pytest

import datascan
from conftest import float_datum, key, raw_datum
from datascan.codes import keep
from datascan.engine import CheckRequest, NetSource, run
from datascan.errors import UsageError


def test_check_is_scan_plus_the_same_filter(make_lmdb):
    records = [(key(i), raw_datum(i % 5, seed=i)) for i in range(20)]
    records[3] = (key(3), b"\xff not a datum")
    path = make_lmdb(records)
    config = datascan.ScanConfig(num_classes=3)
    every = datascan.check(path, config=config)
    assert {(f.code, f.index) for f in every.findings} >= {("DS200", 3), ("DS500", 4)}
    for select, ignore in [(("DS5",), ()), ((), ("DS2",)), (("DS2", "DS5"), ("DS500",))]:
        got = datascan.check(str(path), config=config, select=select, ignore=ignore)
        assert got.findings == datascan.scan(path, config=config, select=select,
                                             ignore=ignore).findings
        assert got.findings == tuple(f for f in every.findings
                                     if keep(f.code, select, ignore))


def test_forward_sees_damage_the_filter_drops(make_lmdb):
    path = make_lmdb([(key(i), raw_datum(i % 3, shape=(3, 32, 32), seed=i)) for i in range(300)])
    with open(path / "data.mdb", "r+b") as fh:
        fh.truncate((path / "data.mdb").stat().st_size // 2)
    forward = datascan.ForwardOptions(batch_size=4, num_classes=3)
    report = datascan.check([path], forward=forward, select=["DS7"], jobs=1)
    assert report.findings == ()
    assert "storage damage (DS102" in report.forward[0].not_run
    unfiltered = run(CheckRequest(paths=(path,), forward=forward))
    assert [f.code for f in unfiltered.findings] == ["DS102"]


def test_forward_findings_are_filtered_too(make_lmdb):
    import numpy as np
    values = np.zeros((8, 1, 4, 4), np.float32)
    values[5, 0, 0, 0] = np.nan
    path = make_lmdb([(key(i), float_datum(values[i], i % 3)) for i in range(8)])
    forward = datascan.ForwardOptions(batch_size=4, num_classes=3)
    codes = {f.code for f in datascan.check(path, forward=forward).findings}
    assert {"DS300", "DS700"} <= codes
    assert {f.code for f in datascan.check(path, forward=forward, ignore=["DS7"]).findings} \
        == codes - {"DS700"}
    assert {f.code for f in datascan.check(path, forward=forward, select=["DS7"]).findings} \
        == {"DS700"}


def test_a_request_names_paths_or_a_net(tmp_path):
    with pytest.raises(UsageError, match="give at least one PATH"):
        CheckRequest()
    with pytest.raises(UsageError, match="give no PATH"):
        CheckRequest(paths=(tmp_path,), net=NetSource(tmp_path / "net.prototxt"))
    with pytest.raises(UsageError, match="each data layer's own options"):
        CheckRequest(net=NetSource(tmp_path / "net.prototxt"),
                     forward=datascan.ForwardOptions(batch_size=4))
