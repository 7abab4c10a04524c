"""The JSON report, for pipelines: the contract in ARCHITECTURE.md. Its shape is built here,
from the typed report (model.py), key order included."""
from __future__ import annotations

import json
import math
from typing import Any

from ..model import Finding, ForwardBlock, LabelStats, NetBlock, Report, SourceInfo

GRADIENT_NORM = "L2 of each record's share of the InnerProduct weight gradient"


def render(report: Report, view: object = None) -> str:
    """The JSON report; a view (how to show it) changes nothing here."""
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"


def to_dict(report: Report) -> dict[str, Any]:
    """The report as the JSON contract has it."""
    out: dict[str, Any] = {
        "datascan": report.version,
        "sources": [_source(s) for s in report.sources],
        "findings": [finding_dict(f) for f in report.findings],
        "summary": {"records": report.records, "bad_records": report.bad_records,
                    "errors": report.errors, "warnings": report.warnings,
                    "by_code": report.by_code(), "seconds": round(report.seconds, 3)},
    }
    if report.partial:
        out["partial"] = True      # interrupted: not every record was read
    if report.unread:
        out["unread"] = list(report.unread)
    if report.net is not None:
        out["net"] = _net(report.net)
    if report.forward is not None:
        out["forward"] = [_forward(b) for b in report.forward]
    return out


def finding_dict(f: Finding) -> dict[str, Any]:
    """One finding, as the report and clean's manifest list it."""
    return {"code": f.code, "severity": f.severity.value, "path": f.path, "key": f.key,
            "index": f.index, "message": f.message}


def _source(s: SourceInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"path": s.path, "format": s.format, "records": s.records,
                           "encoding": s.encoding}
    if s.labels is not None:
        out["labels"] = _labels(s.labels)
    return out


def _labels(labels: LabelStats) -> dict[str, Any]:
    histogram = None if labels.histogram is None else \
        {str(label): n for label, n in labels.histogram.items()}
    out: dict[str, Any] = {"min": labels.min, "max": labels.max, "distinct": labels.distinct,
                           "histogram": histogram}
    if labels.note is not None:
        out["note"] = labels.note
    return out


def _forward(b: ForwardBlock) -> dict[str, Any]:
    """A non-finite loss is the string Caffe prints ("nan", "inf"); null is a batch Caffe
    would have aborted on (not run)."""
    if b.not_run is not None:
        return {"path": b.path, "not_run": b.not_run}
    return {"path": b.path, "batch_size": b.batch_size, "precision": b.precision, "loss": b.loss,
            "gradient_norm": GRADIENT_NORM,
            "batch_losses": [x if x is None or math.isfinite(x) else str(x)
                             for x in b.batch_losses],
            "first_nonfinite_iteration": b.first_nonfinite_iteration, "skipped": b.skipped}


def _net(net: NetBlock) -> dict[str, Any]:
    return {"path": net.path,
            "layers": [{"layer": x.layer, "phases": list(x.phases), "path": x.path,
                        "format": x.format, "notes": list(x.notes)} for x in net.layers]}
