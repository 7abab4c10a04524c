"""The merge: shard results, as they come back in any order, into a source's findings and
summary; dataset-wide checks on the merged summaries (scan.py plans and runs the shards)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import findings
from .checks.dataset import dataset_findings, label_stats
from .checks.contentindex import ContentIndex
from .checks.duplicates import Duplicates
from .checks.summary import ShardSummary
from .checks.textlayout import TEXT_LAYOUT
from .codes import CHANGED, NO_RECORDS, lookup
from .config import INFO_CAP, Transform
from .model import Finding, Severity, ShapeCounts, SourceInfo
from .shard import ShardResult
from .sources.interface import Plan
from .structs import replace

SHARD_SPAN = 1 << 40        # a ref's position while merging: shard_id * SHARD_SPAN + index in shard
UNREAD = "unread"           # the format of a plan for a path that could not be read


class Merger:
    """Merges shard results as they come back, in any order, keeping only what the report
    needs: the findings, and per source one summary of bounded size (config.py: at most
    MAX_SHAPE_GROUPS shapes and SHAPE_REFS_TOTAL record references per table). Memory grows
    with neither the number of records nor the number of distinct shapes, nor with the
    number of findings: past findings.BOUND held, a shard's findings wait on disk until
    finish() places them (their indexes are shard-local until every shard is back), and the
    report's findings are sorted through a findings.Sink."""

    def __init__(self, plans: list[Plan], bound: int | None = None, content_dir: str | None = None,
                 transform: Transform = Transform()):
        self.plans = plans
        self.transform = transform      # the data layer's, which the shape checks judge against
        self.bound = findings.BOUND if bound is None else bound
        self.shards: dict[str, dict[int, tuple[int | None, int]]] = {p.source: {} for p in plans}
        self.found: dict[tuple[str, int], list[Finding] | Path] = {}
        self.held = 0
        self.scratch: findings.Scratch | None = None
        self.summaries = {p.source: ShardSummary() for p in plans}
        self.number = {p.source: n for n, p in enumerate(plans)}   # command order
        self.shown: dict[tuple[int, int], str] = {}
        self.contents = ContentIndex(content_dir)   # every source's, for the duplicate checks

    def spill_dir(self) -> str:
        """Where workers on this machine write the findings they hold past shard.FLUSH."""
        self.scratch = self.scratch or findings.Scratch(self)
        return str(self.scratch.dir)

    def close(self) -> None:
        self.contents.close()
        if self.scratch is not None:
            self.scratch.remove()

    def add(self, r: ShardResult) -> None:
        at = (r.shard.source, r.shard.shard_id)
        self.shards[r.shard.source][r.shard.shard_id] = (r.shard.first_index, r.records)
        if r.spilled is not None:            # the worker wrote most of them already
            self.found[at] = Path(r.spilled)
            findings.write(self.found[at], r.findings, append=True)
        elif self.held + len(r.findings) > self.bound and r.findings:
            self.found[at] = Path(self.spill_dir()) / f"shard-{len(self.found)}.jsonl"
            findings.write(self.found[at], r.findings)
        else:
            self.found[at] = r.findings
            self.held += len(r.findings)
        # Refs are placed by (shard, index in shard), i.e. by position in the source, before
        # the shards' offsets are known: each group keeps its first ones, as one shard
        # holding everything would have (the report must not depend on the split).
        self.summaries[r.shard.source].merge(r.summary, lambda i, at=r.shard.shard_id * SHARD_SPAN: at + i,
                                             contents=False)
        src = self.number[r.shard.source]
        self.shown[src, r.shard.shard_id] = r.shard.shown
        try:
            self.contents.add(src, r.shard.shard_id, r.summary.contents)
        finally:
            r.summary.contents.discard()

    def _found(self, source: str, shard_id: int) -> Iterator[Finding]:
        found = self.found.pop((source, shard_id), [])
        if isinstance(found, Path):
            yield from findings.read(found)
            found.unlink()
            return
        self.held -= len(found)
        yield from found

    def finish(self, partial: bool = False, keep_code=None) -> tuple[list[SourceInfo], Sequence[Finding]]:
        """The sources and their findings, sorted (only those ``keep_code(code)`` keeps).
        ``partial``: some shards never came back (an interrupted scan); after the first gap
        a record's index is unknown, its key is not."""
        infos, bases_of = [], {}
        sink = findings.Sink(self.bound)
        keep_code = keep_code or (lambda code: True)
        for plan in self.plans:
            out = _Kept(sink, keep_code)
            out.extend(plan.findings)
            offset, bases, changed = 0, {}, []
            known_bases = bases_of[self.number[plan.source]] = {}
            listed: Counter = Counter()
            summary = self.summaries[plan.source]
            rest: Counter = Counter(summary.capped)    # what the workers already left out
            for n, (shard_id, (first, records)) in enumerate(sorted(self.shards[plan.source].items())):
                base = bases[shard_id] = first if first is not None else offset
                known = first is not None or n == shard_id
                known_bases[shard_id] = base if known else None
                info = []
                for f in self._found(plan.source, shard_id):
                    if f.index is not None:
                        f = replace(f, index=f.index + base if known else None)
                    if f.code == CHANGED.code:
                        changed.append(f)
                    elif _capped(f):
                        info.append(f)
                    else:
                        out.add(f)
                # Shards hold increasing indexes of a file: capping each one's info findings
                # in sorted order caps the source's in sorted order (cap_info).
                for f in sorted(info, key=Finding.sort_key):
                    n_listed = listed[f.path, f.code] = listed[f.path, f.code] + 1
                    if n_listed > INFO_CAP:
                        rest[f.path, f.code] += 1
                    else:
                        out.add(f)
                offset += records
            out.extend(cap_info(_once(changed, CHANGED.code, len(self.shards[plan.source])), Counter()))
            out.extend(_rest(rest))
            for table in summary.tables():
                for g in table.values():
                    g.moved(lambda p: bases[p // SHARD_SPAN] + p % SHARD_SPAN)
            if summary.mean is not None:
                summary.mean.moved(lambda p: bases[p // SHARD_SPAN] + p % SHARD_SPAN)
            summary.text.moved(lambda p: bases[p // SHARD_SPAN] + p % SHARD_SPAN)
            out.extend(dataset_findings(plan.source, summary, plan.encoding, self.transform))
            if offset == 0 and not partial and plan.format != UNREAD and \
                    not any(f.severity is Severity.ERROR for f in plan.findings):
                out.add(Finding.of(NO_RECORDS, plan.source, "no records: nothing to train on"))
            samples = summary.text.samples()
            infos.append(SourceInfo(plan.source, plan.format, offset, plan.encoding,
                                    label_stats(summary.labels), shape_counts(summary),
                                    None if samples is None else TEXT_LAYOUT, samples))
        try:
            _Kept(sink, keep_code).extend(Duplicates().find(
                self.contents, lambda src, shard: (self.shown[src, shard], bases_of[src][shard]),
                [p.source for p in self.plans]))
        finally:
            self.close()
        return infos, sink.done()


class _Kept:
    """Adds to a sink the findings whose code is kept."""

    def __init__(self, sink: findings.Sink, keep_code):
        self.sink, self.keep_code = sink, keep_code

    def add(self, f: Finding) -> None:
        if self.keep_code(f.code):
            self.sink.add(f)

    def extend(self, found) -> None:
        for f in found:
            self.add(f)


def _capped(f: Finding) -> bool:
    return f.severity is Severity.INFO and f.index is not None


def _rest(rest: Counter) -> list[Finding]:
    return [Finding.of(lookup(code), path, f"{n} more {code} findings in this file are not listed "
                       f"({INFO_CAP} are)", severity=Severity.INFO) for (path, code), n in rest.items()]


SHAPES_SHOWN = 20


def shape_counts(summary: ShardSummary) -> tuple[ShapeCounts, ...]:
    """The summary's shape tables as the reports show them (bounded: SHAPES_SHOWN each)."""
    out = []
    for what, table in (("Datum shape (CxHxW)", summary.shapes), ("image size (HxW)", summary.sizes),
                        ("image channels", summary.channels)):
        if not table.records:
            continue
        ranked = sorted(((_shape_text(k), g.count) for k, g in table.items()), key=lambda x: -x[1])
        shown = tuple(ranked[:SHAPES_SHOWN])
        out.append(ShapeCounts(what, shown, table.records - sum(n for _, n in shown)))
    return tuple(out)


def _shape_text(shape) -> str:
    return "x".join(map(str, shape)) if isinstance(shape, tuple) else str(shape)


def _once(findings: list[Finding], code: str, parts: int) -> list[Finding]:
    """One finding of ``code`` per source (the first), saying in how many parts it was found."""
    these = [f for f in findings if f.code == code]
    if len(these) < 2:
        return findings
    first = min(these, key=Finding.sort_key)
    return [f for f in findings if f.code != code] + \
        [replace(first, message=f"{first.message} (seen in {len(these)} of {parts} parts of the scan)")]


def cap_info(findings: list[Finding], capped: Counter) -> list[Finding]:
    """List at most INFO_CAP info findings per file and code, then one line counting the rest."""
    listed: dict[tuple[str, str], int] = {}
    rest: Counter = Counter()
    out = []
    for f in sorted(findings, key=Finding.sort_key):
        if f.severity is Severity.INFO and f.index is not None:
            n = listed[f.path, f.code] = listed.get((f.path, f.code), 0) + 1
            if n > INFO_CAP:
                rest[f.path, f.code] += 1
                continue
        out.append(f)
    rest.update(capped)      # what the workers already left out, per file and code
    return out + _rest(rest)


def merge(plans: list[Plan], results: list[ShardResult]) -> tuple[list[SourceInfo], Sequence[Finding]]:
    merger = Merger(plans)
    for r in results:
        merger.add(r)
    return merger.finish()
