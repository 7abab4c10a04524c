"""Findings past a bound go to disk: the parent's memory does not grow with their number.

    sink = Sink()                 # at most BOUND findings in memory
    for f in found: sink.add(f)
    findings = sink.done()        # a sorted tuple, or past BOUND a Spilled: the same, on disk

A Sink sorts what it holds and writes it as a run (JSON lines, never pickle) each time it
holds BOUND findings; done() merges the runs into one sorted file, counting as it goes
(model.Tally), and removes them. A Spilled reads that file again on every pass; its
directory (in TMPDIR) is removed when the Spilled is collected or the process exits. The
order is exactly that of ``sorted(all, key=Finding.sort_key)`` (stable): runs are sorted
stably and merged in the order they were written.
"""
from __future__ import annotations

import heapq
import itertools
import shutil
import tempfile
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from .model import Finding, Severity, Tally, is_record_finding

BOUND = 50_000       # findings held in memory by a Sink (~0.6 kB each) before a run is written
PREFIX = "datascan-findings-"


def encode(f: Finding) -> str:
    import json     # (spilling findings only: a scan that spills none does not load it)
    return json.dumps([f.code, f.severity.value, f.path, f.key, f.index, f.message],
                      ensure_ascii=False) + "\n"


_SEVERITY = {s.value: s for s in Severity}
_FIELDS = ("code", "severity", "path", "key", "index", "message")


def decode(line: str) -> Finding:
    import json
    values = json.loads(line)
    values[1] = _SEVERITY[values[1]]
    # Millions of these on a spilled report's every pass: fill the frozen dataclass's
    # fields directly (its __init__ sets them one object.__setattr__ at a time).
    f = object.__new__(Finding)
    f.__dict__.update(zip(_FIELDS, values))
    return f


def read(path: Path) -> Iterator[Finding]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            yield decode(line)


def write(path: Path, findings: Iterable[Finding], append: bool = False) -> int:
    n = 0
    with open(path, "a" if append else "w", encoding="utf-8") as fh:
        for f in findings:
            fh.write(encode(f))
            n += 1
    return n


class Scratch:
    """A private directory in TMPDIR, removed when its owner is collected or at exit."""

    def __init__(self, owner: object):
        self.dir = Path(tempfile.mkdtemp(prefix=PREFIX))
        self._names = itertools.count()
        self.remove = weakref.finalize(owner, shutil.rmtree, str(self.dir), True)

    def file(self, what: str) -> Path:
        return self.dir / f"{what}-{next(self._names)}.jsonl"


class Spilled(Sequence):
    """Sorted findings in a file: iterated from disk, counted once (``tally``)."""

    def __init__(self, path: Path, tally: Tally, scratch: Scratch):
        self.path, self.tally, self._scratch = path, tally, scratch

    def __iter__(self) -> Iterator[Finding]:
        return read(self.path)

    def __len__(self) -> int:
        return self.tally.total

    def __getitem__(self, i):
        if isinstance(i, slice):
            return tuple(itertools.islice(self, *i.indices(len(self))))
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return next(itertools.islice(self, i, None))

    def __eq__(self, other) -> bool:
        if not isinstance(other, Sequence) or len(other) != len(self):
            return NotImplemented if not isinstance(other, Sequence) else False
        return all(a == b for a, b in zip(self, other))

    __hash__ = None

    def __repr__(self) -> str:
        return f"Spilled({len(self):,} findings in {self.path})"


class Sink:
    """Collects findings in any order; done() gives them sorted (see the module doc)."""

    def __init__(self, bound: int | None = None):
        self.bound = bound if bound is not None else BOUND
        self.held: list[Finding] = []
        self.runs: list[Path] = []
        self.scratch: Scratch | None = None

    def add(self, f: Finding) -> None:
        self.held.append(f)
        if len(self.held) >= self.bound:
            self._spill()

    def extend(self, findings: Iterable[Finding]) -> None:
        for f in findings:
            self.add(f)

    def _spill(self) -> None:
        if self.scratch is None:
            self.scratch = Scratch(self)
        self.held.sort(key=Finding.sort_key)
        self.runs.append(self.scratch.file("run"))
        write(self.runs[-1], self.held)
        self.held = []

    def done(self) -> Sequence[Finding]:
        if not self.runs:
            return tuple(sorted(self.held, key=Finding.sort_key))
        self._spill()
        scratch, self.scratch = self.scratch, None
        out = scratch.file("sorted")
        merged = heapq.merge(*(read(r) for r in self.runs), key=Finding.sort_key)
        counted = _Counting()
        write(out, counted.through(merged))
        for r in self.runs:
            r.unlink()
        self.runs = []
        spilled = Spilled(out, counted.tally(), scratch)
        # The directory now belongs to the result: removed when it is collected.
        scratch.remove.detach()
        scratch.remove = weakref.finalize(spilled, shutil.rmtree, str(scratch.dir), True)
        return spilled


def collect(findings: Iterable[Finding], bound: int | None = None) -> Sequence[Finding]:
    """``findings`` sorted, held in memory up to the bound and on disk past it."""
    sink = Sink(bound)
    sink.extend(findings)
    return sink.done()


def merged(*sorted_parts: Iterable[Finding]) -> Iterator[Finding]:
    """Sorted sequences merged into one sorted stream (ties: in the order given)."""
    return heapq.merge(*sorted_parts, key=Finding.sort_key)


class _Counting:
    """Counts a sorted stream as it passes (a record's findings are next to each other)."""

    def __init__(self):
        self.by_sev: Counter = Counter()
        self.by_code: Counter = Counter()
        self.records = Records()

    def through(self, findings: Iterable[Finding]) -> Iterator[Finding]:
        for f in findings:
            self.by_sev[f.severity] += 1
            self.by_code[f.code] += 1
            self.records.add(f)
            yield f

    def tally(self) -> Tally:
        worst = max(self.by_sev, key=lambda s: s.rank, default=None)
        return Tally(sum(self.by_sev.values()), self.by_sev[Severity.ERROR],
                     self.by_sev[Severity.WARNING], self.by_sev[Severity.INFO],
                     self.records.count, dict(sorted(self.by_code.items())), worst)


class Records:
    """Distinct bad records of findings given in sorted order, in memory bounded by one
    record's findings: those of a record are adjacent (sorted by path, then index). Findings
    without an index (a partial scan's, after a gap) sort together per path, by key.
    ``in_order=False``: findings in any order (held in memory), counted with one set."""

    def __init__(self, in_order: bool = True):
        self.count, self.in_order = 0, in_order
        self._at: tuple | None = None
        self._seen: set = set()

    def add(self, f: Finding) -> None:
        if not is_record_finding(f):
            return
        if self.in_order:
            at = (f.path, f.index)
            if at != self._at:
                self._at, self._seen = at, set()
            rid = f.key
        else:
            rid = (f.path, f.index, f.key)
        if rid not in self._seen:
            self._seen.add(rid)
            self.count += 1
