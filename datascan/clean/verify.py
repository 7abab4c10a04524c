"""The proof: DST re-scanned with the same checks, and every source record accounted for."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from ..model import Finding, Report, Severity
from ..report.json import finding_dict

SHOWN = 5


@dataclass(frozen=True)
class Verification:
    ok: bool
    records: int                      # records the re-scan found in DST
    kept: int
    dropped: int                      # records dropped (rows of files left out included)
    source_records: int
    threshold: Severity
    remaining: tuple[Finding, ...]    # findings on DST's records at the dropped severity
    carried: tuple[Finding, ...]      # dataset-wide findings at that severity SRC had too
    problems: tuple[str, ...]
    report: Report

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "kept": self.kept, "dropped": self.dropped,
                "source_records": self.source_records, "severity": self.threshold.value,
                "remaining": [finding_dict(f) for f in self.remaining],
                "carried_over": [finding_dict(f) for f in self.carried],
                "problems": list(self.problems)}


def verify(report: Report, *, kept: int, dropped: int, source_records: int, walked: int,
           threshold: Severity, source_whole: list[Finding], shown_path) -> Verification:
    """``shown_path`` maps a temporary path in the re-scan's findings to the final one."""
    findings = [replace(f, path=shown_path(f.path)) for f in report.findings
                if f.severity.rank >= threshold.rank]
    remaining = tuple(f for f in findings if f.index is not None)
    whole = [f for f in findings if f.index is None]
    known = {f.code for f in source_whole}
    carried = tuple(f for f in whole if f.code in known)
    new = [f for f in whole if f.code not in known]
    problems = []
    if report.records != kept:
        problems.append(f"DST holds {report.records} records but {kept} were written")
    if kept + dropped != source_records:
        problems.append(f"{kept} kept + {dropped} dropped = {kept + dropped}, "
                        f"but the source has {source_records} records")
    if walked != source_records:
        problems.append(f"the source had {source_records} records when checked but {walked} "
                        "when copied: did it change?")
    if remaining:
        codes = ", ".join(f"{c} {n}" for c, n in sorted(Counter(f.code for f in remaining).items()))
        where = "; ".join(_where(f) for f in remaining[:SHOWN])
        problems.append(f"DST still has {len(remaining)} {threshold.value}-or-worse findings on "
                        f"records ({codes}): {where}")
    for f in new:
        problems.append(f"DST has a new dataset-wide {f.severity.value} {f.code}: {f.message}")
    return Verification(not problems, report.records, kept, dropped, source_records, threshold,
                        remaining, carried, tuple(problems), report)


def _where(f: Finding) -> str:
    key = f" key {f.key}" if f.key is not None else ""
    return f"{f.code} #{f.index}{key}"
