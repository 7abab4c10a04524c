#!/usr/bin/env python3
"""Startup and remembered-verdict figures (issue 14), for bench.py or on their own.

Every command runs as its own process, all interleaved, `--repeat` times; the fastest run of
each is shown (noise on a shared machine only ever slows a run down) with its ratio to
the reference the issue names:

  datascan --version, --help         against  python -c pass                  (target < 2)
  datascan check TINY_LMDB           against  python -c "import numpy, lmdb"  (target < 1.5)
  the same, remembered (cached)      against  python -c pass
  datascan check WORKLOAD, cached    against  the same scan with --no-cache   (bench.py)

`datascan` is the console script a user runs, the one installed beside this interpreter
(`python -m datascan` only when there is none); the references run with the same
interpreter. `--pythonpath OLD_CHECKOUT` measures another version through the same script
(PYTHONPATH comes before the installed package):

  python scripts/bench_startup.py                              # this checkout
  python scripts/bench_startup.py --pythonpath /tmp/base       # e.g. a `git archive` of main

The package measured is byte-compiled first (compileall), as `pip install` leaves it: with
PYTHONDONTWRITEBYTECODE set (as on this project's machine) an editable checkout would
otherwise compile every module on every run, which no installed copy does. The tiny LMDB
holds five raw Datums (a clean scan: exit 0); "remembered" scans it with its verdict
remembered, the others pass --no-cache (the scan itself). Ratios are of the fastest runs,
and of the medians.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def timed(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=env["PWD"])
    seconds = time.perf_counter() - t
    if p.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.decode()[-300:]}")
    return seconds


def fastest(commands: dict[str, list[str]], repeat: int, env: dict) -> dict[str, list[float]]:
    runs: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):                 # interleaved: drift hits every command alike
        for name, cmd in commands.items():
            runs[name].append(timed(cmd, env))
    return {name: sorted(r) for name, r in runs.items()}


def tiny_lmdb(out: Path) -> Path:
    """A five-record LMDB, written by hand (no datascan import), old enough to be remembered."""
    import lmdb
    path = out / "tiny_lmdb5"
    if not (path / "data.mdb").exists():
        env = lmdb.open(str(path), map_size=1 << 20)
        with env.begin(write=True) as txn:   # raw Datums: channels 1, 2x2, labels 0..4
            for i in range(5):
                txn.put(b"%08d" % i, bytes([8, 1, 16, 2, 24, 2, 34, 4, i, 2, 3, 4, 40, i]))
        env.close()
        time.sleep(0.1)
    return path


def console_script() -> list[str]:
    script = Path(sys.executable).with_name("datascan")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "datascan"]


def editable(env: dict, cwd: Path) -> bool:
    """Is the datascan measured an editable install (pip install -e)? Its import hook, a .pth
    file every Python start runs, adds ~15 ms here to every command, `python -c pass`
    included: ratios to a bare start are then not what a user's install gives."""
    probe = ("import importlib.metadata as m\ntry:\n    t = m.distribution('datascan').read_text"
             "('direct_url.json') or ''\nexcept m.PackageNotFoundError:\n    t = ''\n"
             "print('\"editable\": true' in t)")
    return subprocess.run([sys.executable, "-c", probe], env=env, cwd=cwd, capture_output=True,
                          text=True).stdout.strip() == "True"


def compile_package(env: dict, cwd: Path) -> None:
    """Byte-compile the datascan these commands import (see the module doc)."""
    where = subprocess.run([sys.executable, "-c", "import datascan, os; "
                            "print(os.path.dirname(datascan.__file__))"], env=env, cwd=cwd,
                           capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "compileall", "-q", where], env=env, cwd=cwd,
                   stdout=subprocess.DEVNULL, check=False)


def commands(tiny: Path, cache_dir: Path, new_flags: bool) -> dict[str, list[str]]:
    py, ds = [sys.executable], console_script()
    no_cache = ["--no-cache"] if new_flags else []
    out = {"python -c pass": py + ["-c", "pass"],
           "python -c 'import numpy, lmdb'": py + ["-c", "import numpy, lmdb"],
           "datascan --version": ds + ["--version"],
           "datascan --help": ds + ["--help"],
           "datascan check --help": ds + ["check", "--help"],
           "datascan check tiny_lmdb (all cores)": ds + ["check", str(tiny), "-q", *no_cache],
           "datascan check tiny_lmdb --jobs 1": ds + ["check", str(tiny), "-q", "--jobs", "1", *no_cache]}
    if new_flags:
        out["datascan check tiny_lmdb, remembered"] = ds + ["check", str(tiny), "-q", "--cache-dir",
                                                           str(cache_dir)]
    return out


TARGETS = (("datascan --version", "python -c pass", 2.0),
           ("datascan --help", "python -c pass", 2.0),
           ("datascan check --help", "python -c pass", 2.0),
           ("datascan check tiny_lmdb (all cores)", "python -c 'import numpy, lmdb'", 1.5),
           ("datascan check tiny_lmdb --jobs 1", "python -c 'import numpy, lmdb'", 1.5),
           ("datascan check tiny_lmdb, remembered", "python -c pass", None))


def measure(out: Path, repeat: int, pythonpath: str | None = None) -> tuple[list[tuple], list[tuple], bool]:
    """(rows: name, fastest ms, median ms), (ratios: what, value, target or None), whether
    the datascan measured is an editable install (see editable())."""
    env = dict(os.environ, PWD=str(out))    # run elsewhere: `-m` puts the cwd first on sys.path
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    dev = editable(env, out)
    compile_package(env, out)
    probe = subprocess.run([*console_script(), "check", "--help"], env=env,
                           capture_output=True, text=True, cwd=out).stdout
    with tempfile.TemporaryDirectory() as cache_dir:
        tiny = tiny_lmdb(out)
        cmds = commands(tiny, Path(cache_dir), "--no-cache" in probe)
        if "datascan check tiny_lmdb, remembered" in cmds:      # remember it once first
            subprocess.run(cmds["datascan check tiny_lmdb, remembered"], env=env, check=False,
                           stdout=subprocess.DEVNULL, cwd=out)
        runs = fastest(cmds, repeat, env)
    rows = [(name, r[0] * 1e3, r[len(r) // 2] * 1e3) for name, r in runs.items()]
    ratios = []
    for what, ref, target in TARGETS:
        if what in runs:
            a, b = runs[what], runs[ref]
            ratios.append((f"startup: {what} / {ref}, fastest", a[0] / b[0], target))
            ratios.append((f"startup: {what} / {ref}, median", a[len(a) // 2] / b[len(b) // 2], target))
    return rows, ratios, dev


EDITABLE = ("an editable install (pip install -e): its import hook adds ~15 ms to every Python "
            "start, the bare one included, so these ratios are not a user's. Measure a regular "
            "install: python3 -m venv V && V/bin/pip install . psutil && V/bin/python "
            "scripts/bench_startup.py")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=15, help="runs of each command (at least 10)")
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "datascan-bench")
    ap.add_argument("--pythonpath", help="measure the datascan found here (an old checkout)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    rows, ratios, dev = measure(args.out, args.repeat, args.pythonpath)
    print(f"fastest of {args.repeat} (median); load average before {load:.2f}, "
          f"after {os.getloadavg()[0]:.2f}")
    if dev:
        print(f"NOT JUDGED: {EDITABLE}")
    for name, best, median in rows:
        print(f"  {name:42s} {best:7.1f} ms  ({median:.1f})")
    for what, value, target in ratios:
        verdict = "(info)" if target is None or dev else ("ok" if value < target else "MISSED") + f" (< {target:g})"
        print(f"  {what:78s} {value:5.2f}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
