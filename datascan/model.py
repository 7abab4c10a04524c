"""Frozen result data: findings, source descriptions and the report with its typed sections.

What they look like as JSON is report/json.py's."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from .codes import Code, Severity  # Severity lives with the codes; re-exported here


def key_text(key: bytes | None) -> str | None:
    """A record key as the report shows it: UTF-8, else ``hex:...``."""
    if key is None:
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return "hex:" + key.hex()


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    path: str
    key: str | None
    index: int | None
    message: str

    @classmethod
    def of(cls, code: Code, path: str, message: str, *, key: bytes | str | None = None,
           index: int | None = None, severity: Severity | None = None) -> Finding:
        """A finding of a code (a codes.py constant), with the code's severity unless given."""
        if isinstance(key, bytes):
            key = key_text(key)
        return cls(code.code, severity or code.severity, path, key, index, message)

    def sort_key(self) -> tuple:
        return (self.path, -1 if self.index is None else self.index, self.code, self.message)


@dataclass(frozen=True)
class LabelStats:
    """A source's labels: their range, and how many records hold each one. Past MAX_LABELS
    distinct labels (labels that are record ids) only the range is kept, and a note says so."""
    min: int
    max: int
    distinct: int | None               # None: more than MAX_LABELS
    histogram: dict[int, int] | None   # label -> records, by label; None: more than MAX_LABELS
    note: str | None = None


@dataclass(frozen=True)
class ShapeCounts:
    """One of a source's shape tables (Datum shapes, image sizes, image channels): records per
    shape, most first, at most SHAPES_SHOWN; ``other`` records are in shapes not listed."""
    what: str
    counts: tuple[tuple[str, int], ...]
    other: int = 0


@dataclass(frozen=True)
class SourceInfo:
    path: str
    format: str
    records: int
    encoding: str
    labels: LabelStats | None = None
    shapes: tuple[ShapeCounts, ...] = ()   # for people (text, html); not in the JSON contract


@dataclass(frozen=True)
class ForwardBlock:
    """The dummy net's pass over one source: its loss per iteration, or why it did not run."""
    path: str
    not_run: str | None = None             # why the pass did not run; then nothing below is set
    batch_size: int | None = None
    precision: str = "fp32"
    loss: str = "softmax"                  # softmax | euclidean
    batch_losses: tuple[float | None, ...] = ()   # per iteration; None: a batch Caffe aborts on
    skipped: int = 0                       # records the data layer would reject

    @property
    def first_nonfinite_iteration(self) -> int | None:
        return next((i for i, x in enumerate(self.batch_losses)
                     if x is not None and not math.isfinite(x)), None)


@dataclass(frozen=True)
class NetLayer:
    """One data layer of a --net, as datascan reads it."""
    layer: str
    phases: tuple[str, ...]
    path: str | None                   # its source; None when the layer names none
    format: str | None                 # lmdb | leveldb | hdf5; None when datascan cannot read it
    notes: tuple[str, ...] = ()        # Caffe behaviour worth telling, "source not found", ...


@dataclass(frozen=True)
class NetBlock:
    """The net a --net scan read its sources from."""
    path: str
    layers: tuple[NetLayer, ...]


@dataclass(frozen=True)
class Report:
    version: str
    sources: tuple[SourceInfo, ...]
    findings: tuple[Finding, ...]
    seconds: float
    forward: tuple[ForwardBlock, ...] | None = None   # None: no forward pass was asked for
    net: NetBlock | None = None                       # the net of a --net scan
    unread: tuple[str, ...] = ()    # paths named that could not be read at all (each has a DS100)
    partial: bool = False           # interrupted: not every record was read
    cached: str | None = None      # a remembered verdict: when it was scanned (ISO 8601); see cache.py

    @property
    def records(self) -> int:
        return sum(s.records for s in self.sources)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.WARNING)

    @property
    def bad_records(self) -> int:
        return len({(f.path, f.index, f.key) for f in self.findings
                    if f.severity is not Severity.INFO and (f.index is not None or f.key is not None)})

    def by_code(self) -> dict[str, int]:
        return dict(sorted(Counter(f.code for f in self.findings).items()))

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)
