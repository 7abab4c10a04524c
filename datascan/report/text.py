"""The text report, for people: counts, the first bad records, and what to do."""
from __future__ import annotations

from ..codes import lookup
from ..config import MAX_LABELS
from ..model import Report, Severity

FIRST = 20


def _where(f) -> str:
    parts = [f.path]
    if f.key is not None:
        parts.append(f"key {f.key}")
    if f.index is not None:
        parts.append(f"#{f.index}")
    return "  ".join(parts)


def render(report: Report, first: int = FIRST) -> str:
    text = _render(report, first)
    if report.cached is not None:
        text += (f"(remembered verdict of {report.cached}: the sources have not changed since; "
                 "--no-cache scans again)\n")
    return text


def _render(report: Report, first: int) -> str:
    lines = []
    for s in report.sources:
        line = f"{s.path}: {s.format}, {s.records} records, {s.encoding}"
        if s.labels is not None:
            distinct = s.labels.distinct if s.labels.distinct is not None else \
                f"more than {MAX_LABELS:,}"
            line += f", labels {s.labels.min}..{s.labels.max} ({distinct} distinct)"
        lines.append(line)
    for block in report.forward or ():
        if block.not_run:
            lines.append(f"forward pass not run on {block.path}: {block.not_run}")
    lines.append("")
    if not report.findings:
        lines.append(f"No findings in {report.records} records ({report.seconds:.1f} s).")
        return "\n".join(lines) + "\n"
    if report.errors or report.warnings:
        lines.append(f"{report.bad_records} bad records in {report.records}: {report.errors} errors, "
                     f"{report.warnings} warnings ({report.seconds:.1f} s)")
    else:
        lines.append(f"No errors or warnings in {report.records} records; "
                     f"{len(report.findings)} notes ({report.seconds:.1f} s)")
    worst = {}
    for f in report.findings:
        if f.code not in worst or f.severity.rank > worst[f.code].rank:
            worst[f.code] = f.severity
    for code, n in report.by_code().items():
        lines.append(f"  {code} {worst[code].value:<7} {n:>7}  {lookup(code).title}")
    shown = [f for f in report.findings if f.severity is not Severity.INFO][:first] or \
        list(report.findings[:first])
    lines += ["", f"First {len(shown)} findings:"]
    for f in shown:
        lines.append(f"  {f.code} {f.severity.value:<7} {_where(f)}")
        lines.append(f"        {f.message}")
    rest = len(report.findings) - len(shown)
    if rest > 0:
        lines.append(f"  ... and {rest} more (--format json lists them all)")
    lines += ["", "What to do:"]
    for code in report.by_code():
        lines.append(f"  {code}: {lookup(code).hint}")
    return "\n".join(lines) + "\n"
