"""The doctor's report as JSON (the shape issue 12 gives) and as text (one verdict line
first, then the findings with the log lines quoted, then what to do)."""
from __future__ import annotations

import json
import math

from .._version import __version__
from ..codes import lookup
from ..doctor.report import DoctorReport


def _num(x: float) -> float | None:
    return x if math.isfinite(x) else None      # JSON has no nan/inf: null


def to_dict(report: DoctorReport) -> dict:
    first = report.first_nonfinite
    return {
        "datascan": __version__,
        "log": report.log,
        "iterations": report.iterations,
        "verdict": report.verdict,
        "first_nonfinite": None if first is None else {
            "iteration": first.iteration, "phase": first.phase, "layer": first.layer,
            "blob": first.blob, "line": first.line},
        "findings": [{"code": f.code, "severity": f.severity.value, "message": f.message,
                      "iteration": f.iteration, "layer": f.layer, "line": f.line}
                     for f in report.findings],
        "series": {"loss": [[i, _num(v)] for i, v in report.loss],
                   "lr": [[i, _num(v)] for i, v in report.lr]},
    }


def render_json(report: DoctorReport) -> str:
    return json.dumps(to_dict(report), indent=2) + "\n"


def render_text(report: DoctorReport) -> str:
    lines = [report.headline, ""]
    if report.log is not None:
        runs = f", the last of {report.runs} runs (from line {report.run_start})" \
            if report.runs > 1 else ""
        reached = "no iteration logged" if report.iterations is None else \
            f"iterations up to {report.iterations}"
        lines.append(f"log: {report.log}{runs}; {reached}")
    for b in report.batches:
        lines.append(f"records: {b.note}" if b.note else "")
    if not report.findings:
        lines.append("No findings.")
    else:
        lines += ["", "Findings:"]
        for f in report.findings:
            where = [f"iteration {f.iteration:,}" if f.iteration is not None else None,
                     f"layer {f.layer}" if f.layer else None,
                     f"line {f.line}" if f.line else None]
            place = ", ".join(w for w in where if w)
            lines.append(f"  {f.code} {f.severity.value:<7} {place}")
            lines.append(f"        {f.message}")
            if f.evidence:
                lines.append(f"        > {f.evidence}")
        lines += ["", "What to do:"]
        for f in report.findings:
            if f.severity.rank:
                lines.append(f"  {f.code}: {f.fix or lookup(f.code).hint}")
    for note in report.notes:
        lines.append(f"note: {note}")
    return "\n".join(x for x in lines if x is not None) + "\n"


def render_html(report: DoctorReport) -> str:
    """The diagnosis as one self-contained page (the check report's frame and sections)."""
    from .doctor_page import doctor_page
    from .html import page
    return page("doctor.html.j2", page=doctor_page(report))


FORMATS = {"text": render_text, "json": render_json, "html": render_html}
