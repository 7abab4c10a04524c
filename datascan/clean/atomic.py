"""Write beside, fsync, rename: a crash at any moment leaves no DST that looks complete.

Every output (DST, the quarantine, the manifest) is first written to a hidden sibling
named ``.NAME.datascan-tmp-PID-XXXXXX`` on the same filesystem, fsync'd file by file
and directory by directory, and only then renamed to its final name. A replaced DST
(--force) is first renamed aside to ``.NAME.datascan-old-PID-XXXXXX`` and deleted last.
"""
from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from .errors import CleanRefused

TMP_TAG = ".datascan-tmp-"
OLD_TAG = ".datascan-old-"
SPACE_MARGIN = 1.05        # page fill and metadata differ a little between source and copy
SPACE_SLACK = 16 << 20


def _sibling(path: Path, tag: str) -> Path:
    return path.parent / f".{path.name}{tag}{os.getpid()}-{secrets.token_hex(3)}"


def temp_dir(dst: Path) -> Path:
    tmp = _sibling(dst, TMP_TAG)
    os.mkdir(tmp)            # umask applies: the renamed DST gets ordinary permissions
    return tmp


def temp_file(dst: Path) -> Path:
    return _sibling(dst, TMP_TAG)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def leftovers(path: Path) -> list[Path]:
    """Temporary siblings of ``path`` left by a run that died (its process is gone)."""
    out = []
    for tag in (TMP_TAG, OLD_TAG):
        for p in path.parent.glob(f".{path.name}{tag}*"):
            pid = p.name[len(path.name) + 1 + len(tag):].split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                out.append(p)
    return out


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    """fsync every file below ``path``, then every directory bottom-up, then its parent."""
    if path.is_dir():
        for root, dirs, files in os.walk(path, topdown=False):
            for name in files:
                fd = os.open(os.path.join(root, name), os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            fsync_dir(Path(root))
    else:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    fsync_dir(path.parent)


def move_aside(path: Path) -> Path | None:
    """Rename an existing output out of the way (replaced with --force); deleted by ``discard``."""
    if not (path.exists() or path.is_symlink()):
        return None
    old = _sibling(path, OLD_TAG)
    os.rename(path, old)
    fsync_dir(path.parent)
    return old


def install(tmp: Path, dst: Path) -> None:
    os.rename(tmp, dst)
    fsync_dir(dst.parent)


def allocated(path: Path) -> int:
    """Bytes the files below ``path`` occupy (a sparse data.mdb counts what is allocated)."""
    def size(p: str) -> int:
        st = os.stat(p)
        return min(st.st_size, st.st_blocks * 512) if st.st_blocks else st.st_size
    if path.is_file():
        return size(str(path))
    return sum(size(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files)


def check_space(targets: list[Path], need: int) -> None:
    """Each filesystem written to must hold ``need`` bytes (the source's size) with a margin."""
    want = int(need * SPACE_MARGIN) + SPACE_SLACK
    seen = set()
    for target in targets:
        where = target.parent
        dev = os.stat(where).st_dev
        if dev in seen:
            continue
        seen.add(dev)
        free = shutil.disk_usage(where).free
        if free < want:
            raise CleanRefused(f"not enough space in {where}: {_mb(free)} free, the copy needs up "
                               f"to {_mb(want)} (the source's size); free space or choose another DST")


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def is_within(inner: Path, outer: Path) -> bool:
    """Does ``inner`` equal or lie below ``outer`` (both compared after resolving symlinks)?"""
    a, b = Path(os.path.realpath(inner)), Path(os.path.realpath(outer))
    return a == b or a.is_relative_to(b)
