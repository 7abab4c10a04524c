"""The dataset-wide shape summary stays bounded whatever the data (a bounded number of shapes
and of record references per table), and merging shard summaries gives what one pass over
every record gives: the same DS600/DS403 findings for every --jobs value and backend."""
from __future__ import annotations

import random

import pytest

from datascan import scan
from datascan.config import ScanConfig
from datascan.model import LabelStats
from datascan.scan import plan_sources
from datascan.checks import summary
from datascan.checks.summary import ShapeGroup, ShapeTable
from conftest import encoded_datum, key, png_bytes, raw_datum, report_dict

RUNS = [dict(jobs=2), dict(jobs=3), dict(jobs=2, backend="threading"), dict(jobs=2, backend="loky")]



def same_for_every_run(path) -> list:
    """The jobs=1 report's findings, after checking every other run gives the same report."""
    assert len(plan_sources([path], ScanConfig(), 3)[0].shards) > 2     # the split is real
    reference = scan(path, jobs=1)
    for kw in RUNS:
        assert report_dict(scan(path, **kw)) == report_dict(reference), kw
    return list(reference.findings)


def state(t: ShapeTable) -> tuple:
    return (t.overflow, t.records, t.ranges(),
            {s: (g.count, g.refs, g.truncated) for s, g in t.items()})


def one_pass(shapes: list) -> ShapeTable:
    t = ShapeTable()
    for i, shape in enumerate(shapes):
        t.add(shape, i, f"k{i}")
    return t


@pytest.fixture
def small_caps(monkeypatch):
    """Caps small enough for a few hundred records to hit all of them."""
    monkeypatch.setattr(summary, "MAX_SHAPE_GROUPS", 6)
    monkeypatch.setattr(summary, "SHAPE_REFS_TOTAL", 30)
    monkeypatch.setattr(summary, "SHAPE_REFS_CAP", 12)


@pytest.mark.parametrize("distinct", [1, 2, 4, 6, 7, 40])
def test_merged_shards_give_the_one_pass_table_for_any_split_and_order(small_caps, distinct):
    rng = random.Random(distinct)
    shapes = [(rng.randrange(distinct) if rng.random() < 0.7 else 0, 5) for _ in range(300)]
    whole = state(one_pass(shapes))
    assert whole[0] == (len(set(shapes)) > 6)
    for trial in range(20):
        cuts = sorted(rng.sample(range(1, len(shapes)), rng.randrange(1, 80)))
        parts = []
        for start, stop in zip([0] + cuts, cuts + [len(shapes)]):
            t = ShapeTable()
            for i in range(start, stop):
                t.add(shapes[i], i - start, f"k{i}")
            parts.append((start, t))
        rng.shuffle(parts)              # results come back in any order
        merged = ShapeTable()
        for start, t in parts:
            merged.merge(t, lambda i, start=start: i + start)
        assert state(merged) == whole, (trial, cuts)


@pytest.mark.parametrize("distinct", [1, 2, 3, 6])
def test_shards_adding_runs_merge_to_the_one_pass_table(small_caps, distinct):
    # Readers add a batch of one shape as one run of refs (keys as bytes); merged in any
    # order, the shards give what one pass adding record by record gives.
    rng = random.Random(distinct)
    shapes = []
    while len(shapes) < 400:            # stretches of one shape, as batches of a dataset are
        shapes += [(rng.randrange(distinct), 5)] * rng.randrange(1, 40)
    whole = state(one_pass(shapes))
    for trial in range(20):
        cuts = sorted(rng.sample(range(1, len(shapes)), rng.randrange(1, 12)))
        parts = []
        for start, stop in zip([0] + cuts, cuts + [len(shapes)]):
            t, i = ShapeTable(), start
            while i < stop:
                n = min(stop - i, rng.randrange(1, 50))
                if len(set(shapes[i:i + n])) == 1 and shapes[i] in t:
                    t[shapes[i]].add_run(i - start, [f"k{j}".encode() for j in range(i, i + n)])
                else:
                    for j in range(i, i + n):
                        t.add(shapes[j], j - start, f"k{j}")
                i += n
            parts.append((start, t))
        rng.shuffle(parts)
        merged = ShapeTable()
        for start, t in parts:
            merged.merge(t, lambda i, start=start: i + start)
        assert state(merged) == whole, (trial, cuts)


def test_a_table_holds_bounded_groups_and_refs(small_caps):
    spread = one_pass([(i % 5, 1) for i in range(10_000)])         # 5 shapes, 2,000 records each
    assert sum(len(g.refs) for g in spread.values()) <= 30
    assert all(g.refs == [(i, f"k{i}") for i in range(s[0], 30, 5)] for s, g in spread.items())
    unique = one_pass([(i, 100 - i % 97) for i in range(10_000)])  # every record its own shape
    assert unique.overflow and len(unique) == 0 and unique.records == 10_000
    assert unique.ranges() == ((0, 4), (9_999, 100))


def test_full_and_add_run_agree_with_add_as_the_cap_shrinks(small_caps):
    by_add, by_run = ShapeTable(), ShapeTable()
    for t in (by_add, by_run):
        for i in range(12):
            t.add((1,), i, str(i))
    assert by_run[(1,)].full
    by_run[(1,)].add_run(12, [str(i) for i in range(12, 19)])
    for i in range(12, 19):
        by_add.add((1,), i, str(i))
    assert state(by_add) == state(by_run)
    for t in (by_add, by_run):          # more shapes: fewer refs per shape, still full
        for shape in range(2, 6):
            t.add((shape,), 100 + shape, "x")
        assert t[(1,)].full and len(t[(1,)].refs) == 30 // 5
        t[(1,)].add(200, "y")
        assert t[(1,)].count == 20 and len(t[(1,)].refs) == 6 and t[(1,)].truncated
    by_run = ShapeTable()                # add_run: the same as add() for each record
    by_run.add((1,), 0, "0")
    for first, n in ((1, 3), (4, 10), (14, 5)):
        by_run[(1,)].add_run(first, [str(i).encode() for i in range(first, first + n)])
    again = ShapeTable()
    for i in range(19):
        again.add((1,), i, str(i))
    assert state(by_run) == state(again)
    lone = ShapeGroup()                  # outside a table: SHAPE_REFS_CAP
    for i in range(13):
        lone.add(i, None)
    assert lone.full and len(lone.refs) == 12 and lone.truncated


def test_images_of_more_sizes_than_the_cap_give_one_ds600_line(make_lmdb):
    # Every image its own size: the table overflows (256 sizes), with the real caps.
    sizes = [(1 + i % 20, 1 + i // 20) for i in range(300)]
    findings = same_for_every_run(image_lmdb(make_lmdb, sizes))
    ds600 = [f for f in findings if f.code == "DS600"]
    assert [(f.index, f.severity.value, f.message) for f in ds600] == [(
        None, "error", "images come in more than 256 sizes (height 1..20, width 1..15), too many "
        "to name the records of each: Caffe's Data layer aborts on the first batch mixing two sizes "
        "(\"Check failed: height <= img_height\" or the like) unless the net's transform_param "
        "sets crop_size <= 1")]


def test_raw_datums_of_more_shapes_than_the_cap_give_one_ds600_error(make_lmdb):
    recs = [(key(i), raw_datum(0, shape=(1 + i % 2, 1 + i % 20, 1 + i // 40), seed=i))
            for i in range(600)]
    findings = same_for_every_run(make_lmdb(recs))
    assert [(f.code, f.index, f.severity.value, f.message) for f in findings] == [(
        "DS600", None, "error", "600 Datums come in more than 256 shapes (channels 1..2, height "
        "1..20, width 1..15), too many to name the records of each: Caffe's Data layer aborts on "
        "the batch mixing them")]


def minority_sizes(n_sizes: int, per_size: int) -> list:
    """Sizes of 8x8 images, with n_sizes other sizes of per_size records each spread over
    the key range: the 8x8 majority holds two thirds of them."""
    odd = [(9 + s % 12, 3 + s // 12) for s in range(n_sizes) for _ in range(per_size)]
    random.Random(0).shuffle(odd)
    it = iter(odd)
    return [next(it) if i % 3 == 1 else (8, 8) for i in range(3 * len(odd))]


def image_lmdb(make_lmdb, sizes: list):
    return make_lmdb((key(i), encoded_datum(png_bytes(size=size, seed=i)))
                     for i, size in enumerate(sizes))


def test_minority_sizes_are_named_when_they_fit(make_lmdb, monkeypatch):
    # 40 minority sizes of 4 records: 41 groups share 82 refs, 2 each, so every minority
    # size lists its first 2 records, then counts 2 more, whatever the split. (Workers that
    # do not see the patched total keep more; the merge trims to the same prefix.)
    monkeypatch.setattr(summary, "SHAPE_REFS_TOTAL", 82)
    sizes = minority_sizes(40, 4)
    findings = same_for_every_run(image_lmdb(make_lmdb, sizes))
    named = [f for f in findings if f.code == "DS600" and f.index is not None]
    counted = [f for f in findings if f.code == "DS600" and f.index is None]
    assert len(named) == 80 and len(counted) == 40
    at: dict[str, list[int]] = {}        # minority size -> its records' indexes
    for i, (h, w) in enumerate(sizes):
        if (h, w) != (8, 8):
            at.setdefault(f"{h}x{w}", []).append(i)
    for f in named:
        h, w = sizes[f.index]
        assert f.key == key(f.index).decode() and f.severity.value == "error"
        assert f.message.startswith(f"image size {h}x{w} (HxW), while 320 records are 8x8: Caffe's Data "
                                    "layer aborts on a batch that starts with a 8x8 image")
        assert f.message.endswith("unless the net's transform_param sets crop_size <= 3")
    assert sorted(f.index for f in named) == sorted(i for v in at.values() for i in v[:2])
    assert all(f.message.startswith("2 more records are ") for f in counted)


def test_minority_sizes_beyond_the_cap_are_summed_up(make_lmdb, monkeypatch):
    monkeypatch.setattr(summary, "MAX_SHAPE_GROUPS", 16)
    monkeypatch.setattr("datascan.checks.loader.MAX_SHAPE_GROUPS", 16)
    findings = same_for_every_run(image_lmdb(make_lmdb, minority_sizes(20, 2)))
    assert [(f.code, f.index, f.message) for f in findings] == [(
        "DS600", None, "images come in more than 16 sizes (height 8..20, width 3..8), too many to "
        "name the records of each: Caffe's Data layer aborts on the first batch mixing two sizes "
        "(\"Check failed: height <= img_height\" or the like) unless the net's transform_param "
        "sets crop_size <= 3")]


# ------------------------------------------------------------------------ label counts

def test_label_counts_past_the_cap_keep_their_range_for_any_split(monkeypatch):
    monkeypatch.setattr(summary, "MAX_LABELS", 50)
    rng = random.Random(3)
    labels = [rng.randrange(-5, 500) for _ in range(2000)]
    whole = summary.LabelCounts()
    for x in labels:
        whole.add(x)
    assert whole.overflow and whole.stats() == LabelStats(
        min=min(labels), max=max(labels), distinct=None, histogram=None,
        note="more than 50 distinct labels: histogram not kept")
    for cut in (1, 30, 1000, 1999):       # the parts may each be under the cap
        merged = summary.LabelCounts()
        for part in (labels[:cut], labels[cut:]):
            counts = summary.LabelCounts()
            for x in part:
                counts.add(x)
            merged.update(counts)
        assert merged.stats() == whole.stats() and merged.dropped == len(labels)
    few = summary.LabelCounts()
    few.update({3: 2, 1: 5})
    assert few.stats() == LabelStats(min=1, max=3, distinct=2, histogram={1: 5, 3: 2})
    assert list(few.stats().histogram) == [1, 3]


def test_labels_that_are_record_ids_are_summed_up_not_listed(make_lmdb, monkeypatch, capsys):
    from datascan.cli import main
    from datascan.report import text
    monkeypatch.setattr(summary, "MAX_LABELS", 100)
    monkeypatch.setattr(text, "MAX_LABELS", 100)
    path = make_lmdb([(key(i), raw_datum(i, shape=(1, 4, 4))) for i in range(3000)])
    reports = [scan(path, jobs=j) for j in (1, 2)]
    assert report_dict(reports[0]) == report_dict(reports[1])
    assert reports[0].sources[0].labels == LabelStats(
        min=0, max=2999, distinct=None, histogram=None,
        note="more than 100 distinct labels: histogram not kept")
    assert main(["check", str(path), "--jobs", "1", "-q", "--ignore", "DS61"]) == 0   # (one picture)
    assert "labels 0..2999 (more than 100 distinct)" in capsys.readouterr().out
