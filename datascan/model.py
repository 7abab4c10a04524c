"""Frozen result data: findings, source descriptions and the report with its typed sections.

What they look like as JSON is report/json.py's."""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cached_property

from .codes import Code, Severity  # Severity lives with the codes; re-exported here
from .structs import dataclass, field, replace  # noqa: F401 -- for sources/ and decode/, which
# import only the leaves (../shared/tools/imports.py): structs.py is one too, but not on its list


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
    layout: str | None = None              # "text-recognition": num-samples, image-N, label-N keys
    samples: int | None = None             # with a layout: the samples it holds (records are keys)


@dataclass(frozen=True)
class ForwardBlock:
    """The dummy net's pass over one source: its loss per iteration, or why it did not run."""
    path: str
    not_run: str | None = None             # why the pass did not run; then nothing below is set
    batch_size: int | None = None
    precision: str = "fp32"
    loss: str = "softmax"                  # softmax | euclidean
    batch_losses: tuple[float | None, ...] = ()   # per iteration; None: a batch Caffe aborts on
    skipped: int = 0                       # records the data layer would reject (its other
    #                                        records are still forwarded and judged)
    skipped_reasons: tuple[tuple[str, int], ...] = ()   # why, and how many (the commonest few)
    input_range: tuple[float, float] | None = None      # finite input values as the net saw them
    batch_size_from: str = "given"         # given (--batch-size, ForwardOptions) | net | default

    @property
    def loss_range(self) -> tuple[float, float] | None:
        """The lowest and highest finite batch loss, None when no batch gave one."""
        finite = [x for x in self.batch_losses if x is not None and math.isfinite(x)]
        return (min(finite), max(finite)) if finite else None

    @property
    def iterations_run(self) -> int:
        return sum(x is not None for x in self.batch_losses)

    @property
    def first_aborted_iteration(self) -> int | None:
        """The first iteration Caffe aborts on (its batch holds a record the data layer or the
        net rejects: ``skipped``), None when it runs them all."""
        return next((i for i, x in enumerate(self.batch_losses) if x is None), None)

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
    transform: tuple[tuple[str, object], ...] | None = None   # its records judged with these
    #                                  (crop_size, force_color, force_gray); None: not scanned


@dataclass(frozen=True)
class NetBlock:
    """The net a --net scan read its sources from."""
    path: str
    layers: tuple[NetLayer, ...]


@dataclass(frozen=True)
class Tally:
    """A report's counts, taken in one pass over its findings (findings.py keeps them for a
    report spilled to disk, so that they never need another pass)."""
    total: int
    errors: int
    warnings: int
    info: int
    bad_records: int
    by_code: dict[str, int]
    worst: Severity | None

    @classmethod
    def of(cls, findings: Iterable[Finding], bad_records: int | None = None) -> Tally:
        by_sev: Counter = Counter()
        by_code: Counter = Counter()
        records = set()
        for f in findings:
            by_sev[f.severity] += 1
            by_code[f.code] += 1
            if bad_records is None and is_record_finding(f):
                records.add((f.path, f.index, f.key))
        worst = max(by_sev, key=lambda s: s.rank, default=None)
        return cls(sum(by_sev.values()), by_sev[Severity.ERROR], by_sev[Severity.WARNING],
                   by_sev[Severity.INFO], len(records) if bad_records is None else bad_records,
                   dict(sorted(by_code.items())), worst)


def is_record_finding(f: Finding) -> bool:
    """Does the finding make its record a bad one (not info, and it names a record)?"""
    return f.severity is not Severity.INFO and (f.index is not None or f.key is not None)


@dataclass(frozen=True)
class Options:
    """What a report was made with: the JSON report's "options", which `clean --from-report`
    compares with its own. ``forward``: the dummy net's options, None when not run."""
    num_classes: int | None = None
    ignore_label: int | None = None
    label_datasets: tuple[str, ...] = ("label",)
    source_format: str | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    forward: tuple[tuple[str, object], ...] | None = None
    net: str | None = None
    phase: str | None = None
    root: str | None = None          # image lists: --root (ImageData's root_folder)
    label_map: str | None = None      # --label-map: SSD's labelmap.prototxt, as given
    # The data layer's transform the records were judged with (DS403, DS600): ("from",
    # "defaults" | "options") and its settings, or ("from", "net") and ("layers", per layer).
    transform: tuple[tuple[str, object], ...] | None = None


@dataclass(frozen=True)
class Report:
    """``findings`` is a tuple, or past findings.BOUND a findings.Spilled (sorted on disk,
    read again on each pass); either way sorted by Finding.sort_key, and counted once."""
    version: str
    sources: tuple[SourceInfo, ...]
    findings: Sequence[Finding]
    seconds: float
    forward: tuple[ForwardBlock, ...] | None = None   # None: no forward pass was asked for
    net: NetBlock | None = None                       # the net of a --net scan
    unread: tuple[str, ...] = ()    # paths named that could not be read at all (each has a DS100)
    partial: bool = False           # interrupted: not every record was read
    cached: str | None = None      # a remembered verdict: when it was scanned (ISO 8601); see cache.py
    options: Options | None = None  # what the report was made with; None: not known

    @cached_property
    def tally(self) -> Tally:
        kept = getattr(self.findings, "tally", None)
        return kept if kept is not None else Tally.of(self.findings)

    @property
    def records(self) -> int:
        return sum(s.records for s in self.sources)

    @property
    def errors(self) -> int:
        return self.tally.errors

    @property
    def warnings(self) -> int:
        return self.tally.warnings

    @property
    def bad_records(self) -> int:
        return self.tally.bad_records

    def by_code(self) -> dict[str, int]:
        return dict(self.tally.by_code)

    def worst(self) -> Severity | None:
        return self.tally.worst
