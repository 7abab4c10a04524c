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
from ..model import Finding, Report, Severity
from .view import View
from .words import key_shown, num_classes_of, one_line, plural

FIRST = 20                 # kept for callers of the old signature: lines per code by default
VALUES = 5                 # most frequent values listed per code
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
    lines += [f"forward pass not run on {b.path}: {b.not_run}"
              for b in report.forward or () if b.not_run]
    lines.append("")
    if not report.findings:
        lines.append(f"No findings in {plural(report.records, 'record')} "
                     f"({report.seconds:.1f} s).")
        return "\n".join(lines) + "\n"
    lines += _finding_lines(report.findings, limit, view.color)
    lines += ["", *_summary(report, view), "", "What to do (datascan explain CODE says more):"]
    lines += [f"  {code}: {lookup(code).hint}" for code in report.by_code()]
    return "\n".join(lines) + "\n"


def _source_line(s) -> str:
    line = f"{s.path}: {s.format}, {plural(s.records, 'record')}, {s.encoding}"
    if s.labels is not None:
        distinct = f"{s.labels.distinct:,}" if s.labels.distinct is not None else \
            f"more than {MAX_LABELS:,}"
        line += f", labels {s.labels.min}..{s.labels.max} ({distinct} distinct)"
    return line


def _finding_lines(findings, limit: int | None, colour: bool) -> list[str]:
    """Each finding on one line, in the report's order; a message repeated within a code and
    file is shown once with its count; past `limit` lines of a code, only counted."""
    same = Counter((f.path, f.code, f.message) for f in findings)
    shown: Counter = Counter()
    hidden: Counter = Counter()
    printed: set = set()
    out = []
    for f in findings:
        group = (f.path, f.code, f.message)
        if group in printed:
            continue
        if limit is not None and shown[f.code] >= limit:
            hidden[f.code] += same[group]
            printed.add(group)
            continue
        printed.add(group)
        shown[f.code] += 1
        line = finding_line(f, colour)
        if same[group] > 1:
            line += f"  (and {plural(same[group] - 1, 'more finding')} with this message)"
        out.append(line)
    for code, n in sorted(hidden.items()):
        out.append(f"... {plural(n, 'more ' + code + ' finding')} not shown "
                   f"(--max-findings N shows N per code, --all every one)")
    return out


def _summary(report: Report, view: View) -> list[str]:
    out = []
    by_source = defaultdict(list)
    for f in report.findings:
        by_source[_owner(f.path, report)].append(f)
    for s in report.sources:
        mine = by_source.get(s.path, [])
        bad = _bad(mine)
        out.append(f"{s.path}: {bad:,} of {plural(s.records, 'record')} bad; "
                   f"{_counts(mine)}")
        out += [f"  {line}" for line in _label_doubt(s, mine, view)]
    worst: dict[str, Severity] = {}
    for f in report.findings:
        if f.code not in worst or f.severity.rank > worst[f.code].rank:
            worst[f.code] = f.severity
    for code, n in report.by_code().items():
        sev = _paint(f"{worst[code].value:<7}", COLOURS[worst[code].value], view.color)
        out.append(f"  {code} {sev} {plural(n, 'finding'):>14}  {lookup(code).title}")
        out += [f"      {line}" for line in _values(code, report.findings)]
    totals = (f"{plural(report.bad_records, 'bad record')} of {report.records:,}; "
              f"{_counts(report.findings)} ({report.seconds:.1f} s)")
    out.append(totals)
    return out


def _owner(path: str, report: Report) -> str | None:
    for s in report.sources:
        if path == s.path or path.startswith(s.path.rstrip("/") + "/"):
            return s.path
    return path if len(report.sources) != 1 else report.sources[0].path


def _bad(findings) -> int:
    return len({(f.path, f.index, f.key) for f in findings if f.severity is not Severity.INFO
                and (f.index is not None or f.key is not None)})


def _counts(findings) -> str:
    by = Counter(f.severity for f in findings)
    return (f"{plural(len(findings), 'finding')}: {plural(by[Severity.ERROR], 'error')}, "
            f"{plural(by[Severity.WARNING], 'warning')}, {by[Severity.INFO]:,} info")


def _values(code: str, findings) -> list[str]:
    """What a code's findings have in common: the label values of DS500/DS503, else the
    most frequent messages when they repeat."""
    mine = [f for f in findings if f.code == code]
    if code in ("DS500", "DS501", "DS503"):
        labels = Counter(m.group(1) for f in mine if (m := _LABEL.match(f.message)))
        if labels:
            top = ", ".join(f"label {v} \u00d7 {n:,}" for v, n in labels.most_common(VALUES))
            rest = len(labels) - VALUES
            return [top + (f" (and {plural(rest, 'other value')})" if rest > 0 else "")]
    messages = Counter(f.message for f in mine)
    if len(messages) < len(mine):
        return [f"\u00d7 {n:,}: {one_line(text)}" for text, n in messages.most_common(3) if n > 1]
    return []


def _label_doubt(source, mine, view: View) -> list[str]:
    """Every labelled record of a source out of range: the range, not the data, is likely wrong."""
    outside = {(f.index, f.key) for f in mine if f.code == "DS500"}
    labels = source.labels
    if not outside or labels is None or len(outside) < source.records or source.records < 2:
        return []
    n = view.num_classes or num_classes_of(f.message for f in mine if f.code == "DS500")
    return [f"{len(outside):,}/{source.records:,} records of this set are out of range: labels "
            f"{labels.min}..{labels.max} \u2014 is --num-classes {n if n else ''} right for it?"
            .replace(" --num-classes  ", " --num-classes ")]
