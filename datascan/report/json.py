"""The JSON report, for pipelines: the contract in ARCHITECTURE.md. Its shape is built here,
from the typed report (model.py), key order included."""
from __future__ import annotations

import io
import json
import math
import secrets
from typing import Any, TextIO

from ..model import Finding, ForwardBlock, LabelStats, NetBlock, NetLayer, Options, Report, Severity, SourceInfo

_string = json.encoder.encode_basestring     # what ensure_ascii=False writes a str with
GRADIENT_NORM = "L2 of each record's share of the InnerProduct weight gradient"


def render(report: Report, view: object = None) -> str:
    """The JSON report; a view (how to show it) changes nothing here."""
    out = io.StringIO()
    write(report, out)
    return out.getvalue()


def write(report: Report, fh: TextIO) -> None:
    """The JSON report written as it is made, a finding at a time: the same bytes as
    ``json.dumps(to_dict(report), indent=2, ensure_ascii=False)`` and a newline, without
    holding the findings (a spilled report's are read from disk)."""
    mark = f"datascan-findings-{secrets.token_hex(8)}"
    head, tail = json.dumps(to_dict(report, findings=mark), indent=2,
                            ensure_ascii=False).split(json.dumps(mark), 1)
    fh.write(head)
    first = True
    for f in report.findings:
        fh.write(("[\n    " if first else ",\n    ") + _finding_text(f))
        first = False
    fh.write("[]" if first else "\n  ]")
    fh.write(tail + "\n")


def _value(x) -> str:
    return "null" if x is None else str(x) if isinstance(x, int) else _string(x)


def _finding_text(f: Finding) -> str:
    """finding_dict(f) as json.dumps(indent=2) writes it inside the findings list (its
    pure-Python encoder is what indent costs; strings go through the C one here)."""
    return (f'{{\n      "code": {_string(f.code)},\n      "severity": {_string(f.severity.value)},'
            f'\n      "path": {_string(f.path)},\n      "key": {_value(f.key)},'
            f'\n      "index": {_value(f.index)},\n      "message": {_string(f.message)}\n    }}')


def to_dict(report: Report, findings: Any = None) -> dict[str, Any]:
    """The report as the JSON contract has it (``findings``: what stands in for the list)."""
    out: dict[str, Any] = {
        "datascan": report.version,
        "sources": [_source(s) for s in report.sources],
        "findings": [finding_dict(f) for f in report.findings] if findings is None else findings,
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
    if report.options is not None:
        out["options"] = options_dict(report.options)
    if report.cached is not None:     # outside the keys above: a cached report is otherwise identical
        out["cached"] = {"scanned": report.cached}
    return out


def options_dict(o: Options) -> dict[str, Any]:
    """What the report was made with, as `clean --from-report` reads it back."""
    out: dict[str, Any] = {"num_classes": o.num_classes, "ignore_label": o.ignore_label,
                           "label_datasets": list(o.label_datasets),
                           "source_format": o.source_format,
                           "select": list(o.select), "ignore": list(o.ignore),
                           "forward": None if o.forward is None else dict(o.forward)}
    if o.net is not None:
        out["net"], out["phase"] = o.net, o.phase
    if o.root is not None:
        out["root"] = o.root
    if o.label_map is not None:
        out["label_map"] = o.label_map
    if o.transform is not None:
        out["transform"] = {k: [dict(x) for x in v] if k == "layers" else v for k, v in o.transform}
    return out


def options_of(o: Any) -> Options | None:
    """options_dict's inverse; None when the report has none (made before they were recorded)."""
    if not isinstance(o, dict):
        return None

    def pairs(d: Any) -> tuple[tuple[str, object], ...]:
        return tuple((str(k), tuple(v) if isinstance(v, list) else v) for k, v in d.items())
    transform = o.get("transform")
    if isinstance(transform, dict):
        transform = tuple((k, tuple(pairs(x) for x in v) if k == "layers" else v)
                          for k, v in transform.items())
    return Options(o.get("num_classes"), o.get("ignore_label"),
                   tuple(o.get("label_datasets") or ()), o.get("source_format"),
                   tuple(o.get("select") or ()), tuple(o.get("ignore") or ()),
                   None if o.get("forward") is None else pairs(o["forward"]),
                   net=o.get("net"), phase=o.get("phase"), root=o.get("root"),
                   label_map=o.get("label_map"),
                   transform=transform if isinstance(transform, tuple) else None)


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
        cached=(d.get("cached") or {}).get("scanned"), options=options_of(d.get("options")))


def finding_dict(f: Finding) -> dict[str, Any]:
    """One finding, as the report and clean's manifest list it."""
    return {"code": f.code, "severity": f.severity.value, "path": f.path, "key": f.key,
            "index": f.index, "message": f.message}


def _source(s: SourceInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"path": s.path, "format": s.format, "records": s.records,
                           "encoding": s.encoding}
    if s.labels is not None:
        out["labels"] = _labels(s.labels)
    if s.layout is not None:
        out["layout"], out["samples"] = s.layout, s.samples
    return out


def _source_of(s: dict[str, Any]) -> SourceInfo:
    labels = s.get("labels")
    if labels is not None:
        histogram = labels["histogram"]
        labels = LabelStats(labels["min"], labels["max"], labels["distinct"],
                            None if histogram is None else {int(k): n for k, n in histogram.items()},
                            labels.get("note"))
    return SourceInfo(s["path"], s["format"], s["records"], s["encoding"], labels,
                      layout=s.get("layout"), samples=s.get("samples"))


def _forward_of(b: dict[str, Any]) -> ForwardBlock:
    if "not_run" in b:
        return ForwardBlock(b["path"], not_run=b["not_run"])
    rng = b.get("input_range")
    return ForwardBlock(b["path"], batch_size=b["batch_size"], precision=b["precision"],
                        loss=b["loss"], skipped=b["skipped"],
                        batch_losses=tuple(x if x is None else float(x) for x in b["batch_losses"]),
                        skipped_reasons=tuple((r["reason"], int(r["records"]))
                                              for r in b.get("skipped_reasons", ())),
                        input_range=None if rng is None else (float(rng[0]), float(rng[1])),
                        batch_size_from=b.get("batch_size_from", "given"))


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
            "first_nonfinite_iteration": b.first_nonfinite_iteration, "skipped": b.skipped,
            "skipped_reasons": [{"reason": r, "records": n} for r, n in b.skipped_reasons],
            "batch_size_from": b.batch_size_from,
            "input_range": None if b.input_range is None else list(b.input_range)}


def _net(net: NetBlock) -> dict[str, Any]:
    return {"path": net.path,
            "layers": [{"layer": x.layer, "phases": list(x.phases), "path": x.path,
                        "format": x.format, "notes": list(x.notes)} for x in net.layers]}
