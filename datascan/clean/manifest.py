"""The manifest: ``DST.manifest.json`` beside DST, listing every dropped record and the counts.

It is written (temporary name, fsync, rename) before DST is renamed into place, so
a DST always has its manifest; a manifest without its DST is left by a crash and
describes nothing. A copy whose verification failed is installed as
DST.failed-verification, with DST.failed-verification.manifest.json saying why.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from .._version import __version__
from ..report.json import finding_dict
from .atomic import fsync_dir

SUFFIX = ".manifest.json"


def path_for(dst: Path) -> Path:
    return dst.parent / (dst.name + SUFFIX)


def build(result) -> dict[str, Any]:
    q = result.quarantined
    dropped = []
    for d in result.dropped:
        entry = d.to_dict()
        if result.quarantine is not None:
            entry["quarantined"] = (os.path.realpath(d.path), d.index) in q
        dropped.append(entry)
    by_code = Counter(c for d in result.dropped for c in d.codes)
    return {
        "datascan": __version__,
        "source": {"path": result.source, "format": result.format, "records": result.source_records},
        "destination": {"path": result.destination, "records": result.kept,
                        "requested": result.requested or result.destination,
                        # not verified: left beside the DST asked for, never as it
                        "failed_verification": not result.verification.ok},
        "quarantine": None if result.quarantine is None else
        {"path": result.quarantine, "records": len(q)},
        "drop": result.threshold.value,
        "from_report": result.from_report,
        "counts": {"source": result.source_records, "kept": result.kept,
                   "dropped": len(result.dropped),
                   "dropped_in_files": sum(f["records"] for f in result.dropped_files),
                   "by_code": dict(sorted(by_code.items()))},
        "dropped": dropped,
        "dropped_files": list(result.dropped_files),
        "not_fixed": [finding_dict(f) for f in result.unfixed],
        "verification": result.verification.to_dict(),
        "warnings": list(result.warnings),
        "mean": None if result.mean is None and result.mean_problem is None else
        {"path": result.mean, "problem": result.mean_problem},
        "seconds": round(result.seconds, 3),
    }


def write(tmp: Path, data: dict[str, Any]) -> None:
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    fsync_dir(tmp.parent)
