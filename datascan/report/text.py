"""The text report, for people at a terminal: one greppable line per finding
(``path:key:#index: DS300 error message``, as ruff's concise output), identical messages
folded with a count, at most ``view.max_findings`` lines per code, then what the findings
have in common (per source, per code, per value) and what to do.

Records and findings are counted apart, always: a record can have several findings."""
from __future__ import annotations

import re
from collections import Counter, defaultdict

from ..codes import lookup
from ..config import MAX_LABELS
from ..findings import Records
from ..model import Finding, ForwardBlock, Report, Severity
from ..structs import replace
from .view import View
from .words import key_shown, net_layer_line, num_classes_of, one_line, plural

FIRST = 20                 # kept for callers of the old signature: lines per code by default
VALUES = 5                 # most frequent values listed per code
MAX_DISTINCT = 20_000      # label values / messages counted per code (then: "more than")
LABEL_CODES = ("DS500", "DS501", "DS503", "DS521")
COLOURS = {"error": "31", "warning": "33", "info": "34"}
_LABEL = re.compile(r"^label (-?[\d.e+-]+|nan|inf)\b")


def _paint(text: str, sgr: str, on: bool) -> str:
    return f"\x1b[{sgr}m{text}\x1b[0m" if on else text


def where(f: Finding) -> str:
    """``path:key:#index`` of a finding, each part there only when it is known."""
    parts = [one_line(f.path)]
    if f.key is not None:
        parts.append(key_shown(f.key))
    if f.index is not None:
        parts.append(f"#{f.index}")
    return ":".join(parts)


def finding_line(f: Finding, colour: bool = False) -> str:
    sev = _paint(f.severity.value, COLOURS[f.severity.value], colour)
    return f"{where(f)}: {_paint(f.code, '1', colour)} {sev} {one_line(f.message)}"


def render(report: Report, view: View | None = None, first: int | None = None) -> str:
    text = _render(report, view or View(), first)
    if report.cached is not None:
        text += (f"(remembered verdict of {report.cached}: the sources have not changed since; "
                 "--no-cache scans again)\n")
    return text


def _render(report: Report, view: View, first: int | None) -> str:
    limit = first if first is not None else view.max_findings
    lines = [_source_line(s) for s in report.sources]
    lines += net_lines(report)
    for b in report.forward or ():
        lines += forward_lines(b)
    lines.append("")
    if not report.findings:
        samples = [s.samples for s in report.sources]
        what = plural(report.records, 'record') if None in samples or not samples else \
            f"{plural(sum(samples), 'sample')} ({plural(report.records, 'record')})"
        lines.append(f"No findings in {what} ({report.seconds:.1f} s).")
        return "\n".join(lines) + "\n"
    seen = Pass(report, limit)          # one pass over the findings, whatever their number
    lines += seen.finding_lines(view.color)
    lines += ["", *_summary(report, view, seen), "", "What to do (datascan explain CODE says more):"]
    lines += [f"  {code}: {lookup(code).hint}" for code in report.by_code()]
    return "\n".join(lines) + "\n"


def net_lines(report: Report) -> list[str]:
    """A --net report's data layers: each one's source, the transform its records were judged
    with, and what Caffe does there (a missing source, a source shared with another layer)."""
    if report.net is None:
        return []
    out = [f"net {one_line(report.net.path)}: {plural(len(report.net.layers), 'data layer')}"]
    for x in report.net.layers:
        out.append(f"  {net_layer_line(x)}")
        out += [f"    note: {one_line(n)}" for n in x.notes]
    return out


ORIGINS = {"given": "", "net": " (the net's)", "default": " (the default; --batch-size sets it)"}


def forward_lines(b: ForwardBlock) -> list[str]:
    """What the dummy net's pass over one source did: iterations, losses, inputs, skips."""
    if b.not_run:
        return [f"forward pass not run on {one_line(b.path)}: {b.not_run}"]
    total = len(b.batch_losses)
    aborted = total - b.iterations_run
    head = (f"forward pass on {one_line(b.path)}: {b.iterations_run:,} of "
            f"{plural(total, 'iteration')} run, batch size {b.batch_size}"
            f"{ORIGINS.get(b.batch_size_from, '')}, {b.precision} {b.loss} loss")
    if aborted:
        their = "its batch" if aborted == 1 else "their batches"
        head += (f"; {plural(aborted, 'iteration')} not run (Caffe aborts on {their}: the first "
                 f"at iteration {b.first_aborted_iteration})")
    out = [head]
    rng = b.loss_range
    losses = "no finite loss" if rng is None else f"loss {rng[0]:.4g}" + \
        (f"..{rng[1]:.4g}" if rng[1] != rng[0] else "")
    if not b.iterations_run and total:
        losses = "no batch loss (Caffe aborts on every batch)"
    if b.first_nonfinite_iteration is not None:
        losses += f", non-finite from iteration {b.first_nonfinite_iteration}"
    if b.input_range is not None:
        losses += f"; inputs {b.input_range[0]:.4g}..{b.input_range[1]:.4g} as the net saw them"
    out.append(f"  {losses}")
    if b.skipped:
        why = "; ".join(f"{one_line(r)} ({n:,})" for r, n in b.skipped_reasons)
        out.append(f"  {plural(b.skipped, 'record')} skipped (Caffe aborts on them; the plain "
                   f"checks name them; the rest of their batch is still judged)"
                   f"{': ' + why if why else ''}")
    else:
        out.append("  no record skipped")
    return out


def _source_line(s) -> str:
    line = f"{s.path}: {s.format}, {plural(s.records, 'record')}, {s.encoding}"
    if s.samples is not None:     # a text-recognition LMDB: its records are keys, not samples
        line = f"{s.path}: {s.format}, {plural(s.samples, 'sample')} ({plural(s.records, 'key')}, " \
               f"{s.layout} layout), {s.encoding}"
    if s.labels is not None:
        distinct = f"{s.labels.distinct:,}" if s.labels.distinct is not None else \
            f"more than {MAX_LABELS:,}"
        line += f", labels {s.labels.min}..{s.labels.max} ({distinct} distinct)"
    return line


class Bounded(Counter):
    """A Counter of at most MAX_DISTINCT values; past it new values are not counted
    (``full`` says so): a report's messages may all differ."""
    full = False

    def count(self, value) -> None:
        if value in self or len(self) < MAX_DISTINCT:
            self[value] += 1
        else:
            self.full = True


class _Source:
    def __init__(self, in_order: bool):
        self.severities: Counter = Counter()
        self.bad = Records(in_order)
        self.outside = Records(in_order)     # records with a DS500
        self.num_classes: int | None = None  # as its first DS500 message that says it


class Pass:
    """What the text report shows of the findings, gathered in one pass: the lines listed
    (at most `limit` per code, repeats folded), and per source and per code the counts.
    Memory is bounded by `limit` x codes and MAX_DISTINCT values per code (not with --all)."""

    def __init__(self, report: Report, limit: int | None):
        in_order = not isinstance(report.findings, (tuple, list))   # a spilled report: sorted
        self.sources = {s.path: _Source(in_order) for s in report.sources}
        self.worst: dict[str, Severity] = {}
        self.values: dict[str, Bounded] = defaultdict(Bounded)     # code -> label values
        self.messages: dict[str, Bounded] = defaultdict(Bounded)   # code -> messages
        self.listed: dict[tuple, list] = {}       # (path, code, message) -> [finding, count]
        self.shown: Counter = Counter()
        self.hidden: Counter = Counter()
        for f in report.findings:
            self._list(f, limit)
            if f.code not in self.worst or f.severity.rank > self.worst[f.code].rank:
                self.worst[f.code] = f.severity
            if f.code in LABEL_CODES and (m := _LABEL.match(f.message)):
                self.values[f.code].count(m.group(1))
            self.messages[f.code].count(f.message)
            src = self.sources.get(_owner(f.path, report))
            if src is not None:
                src.severities[f.severity] += 1
                src.bad.add(f)
                if f.code == "DS500":
                    src.outside.add(replace(f, severity=Severity.ERROR))
                    if src.num_classes is None:
                        src.num_classes = num_classes_of((f.message,))

    def _list(self, f: Finding, limit: int | None) -> None:
        group = (f.path, f.code, f.message)
        if group in self.listed:
            self.listed[group][1] += 1
        elif limit is not None and self.shown[f.code] >= limit:
            self.hidden[f.code] += 1
        else:
            self.shown[f.code] += 1
            self.listed[group] = [f, 1]

    def finding_lines(self, colour: bool) -> list[str]:
        """Each finding on one line, in the report's order; a message repeated within a code
        and file is shown once with its count; past `limit` lines of a code, only counted."""
        out = []
        for f, n in self.listed.values():
            line = finding_line(f, colour)
            if n > 1:
                line += f"  (and {plural(n - 1, 'more finding')} with this message)"
            out.append(line)
        for code, n in sorted(self.hidden.items()):
            out.append(f"... {plural(n, 'more ' + code + ' finding')} not shown "
                       f"(--max-findings N shows N per code, --all every one)")
        return out


def _summary(report: Report, view: View, seen: Pass) -> list[str]:
    out = []
    for s in report.sources:
        mine = seen.sources[s.path]
        out.append(f"{s.path}: {mine.bad.count:,} of {plural(s.records, 'record')} bad; "
                   f"{_counts(mine.severities)}")
        out += [f"  {line}" for line in _label_doubt(s, mine, view)]
    for code, n in report.by_code().items():
        worst = seen.worst[code]
        sev = _paint(f"{worst.value:<7}", COLOURS[worst.value], view.color)
        out.append(f"  {code} {sev} {plural(n, 'finding'):>14}  {lookup(code).title}")
        out += [f"      {line}" for line in _values(code, n, seen)]
    t = report.tally
    totals = (f"{plural(report.bad_records, 'bad record')} of {report.records:,}; "
              f"{_counts({Severity.ERROR: t.errors, Severity.WARNING: t.warnings, Severity.INFO: t.info})} "
              f"({report.seconds:.1f} s)")
    out.append(totals)
    return out


def _owner(path: str, report: Report) -> str | None:
    for s in report.sources:
        if path == s.path or path.startswith(s.path.rstrip("/") + "/"):
            return s.path
    return path if len(report.sources) != 1 else report.sources[0].path


def _counts(by: dict) -> str:
    total = sum(by.values())
    return (f"{plural(total, 'finding')}: {plural(by.get(Severity.ERROR, 0), 'error')}, "
            f"{plural(by.get(Severity.WARNING, 0), 'warning')}, {by.get(Severity.INFO, 0):,} info")


def _values(code: str, count: int, seen: Pass) -> list[str]:
    """What a code's findings have in common: the label values of DS500/DS501/DS503, else
    the most frequent messages when they repeat."""
    labels = seen.values.get(code)
    if labels:
        top = ", ".join(f"label {v} \u00d7 {n:,}" for v, n in labels.most_common(VALUES))
        rest = len(labels) - VALUES
        more = "more than " if labels.full else ""
        return [top + (f" (and {more}{plural(rest, 'other value')})" if rest > 0 else "")]
    messages = seen.messages[code]
    if messages.full or len(messages) < count:
        return [f"\u00d7 {n:,}: {one_line(text)}" for text, n in messages.most_common(3) if n > 1]
    return []


def _label_doubt(source, mine: _Source, view: View) -> list[str]:
    """Every labelled record of a source out of range: the range, not the data, is likely wrong."""
    outside = mine.outside.count
    labels = source.labels
    if not outside or labels is None or outside < source.records or source.records < 2:
        return []
    n = view.num_classes or mine.num_classes
    return [f"{outside:,}/{source.records:,} records of this set are out of range: labels "
            f"{labels.min}..{labels.max} \u2014 is --num-classes {n if n else ''} right for it?"
            .replace(" --num-classes  ", " --num-classes ")]
