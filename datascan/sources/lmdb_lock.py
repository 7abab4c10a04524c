"""LMDB's lock file, looked at without the LMDB library: is there a reader table this
process can use, and does another process have the environment open (a live writer)?"""
from __future__ import annotations

import fcntl
import os
import struct
from pathlib import Path

FLOCK = "hhqqixxxx"       # struct flock (Linux, 64-bit): type, whence, start, len, pid


def lock_file(path: Path) -> Path:
    return path / "lock.mdb" if path.is_dir() else Path(str(path) + "-lock")


def lockable(path: Path) -> bool | None:
    """True: lock.mdb is there and writable (the reader table can be used); None: there is
    none (nobody writes with locking; LMDB would create one beside the source); False:
    there is one this process cannot write (read-only media)."""
    lock = lock_file(path)
    if not lock.is_file():
        return None
    try:
        os.close(os.open(lock, os.O_RDWR))
    except OSError:
        return False
    return True


def in_use(path: Path) -> bool:
    """Does another process have the environment open (a writer, or a reader that could
    become one)? Every LMDB process holds a POSIX lock on the first byte of lock.mdb."""
    try:
        fd = os.open(lock_file(path), os.O_RDONLY)
    except OSError:
        return False
    try:
        query = struct.pack(FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 1, 0)   # byte 0
        return struct.unpack(FLOCK, fcntl.fcntl(fd, fcntl.F_GETLK, query))[0] != fcntl.F_UNLCK
    except OSError:
        return True     # cannot tell: assume a writer
    finally:
        os.close(fd)
