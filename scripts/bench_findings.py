#!/usr/bin/env python3
"""Memory with many findings (issue 15, point 7): the peak RSS of `datascan check`'s whole
process tree for a dataset where every record is bad, per report format.

The workload is a float32 HDF5 file with a NaN in every row (one DS300 per row), cached
under --out. Each run is `python -m datascan check FILE --jobs 2 --quiet` with the report
written to a file (-o), in its own process; this script samples the RSS of that process
and its children every 20 ms and reads the parent's own high-water mark (VmHWM) as it goes.

    python scripts/bench_findings.py                       # 100,000 and 1,000,000 findings
    python scripts/bench_findings.py --rows 100000 --formats json
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WIDTH = 8          # floats per row: the findings, not the data, are what is measured


def make(path: Path, rows: int) -> Path:
    import h5py
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    with h5py.File(tmp, "w") as f:
        data = f.create_dataset("data", (rows, WIDTH), np.float32, chunks=(min(rows, 8192), WIDTH))
        label = f.create_dataset("label", (rows,), np.float32, chunks=(min(rows, 8192),))
        block = np.ones((65536, WIDTH), np.float32)
        block[:, 0] = np.nan
        for a in range(0, rows, 65536):
            b = min(rows, a + 65536)
            data[a:b] = block[:b - a]
            label[a:b] = 0
    os.replace(tmp, path)
    return path


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0


def measure(path: Path, fmt: str, jobs: int) -> dict:
    """One run: peak RSS of the tree (sampled), the parent's VmHWM, seconds, report size."""
    import psutil
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"report.{fmt}"
        cmd = [sys.executable, "-m", "datascan", "check", str(path), "--format", fmt,
               "--jobs", str(jobs), "--quiet", "-o", str(out)]
        started = time.perf_counter()
        proc = psutil.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        peak = hwm = 0
        while proc.poll() is None:
            total = 0
            try:
                tree = [proc] + proc.children(recursive=True)
            except psutil.NoSuchProcess:
                break
            for p in tree:
                try:
                    total += p.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            peak, hwm = max(peak, total), max(hwm, _hwm_kb(proc.pid))
            time.sleep(0.02)
        err = proc.stderr.read().decode(errors="replace")
        seconds = time.perf_counter() - started
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{fmt} on {path}: exit {proc.returncode}: {err.strip()[-300:]}")
        size = out.stat().st_size
    return {"peak_mb": peak / 2**20, "parent_hwm_mb": hwm / 1024, "seconds": seconds,
            "report_mb": size / 2**20}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path,
                    default=Path(os.environ.get("TMPDIR", "/tmp")) / "datascan-bench")
    ap.add_argument("--rows", default="100000,1000000", help="findings (rows), comma-separated")
    ap.add_argument("--formats", default="json,text,html")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = [int(n) for n in args.rows.split(",")]
    results: dict[tuple[str, int], dict] = {}
    print("| findings | report | peak RSS, process tree | parent's peak (VmHWM) | seconds | report size |")
    print("|---:|---|---:|---:|---:|---:|")
    for n in sizes:
        path = make(args.out / f"nan-rows-{n}.h5", n)
        for fmt in args.formats.split(","):
            r = results[fmt, n] = measure(path, fmt, args.jobs)
            print(f"| {n:,} | {fmt} | {r['peak_mb']:.0f} MB | {r['parent_hwm_mb']:.0f} MB | "
                  f"{r['seconds']:.1f} | {r['report_mb']:.1f} MB |", flush=True)
    if len(sizes) >= 2:
        lo, hi = sizes[0], sizes[-1]
        print(f"\nper finding, from {lo:,} to {hi:,} findings (parent's peak), and the "
              "extrapolation to 10,000,000:")
        for fmt in args.formats.split(","):
            a, b = results[fmt, lo]["parent_hwm_mb"], results[fmt, hi]["parent_hwm_mb"]
            per = (b - a) * 1024 / (hi - lo)
            print(f"  {fmt}: {per:.3f} kB a finding; 10,000,000 findings ~ "
                  f"{b + per * (10_000_000 - hi) / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
