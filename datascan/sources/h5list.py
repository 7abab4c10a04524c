"""Caffe HDF5Data source lists, and the byte-level facts about the HDF5 files they name.

HDF5Data reads its ``source`` with ``source_file >> line``: any whitespace separates
names, and relative names resolve against Caffe's working directory. Lists in the wild
carry absolute paths from their author's machine, so a name that is not found where it
is written is looked for beside the list, and the caller says so (DS104).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..codes import CANNOT_OPEN, LIST_MISSING, LIST_MOVED
from ..model import Finding

SIGNATURE = b"\x89HDF\r\n\x1a\n"
H5_SUFFIXES = (".h5", ".hdf5", ".hdf")
SNIFF_BYTES = 64 * 1024          # a list is text; this much is enough to recognise one
MAX_UNSUFFIXED = 64              # names without an .h5 suffix checked by their signature in sniff


@dataclass(frozen=True)
class Entry:
    """One name in a list and where it was found."""
    written: str                 # the name exactly as the list has it
    path: Path | None            # the file to scan; None when it is nowhere to be found
    beside: bool = False         # found beside the list, not at the written path (DS104)


def signature_offset(path: Path) -> int | None:
    """Where the HDF5 signature sits: offset 0, 512, 1024, 2048, ... (after a user block)."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            offset = 0
            while offset + len(SIGNATURE) <= size:
                fh.seek(offset)
                if fh.read(len(SIGNATURE)) == SIGNATURE:
                    return offset
                offset = 512 if offset == 0 else offset * 2
    except OSError:
        return None
    return None


def is_hdf5(path: Path) -> bool:
    return path.is_file() and signature_offset(path) is not None


def truncation(path: Path) -> tuple[int, int] | None:
    """(actual size, size the superblock promises) when the file is shorter than its metadata says.

    The superblock stores the end-of-file address; HDF5 refuses to open a file shorter
    than that ("truncated file: eof = ..."). A superblock cut short itself promises
    at least its own length. Only superblock versions 0-3 exist.
    """
    base = signature_offset(path)
    if base is None:
        return None
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(base)
        head = fh.read(128)
    if len(head) < 14:
        return (size, base + 14)
    version = head[8]
    if version in (0, 1):
        width, fixed = head[13], 24 + 4 * version
    elif version in (2, 3):
        width, fixed = head[9], 12
    else:
        return None
    if width not in (2, 4, 8):
        return None
    need = fixed + 3 * width
    if len(head) < need:
        return (size, base + need)
    # HDF5 compares the file size with the stored end of file directly ("truncated file:
    # eof = ..., stored_eof = ..."); with a user block it already counts the block.
    eof = int.from_bytes(head[fixed + 2 * width:need], "little")
    if eof == (1 << 8 * width) - 1:          # undefined address
        return None
    return (size, eof) if size < eof else None


def read_names(path: Path, limit: int | None = None) -> list[str]:
    """The names in a list file, split on whitespace as ``source_file >> line`` does."""
    with open(path, "rb") as fh:
        raw = fh.read() if limit is None else fh.read(limit)
    names = raw.decode("utf-8", errors="surrogateescape").split()
    if limit is not None and len(raw) == limit and names and not raw[-1:].isspace():
        names.pop()                      # the last name may be cut by the limit
    return names


def is_text(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError:
        return False
    return b"\0" not in head and not head.startswith(SIGNATURE)


def looks_like_list(path: Path) -> bool:
    """Every name ends in .h5/.hdf5/.hdf or resolves to an HDF5 file."""
    if not path.is_file() or not is_text(path):
        return False
    names = read_names(path, SNIFF_BYTES)
    unsuffixed = [n for n in names if not n.lower().endswith(H5_SUFFIXES)]
    if not names or len(unsuffixed) > MAX_UNSUFFIXED:
        return False
    for name in unsuffixed:
        found = resolve(name, path).path
        if found is None or not is_hdf5(found):
            return False
    return True


def base_name(name: str) -> str:
    """The last component of a POSIX or Windows path (lists come from both)."""
    return re.split(r"[\\/]", name)[-1]


def resolve(name: str, list_path: Path) -> Entry:
    """Where Caffe would look (the working directory), then the list's own directory,
    then a file of the same name beside the list."""
    written = Path(name)
    if written.is_file():
        return Entry(name, written)
    home = list_path.parent
    if not written.is_absolute() and (home / written).is_file():
        return Entry(name, home / written)
    leaf = base_name(name)
    if leaf and leaf not in (".", "..") and (home / leaf).is_file():
        return Entry(name, home / leaf, beside=True)
    return Entry(name, None)


def listed_files(path: Path) -> tuple[list[Path], list[Finding]]:
    """Each distinct file a list names, and DS100/DS103/DS104 for the list itself."""
    names = read_names(path)
    problems = [] if names else [Finding.of(CANNOT_OPEN, str(path), "the list names no HDF5 file "
                                            "(Caffe: \"Must have at least 1 HDF5 filename listed\")")]
    files: dict[str, Path] = {}
    for name in dict.fromkeys(names):      # Caffe reads a repeated name twice; scan it once
        entry = resolve(name, path)
        if entry.path is None:
            problems.append(Finding.of(LIST_MISSING, str(path), f"'{name}' is not found (nor "
                                       f"'{base_name(name)}' beside the list)"))
            continue
        if entry.beside:
            problems.append(Finding.of(LIST_MOVED, str(path), f"'{name}' is not found where written; "
                                       f"scanning {entry.path} beside the list"))
        files.setdefault(os.path.realpath(entry.path), entry.path)
    return list(files.values()), problems


def inside(target: Path, home: Path) -> bool:
    """Does ``target`` (after following symlinks) lie within directory ``home``?"""
    try:
        return Path(os.path.realpath(target)).is_relative_to(os.path.realpath(home))
    except (OSError, ValueError):
        return False
