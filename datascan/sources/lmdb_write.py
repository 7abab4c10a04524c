"""LMDB's writer (clean's copies and quarantines, the tests' datasets): a new database
from (key, value) pairs, in transactions of bounded size."""
from __future__ import annotations

from pathlib import Path

import lmdb


def write(path: Path, records, like: Path | None = None, *, batch: int = 1000,
          map_size: int = 1 << 20, batch_bytes: int = 64 << 20, subdir: bool = True) -> int:
    """Write (key, value) pairs to a new LMDB directory, doubling the map when it fills.

    The same strategy as Caffe's db_lmdb.cpp since 2016: no map size guessed up front.
    ``records`` may be any iterable: a transaction commits every ``batch`` records or
    ``batch_bytes`` bytes, whichever comes first, so memory stays bounded. Written as a
    single file (and no lock file left beside it) when ``like`` is one.
    """
    if like is not None:
        subdir = Path(like).is_dir()
    env = lmdb.open(str(path), map_size=map_size, subdir=subdir, lock=True)
    n, size, pending = 0, 0, []

    def commit() -> None:
        while True:
            try:
                with env.begin(write=True) as txn:
                    for k, v in pending:
                        txn.put(k, v)
                return
            except lmdb.MapFullError:
                env.set_mapsize(env.info()["map_size"] * 2)

    try:
        for k, v in records:
            pending.append((k, v))
            n += 1
            size += len(k) + len(v)
            if len(pending) >= batch or size >= batch_bytes:
                commit()
                pending.clear()
                size = 0
        commit()
        env.sync(True)
    finally:
        env.close()
        if not subdir:
            Path(str(path) + "-lock").unlink(missing_ok=True)
    return n
