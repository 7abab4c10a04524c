"""The JSON report, for pipelines: the contract in ARCHITECTURE.md. Its shape is built here,
from the typed report (model.py), key order included."""
from __future__ import annotations

import json
import math
from typing import Any

from ..model import Finding, ForwardBlock, LabelStats, NetBlock, NetLayer, Report, Severity, SourceInfo

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
    if report.cached is not None:     # outside the keys above: a cached report is otherwise identical
        out["cached"] = {"scanned": report.cached}
    return out


def from_dict(d: dict[str, Any]) -> Report:
    """The typed report back from its JSON (remembered verdicts, cache.py): to_dict's inverse.
    Raises KeyError, TypeError or ValueError on anything that is not such a report."""
    forward = d.get("forward")
    return Report(
        str(d["datascan"]), tuple(_source_of(s) for s in d["sources"]),
        tuple(Finding(f["code"], Severity(f["severity"]), f["path"], f["key"], f["index"],
                      f["message"]) for f in d["findings"]),
        float(d["summary"]["seconds"]),
        forward=None if forward is None else tuple(_forward_of(b) for b in forward),
        net=None if d.get("net") is None else NetBlock(d["net"]["path"], tuple(
            NetLayer(x["layer"], tuple(x["phases"]), x["path"], x["format"], tuple(x["notes"]))
            for x in d["net"]["layers"])),
        cached=(d.get("cached") or {}).get("scanned"))


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


def _source_of(s: dict[str, Any]) -> SourceInfo:
    labels = s.get("labels")
    if labels is not None:
        histogram = labels["histogram"]
        labels = LabelStats(labels["min"], labels["max"], labels["distinct"],
                            None if histogram is None else {int(k): n for k, n in histogram.items()},
                            labels.get("note"))
    return SourceInfo(s["path"], s["format"], s["records"], s["encoding"], labels)


def _forward_of(b: dict[str, Any]) -> ForwardBlock:
    if "not_run" in b:
        return ForwardBlock(b["path"], not_run=b["not_run"])
    return ForwardBlock(b["path"], batch_size=b["batch_size"], precision=b["precision"],
                        loss=b["loss"], skipped=b["skipped"],
                        batch_losses=tuple(x if x is None else float(x) for x in b["batch_losses"]))


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
