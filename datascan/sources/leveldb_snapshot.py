"""A LevelDB's private view for reading: made in the temp dir, never beside the source,
of links to its files (copies of the tiny CURRENT and MANIFEST), so that opening it (which
replays the log, writes a new MANIFEST and takes LOCK) leaves the source byte-identical."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import SourceOpenError
from .interface import unreadable

SPACE_SLACK = 1 << 20          # what opening a snapshot writes besides replaying the log
# Not in a snapshot: LOCK (the snapshot takes its own; another process may hold the
# source's) and the info logs (LevelDB writes its own LOG in the snapshot).
SKIP = {"LOCK", "LOG", "LOG.old"}
COPIED = ("CURRENT", "MANIFEST-")   # tiny, and LevelDB reads them first: copied, not linked
VIEW = ".view-"                     # a worker's private view inside a shared snapshot



def files(src: Path) -> list[Path]:
    """The files a snapshot needs, each checked readable: LevelDB skips a log it cannot
    open and would report a database it never read as holding nothing."""
    try:
        entries = sorted(e for e in src.iterdir() if e.name not in SKIP and e.is_file())
    except OSError as e:
        raise SourceOpenError(f"{src}: cannot list the LevelDB directory: {e.strerror}") from None
    for entry in entries:
        if (why := unreadable(entry)) is not None:
            raise SourceOpenError(f"{entry}: {why} (LevelDB needs every file of the database)")
    return entries


def link(entry: Path, dst: Path) -> None:
    """Zero-copy: a hard link where the temp dir shares the source's filesystem (a live
    writer's compaction may delete the source's table; the link keeps it), else a symlink.
    LevelDB never writes a table or log in place (it opens logs to replay them, then
    writes new files), so neither can change the source."""
    target = dst / entry.name
    if entry.name.startswith(COPIED):
        shutil.copyfile(entry, target)
        return
    try:
        os.link(entry, target, follow_symlinks=True)
    except OSError:
        os.symlink(os.path.realpath(entry), target)


def check_room(src: Path, entries: list[Path], base: str | None) -> None:
    # Opening a snapshot replays the log into a new table there: about the log's size.
    need = sum(e.stat().st_size for e in entries
               if e.name.endswith(".log") or e.name.startswith(COPIED)) + SPACE_SLACK
    where = base or tempfile.gettempdir()
    free = shutil.disk_usage(where).free
    if free < need:
        raise SourceOpenError(f"{src}: no room in {where} for the LevelDB snapshot ({free >> 20} "
                              f"MiB free, its log needs {need >> 20} MiB): set TMPDIR to a "
                              "filesystem with room")


@contextmanager
def snapshot(path: Path, base: str | None = None) -> Iterator[Path]:
    """A private view of the database in the temp dir (or in ``base``), never beside it.

    Opening a LevelDB replays its log, writes a new MANIFEST and rotates LOG, and fails
    while another process holds LOCK. The view copies CURRENT and the MANIFEST and links
    every other file (_link), so the source stays byte-identical and nothing is copied
    that could fill the temp dir; a view that cannot be made is one error line."""
    entries = files(path)
    check_room(path, entries, base)
    snap = Path(tempfile.mkdtemp(prefix="datascan-snap-" if base is None else VIEW, dir=base))
    try:
        for entry in entries:
            link(entry, snap)
    except OSError as e:
        shutil.rmtree(snap, ignore_errors=True)
        raise SourceOpenError(f"{path}: cannot make a snapshot of the LevelDB in "
                              f"{snap.parent}: {e.strerror or e}") from None
    try:
        yield snap
    finally:
        shutil.rmtree(snap, ignore_errors=True)
