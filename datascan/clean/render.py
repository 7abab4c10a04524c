"""What `datascan clean` prints: what went, where it is, and the verification."""
from __future__ import annotations

from collections import Counter

from ..bars import records_bar, shown

FIRST = 10


def summary(result) -> str:
    v = result.verification
    worst = "error" if result.threshold.value == "error" else "warning-or-error"
    lines = [f"{result.source}: {result.format}, {result.source_records} records -> {result.destination}"]
    codes = Counter(c for d in result.dropped for c in d.codes)
    by_code = ", ".join(f"{c} {n}" for c, n in sorted(codes.items()))
    lines.append(f"dropped {len(result.dropped)} records" + (f" ({by_code})" if by_code else "")
                 + f", kept {result.kept}")
    for d in result.dropped[:FIRST]:
        key = f"  key {d.key}" if d.key is not None else ""
        lines.append(f"  {','.join(d.codes) or '-':<12} {d.path}{key}  #{d.index}")
    if len(result.dropped) > FIRST:
        lines.append(f"  ... and {len(result.dropped) - FIRST} more (the manifest lists them all)")
    for f in result.dropped_files:
        lines.append(f"left out {f['path']} ({f['records']} records): {f['reason']}")
    if result.quarantine is not None:
        lines.append(f"quarantine: {result.quarantine} holds {len(result.quarantined)} of the dropped records")
    for f in result.unfixed:
        lines.append(f"not a record, not fixed by dropping: {f.code} {f.severity.value}: {f.message}")
    lines.append(f"manifest: {result.manifest}")
    if v.ok:
        lines.append(f"verified: {result.destination} re-scanned with the same checks: {v.records} "
                     f"records, no {worst} finding on any record; {v.kept} kept + {v.dropped} "
                     f"dropped = {v.source_records} source records ({result.seconds:.1f} s)")
        if result.mean_text:
            lines.append(result.mean_text.rstrip("\n"))
    else:
        lines.append("verification FAILED: " + "; ".join(v.problems))
        lines.append(f"not installed as {result.requested}: the copy is left at "
                     f"{result.destination} for inspection")
    return "\n".join(lines) + "\n"


def progress_bars(enabled: bool):
    """(progress, close): one bar per phase (scan, copy, quarantine, verify), on stderr."""
    if not shown(enabled):
        return None, lambda: None
    bars = []

    def start(phase: str, total):
        close()
        bars[:] = [records_bar(desc=phase, total=total, leave=False)]
        return bars[0].update

    def close() -> None:
        for bar in bars:
            bar.close()
    return start, close
