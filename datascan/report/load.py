"""A saved JSON report read back into the typed Report (`datascan report`): the inverse of
json.to_dict, field by field. A file that is not a datascan report is one clear error."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..codes import CODES
from ..errors import UsageError
from .json import options_of
from ..model import (Finding, ForwardBlock, LabelStats, NetBlock, NetLayer, Options, Report,
                     Severity, SourceInfo)


def load(path: str | Path) -> Report:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as e:
        raise UsageError(f"{path}: cannot read the report ({e.strerror or e})") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: not a JSON report ({e})") from None
    if isinstance(data, dict) and "log" in data and "verdict" in data and "sources" not in data:
        raise UsageError(f"{path}: a `datascan doctor` report (of {data['log']}), not a check "
                         f"report: `datascan doctor {data['log']} --format html` shows it again")
    try:
        return from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise UsageError(f"{path}: not a datascan JSON report ({type(e).__name__}: {e})") from None


def from_dict(data: dict[str, Any]) -> Report:
    if not isinstance(data, dict) or "datascan" not in data:
        raise ValueError("no 'datascan' version field")
    findings = tuple(_finding(f) for f in data.get("findings", ()))
    summary = data.get("summary", {})
    return Report(version=str(data["datascan"]),
                  sources=tuple(_source(s) for s in data.get("sources", ())),
                  findings=findings, seconds=float(summary.get("seconds", 0.0)),
                  forward=None if "forward" not in data else
                  tuple(_forward(b) for b in data["forward"]),
                  net=_net(data["net"], data.get("options")) if data.get("net") else None,
                  options=_options(data.get("options")))


def _options(o) -> Options | None:
    """What the report was made with: drawing an image list's records needs its --root again,
    the page and `report --format json` show them all."""
    try:
        return options_of(o)
    except (AttributeError, TypeError, ValueError):
        return None      # malformed options do not make the findings unreadable


def _finding(f: dict) -> Finding:
    code = str(f["code"])
    if code not in CODES:
        raise ValueError(f"unknown finding code {code!r}")
    index = f.get("index")
    return Finding(code, Severity(f["severity"]), str(f["path"]),
                   None if f.get("key") is None else str(f["key"]),
                   None if index is None else int(index), str(f.get("message", "")))


def _source(s: dict) -> SourceInfo:
    labels = s.get("labels")
    stats = None
    if labels is not None:
        histogram = labels.get("histogram")
        stats = LabelStats(min=int(labels["min"]), max=int(labels["max"]),
                           distinct=labels.get("distinct"),
                           histogram=None if histogram is None else
                           {int(k): int(v) for k, v in histogram.items()},
                           note=labels.get("note"))
    return SourceInfo(str(s["path"]), str(s["format"]), int(s["records"]),
                      str(s.get("encoding", "unknown")), stats,
                      layout=s.get("layout"), samples=s.get("samples"))


def _loss(x) -> float | None:
    return None if x is None else float(x) if not isinstance(x, str) else \
        {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[x]


def _forward(b: dict) -> ForwardBlock:
    if b.get("not_run") is not None:
        return ForwardBlock(str(b["path"]), not_run=str(b["not_run"]))
    return ForwardBlock(str(b["path"]), batch_size=b.get("batch_size"),
                        precision=b.get("precision", "fp32"), loss=b.get("loss", "softmax"),
                        batch_losses=tuple(_loss(x) for x in b.get("batch_losses", ())),
                        skipped=int(b.get("skipped", 0)),
                        skipped_reasons=tuple((str(r["reason"]), int(r["records"]))
                                              for r in b.get("skipped_reasons", ())),
                        input_range=None if b.get("input_range") is None else
                        (float(b["input_range"][0]), float(b["input_range"][1])),
                        batch_size_from=str(b.get("batch_size_from", "given")))


def _net(n: dict, options) -> NetBlock:
    """The net block; each layer's transform is in the options' "transform" "layers"."""
    judged = {}
    transform = options.get("transform") if isinstance(options, dict) else None
    for t in (transform or {}).get("layers", ()) if isinstance(transform, dict) else ():
        if isinstance(t, dict):
            judged[t.get("layer"), t.get("path")] = tuple(
                (k, v) for k, v in t.items() if k not in ("layer", "path"))
    return NetBlock(str(n["path"]), tuple(
        NetLayer(x["layer"], tuple(x.get("phases", ())), x.get("path"), x.get("format"),
                 tuple(x.get("notes", ())), judged.get((x["layer"], x.get("path"))))
        for x in n.get("layers", ())))
