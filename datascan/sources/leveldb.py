"""LevelDB: a directory with CURRENT and MANIFEST-*. Read through a snapshot of links."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

try:
    import plyvel
except ImportError:     # sniff() still works; sources.get() says what to install
    plyvel = None

from ..config import ScanConfig
from ..errors import SourceOpenError
from ..model import key_text
from . import kv, leveldb_tables
from .leveldb_snapshot import SKIP, check_room, files, link, snapshot
from .interface import KEYED, Format, Plan, Shard, StorageDamage, stat_files

NAME = "leveldb"
EXACT_SPLIT_BYTES = 32 << 20   # below this, split points come from counting keys (_split)
def sniff(path: Path) -> bool:
    return path.is_dir() and (path / "CURRENT").is_file() and any(path.glob("MANIFEST-*"))


def _open(shown: Path, snap: Path) -> plyvel.DB:
    try:
        return plyvel.DB(str(snap), create_if_missing=False)
    except (plyvel.Error, OSError) as e:
        raise SourceOpenError(f"{shown}: LevelDB cannot be opened: {e}") from None


@contextmanager
def open_db(path: Path, shared: str | None = None) -> Iterator[plyvel.DB]:
    """The database, opened through a private view: of the source, or (``shared``, a
    snapshot the scan made once, its log already replayed) a view of that snapshot made of
    links, so that workers copy nothing."""
    base = shared if shared is not None and os.path.isdir(shared) else None
    with snapshot(Path(base) if base else path, base) as snap:
        db = _open(path, snap)
        try:
            yield db
        finally:
            db.close()


def shared_snapshot(path: Path) -> Path:
    """One snapshot for the whole scan (the planner's): opened once here, so its log is
    replayed into a table, then closed; each worker reads a view of it (open_db). The
    scan removes it (Plan.scratch)."""
    snap = Path(tempfile.mkdtemp(prefix="datascan-snap-"))
    try:
        entries = files(path)
        check_room(path, entries, None)
        for entry in entries:
            link(entry, snap)
        _open(path, snap).close()
    except BaseException as e:
        shutil.rmtree(snap, ignore_errors=True)
        if isinstance(e, OSError):
            raise SourceOpenError(f"{path}: cannot make a snapshot of the LevelDB in "
                                  f"{snap.parent}: {e.strerror or e}") from None
        raise
    return snap


def plan(path: Path, config: ScanConfig, n_shards: int) -> Plan:
    shared = shared_snapshot(path)
    try:
        return _plan(path, n_shards, str(shared))
    except BaseException:
        shutil.rmtree(shared, ignore_errors=True)
        raise


def _plan(path: Path, n_shards: int, shared: str) -> Plan:
    with open_db(path, shared) as db:
        try:
            encoding = kv.sample_encoding(db.iterator(fill_cache=False))
        except plyvel.Error:
            encoding = "unknown"
        bounds: list[bytes] = []
        total = None
        if n_shards > 1:
            try:
                bounds, total = _split(db, n_shards)
            except plyvel.Error:
                bounds = []
    shards = tuple(replace(s, view=shared) for s in kv.shards_from_bounds(str(path), NAME, bounds,
                                                                           encoding))
    return Plan(str(path), NAME, shards, encoding=encoding, records=total, scratch=(shared,))


def _split(db: plyvel.DB, n_shards: int) -> tuple[list[bytes], int | None]:
    """Split points, and the record count when they came from counting keys.

    A small database is split exactly by a key-only pass. A large one is split by
    bisecting the key space with approximate_size, which reads table indexes only:
    a key-only pass would read every block, values included, before the scan does."""
    first = next(db.iterator(include_value=False, fill_cache=False), None)
    last = next(db.iterator(reverse=True, include_value=False, fill_cache=False), None)
    if first is None or last is None or first == last:     # (None: a damaged table, see read)
        return [], None
    if db.approximate_size(first, kv.after(last)) >= EXACT_SPLIT_BYTES:
        return kv.split_by_size(db.approximate_size, first, last, n_shards), None
    keys = list(db.iterator(include_value=False, fill_cache=False))
    return kv.split_keys(iter(keys), len(keys), n_shards), len(keys)


def walk(path: Path) -> Iterator[tuple[bytes, bytes] | StorageDamage]:
    """Every record one by one, in key order (see read)."""
    return kv.flatten(read(Shard(str(path), NAME, 0)))


def read(shard: Shard, config: ScanConfig | None = None,
         size: int = kv.BATCH) -> Iterator[list[tuple[bytes, bytes]] | StorageDamage]:
    """The shard's records in batches of up to `size` (kv.batched), read in C."""
    path = Path(shard.file or shard.source)
    with open_db(path, shard.view) as db:
        yield from _read_range(db, shard, size)


def _read_range(db: plyvel.DB, shard: Shard, size: int) -> Iterator[list | StorageDamage]:
    """Walk the range with block checksums verified (Caffe never verifies them).

    On a bad block, walk on without verification to learn which keys sit in it,
    re-reading each with verification: the ones that fail are DS101, the first one
    that reads clean resumes the verified walk. A bad block met inside a batch is
    first walked to again one record at a time, to know the last record read.
    """
    start, stop = shard.start, shard.stop
    while True:
        last = None
        try:
            records = db.iterator(start=start, stop=stop, verify_checksums=True, fill_cache=False)
            for batch in kv.batched(records, size):
                yield batch
                last = batch[-1][0]
            # An iterator that could not start on a damaged block ends without an error:
            # the tables say whether the walk stopped short.
            why = leveldb_tables.missed(db, start, stop, last, plyvel.CorruptionError)
            if why is not None:
                where = f"after key {key_text(last)!r}" if last is not None else \
                    (f"from key {key_text(start)!r}" if start is not None else "from the start")
                yield StorageDamage(f"LevelDB stopped reading {where}: {why}; the records "
                                    "after it in this range are not read and not counted")
            return
        except plyvel.CorruptionError as e:
            resume = kv.after(last) if last is not None else start
            if size > 1:
                start, size = resume, 1
                continue
            start = yield from _skip_damage(db, resume, stop, e)
            if start is None:
                return


def _skip_damage(db: plyvel.DB, start: bytes | None, stop: bytes | None, err: Exception):
    """Yield damage for each record of the bad block; return the key to resume from, or None."""
    try:
        for key in db.iterator(start=start, stop=stop, include_value=False, fill_cache=False):
            try:
                db.get(key, verify_checksums=True, fill_cache=False)
            except plyvel.CorruptionError as e:
                yield StorageDamage(f"LevelDB block unreadable: {_reason(e)}", key=key, done=1)
                continue
            return key
        return None
    except plyvel.Error as e:
        where = f"after key {key_text(start)!r}" if start else "from the start of the range"
        yield StorageDamage(f"LevelDB cannot read past the damaged block {where} "
                            f"({_reason(err)}; {_reason(e)}); the rest of this range is unreadable")
        return None


def _reason(e: Exception) -> str:
    arg = e.args[0] if e.args else e
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


def fingerprint(path: Path) -> dict:
    """Every file but LOCK and the info logs (which an open by another reader rewrites), and
    the MANIFEST that CURRENT names: a new table, a compaction or a log append changes it.
    LevelDB never writes a file in place (tables are immutable, the log and MANIFEST only
    grow), but anything else may (a copy gone wrong, `dd`, bit rot "repaired" with touch -r):
    "~ctime" is there for that. A scan's own snapshot changes the ctimes (its hard links), so
    they sit under a "~" key: what a scan changes, compared from one scan's end to the next
    lookup, not across a scan (interface.py)."""
    files = sorted(p for p in path.iterdir() if p.is_file() and p.name not in SKIP
                   and not p.name.startswith("LOG"))
    stats = stat_files(files)
    return {"files": {f: st[:4] for f, st in stats.items()},
            "~ctime": {f: st[4] for f, st in stats.items()},
            "current": (path / "CURRENT").read_text(errors="replace")}


def fetch(path: Path, keys) -> Iterator[tuple[bytes, bytes | None]]:
    """Records by key, unverified (what can still be read); None for one that cannot."""
    with open_db(path) as db:
        for key in keys:
            try:
                yield key, db.get(key, fill_cache=False)
            except plyvel.Error:
                yield key, None


def write(path: Path, records, like: Path | None = None, *, batch: int = 1000,
          batch_bytes: int = 64 << 20) -> int:
    """Write (key, value) pairs to a new LevelDB directory in write batches (Caffe's settings).

    ``records`` may be any iterable: a batch is written every ``batch`` records or
    ``batch_bytes`` bytes, whichever comes first, so memory stays bounded.
    """
    db = plyvel.DB(str(path), create_if_missing=True, error_if_exists=True,
                   write_buffer_size=64 << 20, block_size=65536)
    n = size = 0
    try:
        wb = db.write_batch(sync=False)
        for k, v in records:
            wb.put(k, v)
            n += 1
            size += len(k) + len(v)
            if n % batch == 0 or size >= batch_bytes:
                wb.write()
                wb = db.write_batch(sync=False)
                size = 0
        wb.write()
        db.compact_range()   # flush the memtable into tables: readers need no log replay
    finally:
        db.close()
    return n


FORMAT = Format(NAME, KEYED, sniff, plan, read, walk=walk, fetch=fetch, write=write,
                single_file=lambda path: False, fingerprint=fingerprint, errors=(plyvel.Error,) if plyvel is not None else ())
