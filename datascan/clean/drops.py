"""Which records to drop: from a fresh scan, or from an earlier JSON report (--from-report)."""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..codes import keep
from ..model import Finding, Severity
from .errors import CleanRefused


@dataclass(frozen=True)
class Drop:
    """One dropped record, as the manifest lists it."""
    path: str                  # where the record lives, as findings name it (the .h5 file for HDF5)
    index: int                 # ordinal in the source (LMDB, LevelDB) or row (HDF5)
    key: str | None            # key text (UTF-8 or hex:...); None for HDF5 rows
    codes: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"path": self.path, "key": self.key, "index": self.index, "codes": list(self.codes)}


@dataclass
class Selection:
    """The records to drop, grouped by the file they live in (real path -> index -> Drop)."""
    threshold: Severity
    drops: dict[str, dict[int, Drop]] = field(default_factory=dict)
    whole: list[Finding] = field(default_factory=list)     # findings at the threshold naming no record
    source_records: int | None = None                      # what the scan or the report counted

    def for_file(self, path: str | os.PathLike) -> dict[int, Drop]:
        return self.drops.get(real(path), {})

    @property
    def count(self) -> int:
        return sum(len(d) for d in self.drops.values())


def real(path: str | os.PathLike) -> str:
    return os.path.realpath(path)


def select(findings: Iterable[Finding], threshold: Severity, records: int | None) -> Selection:
    """Every record with a finding at or above ``threshold``; its codes are the reasons."""
    out = Selection(threshold, source_records=records)
    grouped: dict[tuple[str, int], tuple[str, str | None, list[str]]] = {}
    for f in findings:
        if f.severity.rank < threshold.rank:
            continue
        if f.index is None:
            out.whole.append(f)
            continue
        path, key, codes = grouped.setdefault((real(f.path), f.index), (f.path, f.key, []))
        if f.key is not None and key is not None and f.key != key:
            raise CleanRefused(f"{f.path}: the findings give record #{f.index} two keys "
                               f"({key!r}, {f.key!r}): not a report of one dataset version")
        if f.code not in codes:
            codes.append(f.code)
        if key is None and f.key is not None:
            grouped[(real(f.path), f.index)] = (path, f.key, codes)
    for (rp, index), (path, key, codes) in sorted(grouped.items()):
        out.drops.setdefault(rp, {})[index] = Drop(path, index, key, tuple(sorted(codes)))
    return out


def filtered(findings: Iterable[Finding], select_codes, ignore_codes) -> list[Finding]:
    return [f for f in findings if keep(f.code, select_codes, ignore_codes)]


@dataclass(frozen=True)
class ReportSource:
    path: str
    format: str | None
    records: int | None
    findings: tuple[Finding, ...]
    options: dict | None = None     # what the report was made with; None: not recorded


def load_report(report: Path, src: Path, files: Iterable[Path] = ()) -> ReportSource:
    """The part of a JSON report that is about ``src`` (a report may cover several sources).

    A finding belongs to ``src`` when it names ``src`` itself or, for an HDF5 list, one
    of the files the list names. A report about something else is refused.
    """
    try:
        with open(report, encoding="utf-8") as fh:
            data = json.load(fh)
        sources = data["sources"]
        raw = data["findings"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CleanRefused(f"{report}: not a datascan JSON report ({e})") from None
    mine = [s for s in sources if _same(s.get("path"), src)]
    if not mine:
        named = ", ".join(str(s.get("path")) for s in sources) or "no source"
        raise CleanRefused(f"{report} was made for {named}, not {src}: refusing to drop records by it")
    own = {real(src)} | {real(f) for f in files}
    findings = []
    for d in raw:
        try:
            f = Finding(d["code"], Severity(d["severity"]), d["path"], d.get("key"), d.get("index"),
                        d.get("message", ""))
        except (KeyError, ValueError, TypeError) as e:
            raise CleanRefused(f"{report}: a finding cannot be read ({e!r})") from None
        if real(f.path) in own:
            findings.append(f)
        elif len(sources) == 1 and f.index is not None:
            raise CleanRefused(f"{report} names record #{f.index} of {f.path}, which is not part of "
                               f"{src}: refusing to drop records by it")
    options = data.get("options")
    return ReportSource(mine[0]["path"], mine[0].get("format"), mine[0].get("records"),
                        tuple(findings), options if isinstance(options, dict) else None)


# The options that decide which findings a record gets, as the JSON report names them.
_COMPARED = (("num_classes", "--num-classes"), ("ignore_label", "--ignore-label"),
             ("label_datasets", "--label-dataset"), ("source_format", "--source-format"),
             ("select", "--select"), ("ignore", "--ignore"), ("root", "--root"),
             ("label_map", "--label-map"),
             ("transform", "--crop-size/--force-color/--force-gray"))


def net_layer(theirs: dict | None, src: Path) -> dict | None:
    """A --net report's first data layer reading ``src``: its options' "transform" entry
    (layer, path, crop_size, force_color, force_gray[, resize]); None for other reports."""
    t = theirs.get("transform") if isinstance(theirs, dict) else None
    if not isinstance(t, dict) or t.get("from") != "net":
        return None
    return next((x for x in t.get("layers") or () if isinstance(x, dict)
                 and _same(x.get("path"), src)), None)


def net_transform(layer: dict, fmt: str | None):
    """The config.Transform a --net report judged a layer's records with."""
    from ..config import Transform
    resize = layer.get("resize")
    return Transform(int(layer.get("crop_size") or 0), bool(layer.get("force_color")),
                     bool(layer.get("force_gray")), origin=f"layer {layer.get('layer')}",
                     resize=tuple(resize) if resize else None,
                     layer="ImageData" if fmt == "imagelist" else "Data")


def options_differ(report: Path, theirs: dict | None, mine: dict) -> str | None:
    """One line when the report was made with other options than this clean's (``mine``,
    as json.options_dict writes them), None when they agree. A --net report's labels, root
    and formats came from the net: only --select/--ignore and the transform compare."""
    if theirs is None:
        return (f"{report} does not record the options it was made with (an older datascan): "
                "check that they are this clean's")
    diffs = []
    net = isinstance(theirs.get("transform"), dict) and theirs["transform"].get("from") == "net"
    for name, flag in _COMPARED:
        if net and name not in ("select", "ignore"):
            continue
        a, b = theirs.get(name), mine.get(name)
        if name == "source_format" and (a is None or b is None):
            continue              # detected on one side: the same dataset reads the same
        if name == "transform" and (a is None or b is None):
            continue              # a report from before datascan recorded it
        if (list(a) if isinstance(a, (list, tuple)) else a) != \
                (list(b) if isinstance(b, (list, tuple)) else b):
            diffs.append(f"{flag} {_shown(a)} there, {_shown(b)} here")
    if not diffs:
        return None
    return f"{report} was made with other options: {'; '.join(diffs)}"


def _shown(value) -> str:
    if isinstance(value, dict):       # a transform: its settings, or the net's per layer
        if value.get("from") == "net":
            return "each --net layer's transform_param"
        said = [f"{k} {v}" if k == "crop_size" else k for k, v in value.items()
                if k != "from" and v]
        return ", ".join(said) or "Caffe's defaults"
    if value is None or value == []:
        return "(none)"
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _same(path: str | None, src: Path) -> bool:
    return path is not None and (path == str(src) or real(path) == real(src))


def check_count(report: Path, expected: int | None, actual: int) -> None:
    if expected is not None and expected != actual:
        raise CleanRefused(f"{report} counted {expected} records but the source now has {actual}: "
                           "it was made for another version of the dataset; scan again")


def net_report_config(report: Path, theirs: ReportSource, src: Path, config):
    """A report made with --net judged ``src`` with its layer's transform_param: the
    verification scan takes it too (unless a transform was given), and one line says so."""
    layer = net_layer(theirs.options, src)
    if layer is None:
        return config, None
    said = net_transform(layer, theirs.format)
    given = config.transform.given
    if not given:
        config = replace(config, transform=said)    # a frozen ScanConfig
    words = ", ".join(f"{k} {v}" if k == "crop_size" else k for k, v in said.settings() if v) \
        or "Caffe's defaults"
    line = (f"{report} was made with --net {theirs.options.get('net')}: layer "
            f"{layer.get('layer')!r} judged {src} with {words}; the verification scan "
            f"{'uses the options given instead' if given else 'uses it too'}")
    if theirs.format == "imagelist" and config.root is None:
        line += "; pass --root as the layer's root_folder if its paths need one"
    return config, line
