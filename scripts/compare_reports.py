"""Same findings before and after a change: scan every dataset in ../shared/realdata and
fixtures/ and compare the JSON reports with those a baseline commit gives.

    python scripts/compare_reports.py --save /tmp/before        # at the baseline commit
    python scripts/compare_reports.py --against /tmp/before     # after the change: exit 1 on a diff

Targets are found by layout, not by datascan (a data.mdb, a LevelDB CURRENT, an HDF5
signature, a list of .h5 files), so both runs scan the same set. Each target is scanned
twice (as given, and with --num-classes 2 to exercise the label checks; the small
ones also with --forward), with two jobs, in
its own process; the report's "seconds" is dropped, everything else (findings, their
order, exit code, the error line for a source that cannot be read) must be equal.
LevelDBs are read through datascan's snapshot, never opened in place.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REALDATA = ROOT.parent / "shared" / "realdata"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
VARIANTS = ((), ("--num-classes", "2"))
FORWARD = ("--forward", "--batch-size", "8", "--num-classes", "10")   # on fixtures and caffe-ref


def _is_h5(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == HDF5_MAGIC
    except OSError:
        return False


def _is_h5_list(path: Path) -> bool:
    if path.suffix != ".txt" or path.stat().st_size > 1 << 16:
        return False
    words = path.read_text(errors="replace").split()
    return bool(words) and all(w.endswith((".h5", ".hdf5")) for w in words)


def targets() -> list[Path]:
    found: list[Path] = []
    for top in (ROOT / "fixtures", REALDATA):
        if not top.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            d = Path(dirpath)
            if "data.mdb" in filenames or ("CURRENT" in filenames and
                                           any(f.startswith("MANIFEST-") for f in filenames)):
                found.append(d)
                dirnames.clear()
                continue
            dirnames.sort()
            for f in sorted(filenames):
                p = d / f
                if _is_h5(p) or _is_h5_list(p):
                    found.append(p)
    return sorted(found)


def run(path: Path, extra: tuple[str, ...]) -> dict:
    shown = os.path.relpath(path, ROOT) if ROOT in path.parents else str(path)
    cmd = [sys.executable, "-m", "datascan", "check", shown, "--format", "json", "--jobs", "2",
           "--quiet", "--no-cache", *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    out: dict = {"exit": p.returncode}
    if p.stdout.strip():
        report = json.loads(p.stdout)
        report["summary"].pop("seconds", None)
        report.pop("options", None)     # added later (issue 15.7): baselines do not have it
        report.pop("cached", None)      # a baseline saved before --no-cache was passed here
        out["report"] = report
    else:
        out["stderr"] = p.stderr.strip().splitlines()[-1:] if p.stderr.strip() else []
    return out


def collect() -> dict[str, dict]:
    results = {}
    for path in targets():
        small = "fixtures" in path.parts or "caffe-ref" in path.parts
        for extra in VARIANTS + ((FORWARD,) if small else ()):
            shown = path.relative_to(ROOT if ROOT in path.parents else REALDATA.parent)
            name = f"{shown} {' '.join(extra)}".strip()
            results[name] = run(path, extra)
            print(f"{results[name]['exit']}  {name}", file=sys.stderr)
    return results


def _first_difference(a, b, where: str = "") -> tuple[str, object, object]:
    """Where two JSON values first differ (a path like report.findings[3].message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(a.keys() | b.keys()):
            if a.get(k) != b.get(k):
                return _first_difference(a.get(k), b.get(k), f"{where}.{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{where}[{i}]")
    return where or ".", a, b


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--save", type=Path, help="write the reports to this file")
    g.add_argument("--against", type=Path, help="compare with reports saved earlier")
    args = ap.parse_args()
    results = collect()
    if args.save:
        args.save.write_text(json.dumps(results, indent=1, sort_keys=True))
        print(f"{len(results)} reports saved to {args.save}")
        return 0
    before = json.loads(args.against.read_text())
    results = json.loads(json.dumps(results))     # as saved: tuples are lists
    diffs = sorted(k for k in before.keys() | results.keys() if before.get(k) != results.get(k))
    for k in diffs:
        where, a, b = _first_difference(before.get(k), results.get(k))
        print(f"DIFFERS: {k} at {where}\n  before: {json.dumps(a)[:600]}\n"
              f"  after:  {json.dumps(b)[:600]}")
    print(f"{len(results)} reports, {len(diffs)} differ")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
