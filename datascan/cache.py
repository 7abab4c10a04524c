"""Remembered verdicts: a scan's report kept on disk, reused while nothing that decides it changed.

An entry is one JSON file (never pickle) named by the hash of the request's *identity*:
what decides the verdict besides the data (datascan's version and code, the Python and
its installed packages, the paths as given and the working directory, the ScanConfig and
the forward options). It holds the sources' *fingerprints* (each format's ``fingerprint``
capability: device, inode, size, mtime_ns, ctime_ns of its files and what the format
records) and the report before --select/--ignore, which the engine applies on every run,
so one entry serves any select/ignore. How many jobs and which backend do not count: the
report is the same for all of them.

A lookup fingerprints the sources (stat calls and a few bytes read: no numpy, no storage
library) and reuses the entry only when its identity and fingerprints are equal. A scan
stores its report only when the fingerprints taken before and after it agree (nothing
was written while it read) and no file was changed within RACY_NS of the scan's start
(a timestamp the filesystem's clock cannot tell from a later write's). Writes go to a
temporary file renamed into place, so concurrent scans never see half an entry; the
directory is kept under ``max_bytes`` by removing the least recently used entries.
Anything unreadable, foreign or corrupt is a miss; a directory that cannot be written
costs one warning line and the scan goes on.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from . import sources
from ._version import __version__
from .model import Report
from .sources.interface import stat_files

SCHEMA = "datascan-verdict/1"
MAX_BYTES = 256 << 20           # the whole directory; least recently used entries go first
RACY_NS = 50_000_000            # a file changed this close to the scan's start is not trusted
STALE_TEMP_SECONDS = 3600       # a temporary file this old was left by a scan that died
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Cache:
    """Where verdicts are remembered. ``warn`` gets the one line said when the directory
    cannot be used (default: a RuntimeWarning)."""
    directory: Path
    max_bytes: int = MAX_BYTES
    warn: Callable[[str], None] | None = None


def default_dir() -> Path:
    """$XDG_CACHE_HOME/datascan, else ~/.cache/datascan."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "datascan"


def cache_spec(cache: bool | str | os.PathLike | Cache | None) -> Cache | None:
    """The Python API's ``cache=``: None/False none, True the default directory, a path that one."""
    if cache is None or cache is False:
        return None
    if isinstance(cache, Cache):
        return cache
    return Cache(default_dir() if cache is True else Path(cache))


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def _plain(value):
    """JSON-shaped (tuples as lists, paths as text): what a stored entry compares equal to."""
    return json.loads(_canonical(value))


def code_stamp() -> list:
    """Size and mtime of every module of datascan: a changed checker is a changed verdict,
    even under the same version number (an editable install, a patched copy)."""
    out = []
    for root, dirs, files in os.walk(HERE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for f in sorted(files):
            if f.endswith(".py"):
                st = os.stat(os.path.join(root, f))
                out.append([os.path.relpath(os.path.join(root, f), HERE), st.st_size, st.st_mtime_ns])
    return out


def environment_stamp() -> list:
    """The Python and its package directories' mtimes: installing, upgrading or removing a
    package (a decoder, the storage libraries) adds or renames entries there."""
    dirs = [p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and os.path.isdir(p)]
    return [sys.version, [[p, os.stat(p).st_mtime_ns] for p in dirs]]


def fingerprints(paths: Sequence, fmt: str | None, mean_file) -> list | None:
    """Every source's format and fingerprint (and a --mean-file's identity); None when one
    of them has none (the source is not recognised, or its format cannot say)."""
    out = []
    for p in paths:
        try:
            found = sources.fingerprint(Path(p), fmt)
        except Exception:    # noqa: BLE001 - unreadable (DS102, not LMDB ...): nothing is
            return None      # remembered, and the scan that follows says what is wrong
        if found is None:
            return None
        out.append([str(p), *found])
    if mean_file is not None:
        try:
            out.append(["mean_file", {"files": stat_files([mean_file])}])
        except OSError:
            return None
    return _plain(out)


def _stable(fps: list) -> list:
    """Fingerprints without what datascan's own scan changes (keys starting with "~")."""
    return [[*head, {k: v for k, v in fp.items() if not k.startswith("~")}] for *head, fp in fps]


def _newest_ns(fps: list) -> int:
    """The newest mtime or ctime among the fingerprints' stat_files() entries."""
    return max((t for *_, fp in _stable(fps) for stat in fp.get("files", {}).values()
                for t in stat[3:5]), default=0)


class Verdict:
    """One request's entry: look it up before a scan, store the report after it."""

    def __init__(self, cache: Cache, paths: Sequence, config, forward) -> None:
        self.cache, self.paths = cache, tuple(paths)
        self.fmt = config.format
        self.mean_file = getattr(forward, "mean_file", None)
        self.identity = _plain({
            "datascan": __version__, "code": code_stamp(), "environment": environment_stamp(),
            "paths": [str(p) for p in self.paths], "cwd": os.getcwd(),
            "config": asdict(config), "forward": None if forward is None else asdict(forward)})
        self.file = cache.directory / (hashlib.sha256(_canonical(self.identity).encode()).hexdigest()
                                       + ".json")
        self.started_ns = time.time_ns()
        self.before = fingerprints(self.paths, self.fmt, self.mean_file)

    def lookup(self) -> Report | None:
        """The remembered report (marked cached, with its date), or None: a miss."""
        if self.before is None:
            return None
        from .report.json import from_dict
        try:
            if self.file.stat().st_size > self.cache.max_bytes:
                return None
            entry = json.loads(self.file.read_text(encoding="utf-8"))
            if entry.get("schema") != SCHEMA or entry.get("identity") != self.identity \
                    or entry.get("fingerprints") != self.before:
                return None
            report = replace(from_dict(entry["report"]), cached=str(entry["scanned"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
            return None      # absent, unreadable, foreign or corrupt: never trusted
        try:
            os.utime(self.file)     # recently used: evicted last
        except OSError:
            pass
        return report

    def store(self, report: Report) -> bool:
        """Remember the report if the sources stood still while it was made; True if stored."""
        after = fingerprints(self.paths, self.fmt, self.mean_file)
        if self.before is None or after is None or _stable(after) != _stable(self.before) \
                or _newest_ns(after) > self.started_ns - RACY_NS:
            return False
        from .report.json import to_dict
        entry = {"schema": SCHEMA, "identity": self.identity, "fingerprints": after,
                 "scanned": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                 "report": to_dict(replace(report, cached=None))}
        text = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
        if len(text) > self.cache.max_bytes:
            return False
        try:
            self._write(text)
        except OSError as e:
            self._warn(f"cannot remember this verdict in {self.cache.directory} "
                       f"({e.strerror or e}); scanned without the cache")
            return False
        evict(self.cache.directory, self.cache.max_bytes, keep=self.file)
        return True

    def _write(self, text: str) -> None:
        self.cache.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.cache.directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, self.file)      # atomic: a reader sees the old entry or the new one
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _warn(self, message: str) -> None:
        if self.cache.warn is not None:
            self.cache.warn(message)
        else:
            warnings.warn(message, RuntimeWarning, stacklevel=3)


def evict(directory: Path, max_bytes: int, keep: Path | None = None) -> None:
    """Remove the least recently used entries until the directory holds at most max_bytes,
    and temporary files that scans which died left behind."""
    entries, now = [], time.time()
    try:
        listing = list(os.scandir(directory))
    except OSError:
        return
    for e in listing:
        try:
            st = e.stat()
            if e.name.startswith(".tmp-"):
                if now - st.st_mtime > STALE_TEMP_SECONDS:
                    os.unlink(e.path)
            elif e.name.endswith(".json") and e.is_file():
                entries.append((st.st_mtime_ns, st.st_size, e.path))
        except OSError:
            continue        # another scan removed or replaced it meanwhile
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= max_bytes:
            break
        if keep is not None and path == str(keep):
            continue
        try:
            os.unlink(path)
        except OSError:
            continue
        total -= size
