"""The doctor's log throughput (issue 12): a generated debug_info log of a 24-layer net,
`datascan doctor` over it in one process (one core), MB/s and peak RSS.

  python scripts/bench_doctor.py [--mb 2048] [--out DIR]     (also: bench.py --only doctor)
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

LAYERS = 24
TARGET_MB_S = 50.0


def _prefix(sev: str = "I", where: str = "net.cpp:593") -> str:
    return f"{sev}1109 12:34:56.789012 25829 {where}] "


def display_block(it: int) -> str:
    """One display iteration of debug_info output, as Caffe 1.0 prints it."""
    p, lines = _prefix(), []
    names = ["data"] + [f"conv{i}" for i in range(1, LAYERS - 1)] + ["loss"]
    for i, name in enumerate(names):
        lines.append(f"{p}    [Forward] Layer {name}, top blob {name} data: {0.0641 + i * 1e-3:.6g}")
        if 0 < i < LAYERS - 1:
            lines.append(f"{p}    [Forward] Layer {name}, param blob 0 data: 0.0112")
            lines.append(f"{p}    [Forward] Layer {name}, param blob 1 data: 0.00{i % 9 + 1}")
    for i, name in reversed(list(enumerate(names))):
        if i == 0:
            continue
        lines.append(f"{p}    [Backward] Layer {name}, bottom blob {names[i - 1]} diff: "
                     f"{4.21e-4 * (1 + i):.6g}")
        if i < LAYERS - 1:
            lines.append(f"{p}    [Backward] Layer {name}, param blob 0 diff: 0.00301")
            lines.append(f"{p}    [Backward] Layer {name}, param blob 1 diff: 0.0{i % 9 + 1}")
    lines.append(f"{_prefix('E', 'net.cpp:721')}    [Backward] All net params (data, diff): "
                 "L1 norm = (2711.42, 7086.66); L2 norm = (6.11659, 4085.07)")
    s = _prefix(where="solver.cpp:218")
    loss = 6.9 / (1 + it / 5e4)
    lines.append(f"{s}Iteration {it} (10.5908 iter/s, 18.8844s/20 iters), loss = {loss:.6g}")
    lines.append(f"{_prefix(where='solver.cpp:237')}    Train net output #0: loss = {loss:.6g} "
                 f"(* 1 = {loss:.6g} loss)")
    lines.append(f"{_prefix(where='sgd_solver.cpp:105')}Iteration {it}, lr = 0.01")
    return "\n".join(lines) + "\n"


def make_log(path: Path, megabytes: float) -> Path:
    if path.exists() and path.stat().st_size >= megabytes * 1e6:
        return path
    head = (f"{_prefix(where='solver.cpp:45')}Initializing solver from parameters: \n"
            "base_lr: 0.01\ndisplay: 20\nmax_iter: 100000000\nlr_policy: \"fixed\"\n"
            "momentum: 0.9\ndebug_info: true\n"
            f"{_prefix(where='solver.cpp:289')}Solving bench\n")
    with open(path, "w") as fh:
        fh.write(head)
        written, it = len(head), 0
        while written < megabytes * 1e6:
            block = display_block(it)
            fh.write(block)
            written += len(block)
            it += 20
    return path


def measure(path: Path) -> dict:
    from datascan import doctor
    t, cpu = time.perf_counter(), time.process_time()
    report = doctor(path, data=False)
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    mb = path.stat().st_size / 1e6
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # CPU time is the one-core figure on a shared machine (wall time counts the waits)
    return {"mb": mb, "seconds": seconds, "cpu_seconds": cpu, "mb_s": mb / cpu,
            "wall_mb_s": mb / seconds, "peak_rss_mb": rss, "verdict": report.verdict,
            "iterations": report.iterations}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=float, default=2048, help="log size (default 2048 MB)")
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) /
                    "datascan-bench")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    path = make_log(args.out / f"debug_info_{args.mb:g}MB.log", args.mb)
    r = measure(path)
    load = os.getloadavg()[0]
    print(f"doctor: {r['mb']:.0f} MB debug_info log, {r['cpu_seconds']:.1f} s CPU "
          f"({r['seconds']:.1f} s wall): {r['mb_s']:.1f} MB/s on one core (wall "
          f"{r['wall_mb_s']:.1f}; target >= {TARGET_MB_S:g}), peak RSS {r['peak_rss_mb']:.0f} MB, "
          f"verdict {r['verdict']}, {r['iterations']:,} iterations; load average {load:.2f}")
    return 0 if r["mb_s"] >= TARGET_MB_S else 1


if __name__ == "__main__":
    sys.exit(main())
