"""Dataset-wide checks, run once on the merged shard summaries (no second pass over data)."""
from __future__ import annotations

from collections import Counter

from ..model import Finding, Severity
from ..sources.interface import ShapeGroup, ShardSummary


def merge_summaries(parts: list[tuple[int, ShardSummary]]) -> ShardSummary:
    """Merge (index offset, summary) pairs; refs are shifted to absolute indexes."""
    out = ShardSummary()
    for offset, s in parts:
        out.labels.update(s.labels)
        out.encoded += s.encoded
        for mine, theirs in ((out.shapes, s.shapes), (out.sizes, s.sizes),
                             (out.channels, s.channels)):
            for shape, group in theirs.items():
                g = mine.setdefault(shape, ShapeGroup())
                g.count += group.count
                g.truncated |= group.truncated
                g.refs.extend((i + offset, k) for i, k in group.refs)
    return out


def _fmt(shape) -> str:
    return "x".join(map(str, shape)) if isinstance(shape, tuple) else str(shape)


def _minorities(table: dict, path: str, code: str, severity: Severity, what: str,
                why: str) -> list[Finding]:
    if len(table) < 2:
        return []
    majority, top = max(table.items(), key=lambda kv: (kv[1].count, str(kv[0])))
    findings = []
    for shape, group in table.items():
        if shape == majority:
            continue
        msg = f"{what} {_fmt(shape)}, while {top.count} records are {_fmt(majority)}{why}"
        findings += [Finding.of(code, path, msg, key=k, index=i, severity=severity)
                     for i, k in group.refs]
        if group.truncated:
            findings.append(Finding.of(code, path, f"{group.count - len(group.refs)} more records "
                                       f"are {_fmt(shape)} (not listed one by one)", severity=severity))
    return findings


def _mixed_sizes(table: dict, path: str) -> list[Finding]:
    """Encoded images: name the odd ones out when there is a majority size, else say it once."""
    total = sum(g.count for g in table.values())
    if len(table) < 2 or max(g.count for g in table.values()) * 2 > total:
        return _minorities(table, path, "DS600", Severity.WARNING, "image size",
                           " (fine only with crop_size <= the smallest side, or resizing)")
    heights = [h for h, _ in table]
    widths = [w for _, w in table]
    return [Finding.of("DS600", path, f"images come in {len(table)} sizes (height {min(heights)}.."
                       f"{max(heights)}, width {min(widths)}..{max(widths)}): Caffe's Data layer "
                       f"needs crop_size <= {min(min(heights), min(widths))} or resized images",
                       severity=Severity.WARNING)]


def dataset_findings(path: str, s: ShardSummary) -> list[Finding]:
    out = _minorities(s.shapes, path, "DS600", Severity.ERROR, "shape",
                      ": Caffe's Data layer aborts on the batch mixing them")
    out += _mixed_sizes(s.sizes, path)
    if len(s.channels) > 1:
        major = max(s.channels.items(), key=lambda kv: kv[1].count)[0]
        for ch, group in s.channels.items():
            if ch == major:
                continue
            msg = (f"{ch}-channel image in a {major}-channel set: Caffe stops with "
                   f"\"Check failed: channels == img_channels ({major} vs. {ch})\" unless force_color/force_gray")
            out += [Finding.of("DS403", path, msg, key=k, index=i) for i, k in group.refs]
    return out


def label_stats(labels: Counter) -> dict | None:
    if not labels:
        return None
    return {"min": min(labels), "max": max(labels), "distinct": len(labels),
            "histogram": {str(k): labels[k] for k in sorted(labels)}}
