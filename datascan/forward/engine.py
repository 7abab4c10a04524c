"""--forward and --net as the engine runs them: the plain scan first, then the dummy net."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import sources
from ..codes import STORAGE_CORRUPT, TRUNCATED, matches
from ..config import ScanConfig
from ..errors import UsageError
from ..model import Finding, Report, SourceInfo
from .api import ForwardOptions, forward_source, net_targets
from .netspec import load_net

FORWARD_FORMATS = ("lmdb", "leveldb", "hdf5")


def _keep(f: Finding, select: Sequence[str], ignore: Sequence[str]) -> bool:
    return (not select or matches(f.code, tuple(select))) and not matches(f.code, tuple(ignore))


def _options_for(source: SourceInfo, options: ForwardOptions) -> ForwardOptions:
    # A Caffe Data layer feeds class indices: without --num-classes, size the dummy
    # softmax from the labels the plain scan saw, rather than regressing on them.
    if options.num_classes is None and options.loss is None and source.format != "hdf5" \
            and source.labels and source.labels["min"] >= 0:
        return replace(options, num_classes=int(source.labels["max"]) + 1)
    return options


def _storage_damage(report: Report, source: SourceInfo) -> Finding | None:
    inside = source.path.rstrip("/") + "/"
    return next((f for f in report.findings if f.code in (STORAGE_CORRUPT.code, TRUNCATED.code)
                 and (f.path == source.path or f.path.startswith(inside)
                      or source.format == "hdf5")), None)


def with_forward(report: Report, options: ForwardOptions, *, select: Sequence[str] = (),
                 ignore: Sequence[str] = ()) -> Report:
    """Run the dummy net over every source of a finished report and add its findings."""
    findings = list(report.findings)
    blocks: list[dict[str, Any]] = []
    for source in report.sources:
        if source.format not in FORWARD_FORMATS:
            continue
        damage = _storage_damage(report, source)
        if damage is None and source.records == 0:
            continue
        if damage is not None:
            # The forward pass reads in this process, in order: on a damaged LMDB page the
            # C library would kill it, where the scan's isolated workers only reported it.
            blocks.append({"path": source.path, "not_run": f"storage damage ({damage.code}: "
                           f"{damage.message}); fix the storage first"})
            continue
        result = forward_source(source.path, source.format, source.encoding,
                                _options_for(source, options))
        findings += [f for f in result.findings if _keep(f, select, ignore)]
        blocks.append({"path": source.path, **result.to_json()})
    findings.sort(key=Finding.sort_key)
    return replace(report, findings=tuple(findings),
                   extra={**report.extra, "forward": report.extra.get("forward", []) + blocks})


def check(paths: Sequence[str | os.PathLike], *, config: ScanConfig,
          forward: ForwardOptions | None = None, select: Sequence[str] = (),
          ignore: Sequence[str] = (), **scan_kw) -> Report:
    """The plain scan, followed by the forward pass when asked for."""
    from ..scan import scan
    if not forward:
        return scan(list(paths), config=config, select=select, ignore=ignore, **scan_kw)
    # Unfiltered first: the forward pass must see storage damage even under --select DS7.
    report = with_forward(scan(list(paths), config=config, **scan_kw), forward)
    kept = tuple(f for f in report.findings if _keep(f, select, ignore))
    return replace(report, findings=kept)


def check_net(net: str | os.PathLike, *, forward: bool = False, precision: str = "fp32",
              phase: str | None = None, select: Sequence[str] = (), ignore: Sequence[str] = (),
              **scan_kw) -> Report:
    """Scan every data layer's source of a Caffe net, as that layer would read it."""
    spec = load_net(Path(net))
    targets = [t for t in net_targets(spec, precision=precision)
               if phase is None or phase.upper() in t.phases]
    reports: list[Report] = []
    layers: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for t in targets:
        path = os.path.normpath(t.path) if t.path else None
        entry = {"layer": t.layer, "phases": list(t.phases), "path": path, "format": t.format, "notes": list(t.notes)}
        layers.append(entry)
        if t.format is None or t.path is None or t.options is None:
            continue
        if not Path(path).exists():
            entry["notes"].append("source not found")
            continue
        if t.format == "leveldb" and not sources.get("leveldb").sniff(Path(path)) \
                and sources.get("lmdb").sniff(Path(path)):
            raise UsageError(f"{net}: layer {t.layer!r} reads {path} as LevelDB (Caffe's default "
                             "backend when none is set) but it is an LMDB: Caffe cannot open it "
                             "either; add `backend: LMDB` to its data_param")
        if (path, t.format) in seen:
            continue
        seen.add((path, t.format))
        opts = t.options
        config = ScanConfig(num_classes=opts.num_classes, ignore_label=opts.ignore_label,
                            format=t.format, label_datasets=(opts.label_top,))
        reports.append(check([path], config=config, forward=opts if forward else None,
                             select=select, ignore=ignore, **scan_kw))
    if not reports:
        raise UsageError(f"{net}: no data layer source datascan can read "
                         f"({'; '.join(n for e in layers for n in e['notes']) or 'none found'})")
    findings = sorted((f for r in reports for f in r.findings), key=Finding.sort_key)
    extra: dict[str, Any] = {"net": {"path": str(net), "layers": layers}}
    if forward:
        extra["forward"] = [b for r in reports for b in r.extra.get("forward", [])]
    return Report(reports[0].version, tuple(s for r in reports for s in r.sources), tuple(findings),
                  sum(r.seconds for r in reports), extra)
