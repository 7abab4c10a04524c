"""LMDB: a directory holding data.mdb, or a single LMDB file. Opened read-only, through
LMDB's reader table (lock.mdb) when another process has it open and it can be opened for
writing: a live writer then never reuses a page a reader is on (MVCC). Otherwise
lock=False, so that nothing is written; a lock.mdb that cannot be written (read-only
media) is said in the report (DS108). Either way every read transaction is compared with the
one the planner saw (Shard.version): a writer's commit during the scan is DS107."""
from __future__ import annotations

import os
import threading
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import lmdb
except ImportError:     # sniff() still works; sources.get() says what to install
    lmdb = None

from ..config import ScanConfig
from ..codes import NO_READER_TABLE, TRUNCATED
from ..errors import SourceOpenError
from ..model import Finding, key_text, replace
from . import kv, lmdb_pages
from .lmdb_lock import in_use, lock_file, lockable
from .interface import KEYED, Changed, Format, Plan, Shard, StorageDamage, stat_files

NAME = "lmdb"
REOPEN_BYTES = 4 << 20    # values read per mapping of the file (see _walk)
VALIDATED_PAGES = 64      # a tree this small is validated whole while planning (Plan.validated)


def data_file(path: Path) -> Path:
    return path / "data.mdb" if path.is_dir() else path


def sniff(path: Path) -> bool:
    if path.is_dir() and (path / "data.mdb").is_file():
        return True        # the layout says LMDB, even when data.mdb is empty or damaged
    f = data_file(path)
    try:
        with open(f, "rb") as fh:
            head = fh.read(32)
    except OSError:
        return False
    return lmdb_pages.magic_at(head, 16) or lmdb_pages.magic_at(head, 12)


def read_meta(path: Path) -> lmdb_pages.Meta:
    """The live meta page, read with plain file I/O: nothing is mapped yet."""
    f = data_file(path)
    try:
        fh = open(f, "rb")
    except PermissionError as e:
        raise SourceOpenError(f"{f}: {e.strerror}") from None
    except OSError as e:
        raise SourceOpenError(f"{path}: not an LMDB ({e.strerror}: {f.name})") from None
    with fh:
        first = fh.read(4096)
        if lmdb_pages.magic_at(first, 12) and not lmdb_pages.magic_at(first, 16):
            raise SourceOpenError(
                f"{path}: LMDB written by a 32-bit build (4-byte page numbers); this 64-bit "
                "LMDB library cannot read it. Rebuild the dataset or read it with a 32-bit build.")
        m0 = lmdb_pages.parse_meta(first)
        if m0 is None:
            raise SourceOpenError(f"{path}: not an LMDB file (no valid meta page)")
        fh.seek(m0.psize)
        return lmdb_pages.live_meta(m0, lmdb_pages.parse_meta(fh.read(160)))


def _truncation(path: Path, meta: lmdb_pages.Meta) -> Finding | None:
    size = data_file(path).stat().st_size
    need = (meta.last_pg + 1) * meta.psize
    if size < need:
        return Finding.of(TRUNCATED, str(path), f"data.mdb is {size} bytes but its meta page "
                          f"needs {need} ({meta.last_pg + 1} pages of {meta.psize}): a "
                          "half-copied file; not mapped (that would kill the reader with SIGBUS)")
    return None


def open_env(path: Path) -> lmdb.Environment:
    # Through the reader table only while another process has the environment open: a
    # reader writes its slot into lock.mdb, and a dataset nobody uses stays untouched
    # (a writer that starts later changes the transaction id: DS107).
    if lockable(path) and in_use(path):
        try:
            return lmdb.open(str(path), readonly=True, lock=True, subdir=path.is_dir(),
                             readahead=False, create=False)
        except lmdb.Error:
            pass     # a lock file LMDB cannot use (another build's): read without it
    try:
        return lmdb.open(str(path), readonly=True, lock=False, subdir=path.is_dir(),
                         readahead=False, max_readers=1, create=False)
    except lmdb.Error as e:
        raise SourceOpenError(f"{path}: LMDB cannot be opened: {e}") from None


def _empty(path: Path) -> Finding | None:
    size = data_file(path).stat().st_size
    if size < 2 * 4096:    # not even the two meta pages: a copy that stopped early
        return Finding.of(TRUNCATED, str(path), f"data.mdb is {size} bytes, shorter than LMDB's "
                          "two meta pages: a half-copied or never-written file")
    return None


def plan(path: Path, config: ScanConfig, n_shards: int) -> Plan:
    if path.is_dir() and data_file(path).is_file() and (short := _empty(path)) is not None:
        return Plan(str(path), NAME, (), (short,), records=0)
    meta = read_meta(path)
    if (bad := _truncation(path, meta)) is not None:
        return Plan(str(path), NAME, (), (bad,), records=0)
    total, txnid = _state(path)   # what LMDB cannot open at all is exit 2; meta pages only
    # Split points and the encoding sample come from the pages read with plain file I/O:
    # a damaged page that would kill the LMDB library cannot kill the planner.
    with lmdb_pages.Tree(data_file(path)) as tree:
        encoding = kv.sample_encoding(tree.records())
        bounds = tree.split(n_shards)
        validated = meta.last_pg < VALIDATED_PAGES and tree.sound(VALIDATED_PAGES) == total
    notes = () if lockable(path) is not False else (Finding.of(
        NO_READER_TABLE, str(path), f"{lock_file(path).name} cannot be opened for writing: read "
        "without LMDB's reader table, not isolated from a live writer"),)
    shards = tuple(replace(s, version=txnid)
                   for s in kv.shards_from_bounds(str(path), NAME, bounds, encoding))
    return Plan(str(path), NAME, shards, notes, encoding=encoding, records=total,
                validated=validated)


def _state(path: Path) -> tuple[int, int]:
    """The record count LMDB keeps and the transaction it belongs to."""
    with _shared_env(path) as env, env.begin() as txn:
        return txn.stat(env.open_db())["entries"], txn.id()


def walk(path: Path) -> Iterator[tuple[bytes, bytes] | StorageDamage]:
    """Every record one by one, in key order (see read)."""
    return kv.flatten(read(Shard(str(path), NAME, 0)))


def read(shard: Shard, config: ScanConfig | None = None,
         size: int = kv.BATCH) -> Iterator[list[tuple[bytes, bytes]] | StorageDamage]:
    """Walk the shard's key range in batches of up to `size` records (kv.batched).
    On a page LMDB reports damaged, yield one StorageDamage naming the page's key range
    (from the branch pages above it) and go on after that page. Batches are read in C; a walk that
    fails inside a batch is walked again one record at a time from the last batch, so that
    the failure is pinned to the record after the last one read."""
    path = Path(shard.file or shard.source)
    at, begin = shard.start, True
    while begin or at is not None:
        begin = False
        last, failed, at_next = yield from _walk(path, at, shard.stop, size, shard.version)
        if not failed:
            at = at_next
            continue
        if size > 1:
            size, at = 1, (kv.after(last) if last is not None else at)
            continue
        # The message names the page, not LMDB's error: a walk that reaches the page with
        # cursor.next() and one that starts on it with set_range() may fail differently.
        message, at = kv.step_over(shard, damage(shard, last, at), last, at)
        if message is None:
            return      # the page after this range is damaged: the next shard reports it
        yield StorageDamage(message)
        if at is None:
            return


def _walk(path: Path, start: bytes | None, stop: bytes | None, size: int, version: int | None = None):
    """Yield batches from `start`; return (last key, failed, key to go on from or None).

    py-lmdb's iterator steps the cursor only when asked for the next record, so a walk
    never touches a page beyond the last record it yields, unless it takes a batch past
    `stop`: batches of one stop as soon as no key fits before `stop`.
    The environment is closed after REOPEN_BYTES of values: the mapped pages a reader
    has touched count in its RSS until they are unmapped."""
    last, nbytes = None, 0
    with _shared_env(path) as env:
        try:
            with env.begin(buffers=False) as txn:
                if version is not None and txn.id() != version:
                    yield Changed(f"transaction {txn.id()} read from key "
                                  f"{key_text(start) or 'the first key'!r}, transaction {version} when the scan "
                                  "began: a writer committed during the scan")
                cursor = txn.cursor()
                ok = cursor.set_range(start) if start is not None else cursor.first()
                for batch in kv.batched(cursor.iternext() if ok else iter(()), size):
                    if stop is not None and batch[-1][0] >= stop:
                        batch = batch[:bisect_left(batch, (stop,))]
                        if batch:
                            yield batch
                        return (batch[-1][0] if batch else last), False, None
                    yield batch
                    last = batch[-1][0]
                    if stop is not None and kv.after(last) >= stop:
                        break     # no key fits before stop: do not step onto the next page
                    nbytes += batch.nbytes
                    if nbytes >= REOPEN_BYTES:
                        return last, False, kv.after(last)
        except lmdb.Error:
            return last, True, None
    return last, False, None


_envs: dict[str, list] = {}          # real path -> [environment, readers]
_envs_lock = threading.Lock()


@contextmanager
def _shared_env(path: Path) -> Iterator[lmdb.Environment]:
    """One environment per file and process: LMDB refuses a second open of the same file
    in one process, and threads (joblib's threading backend) each walk their own shard."""
    key = os.path.realpath(data_file(path))
    with _envs_lock:
        entry = _envs.get(key)
        if entry is None:
            entry = _envs[key] = [open_env(path), 0]
        entry[1] += 1
    try:
        yield entry[0]
    finally:
        with _envs_lock:
            entry[1] -= 1
            if entry[1] == 0:
                entry[0].close()
                del _envs[key]


def damage(shard: Shard, after: bytes | None,
           at: bytes | None) -> tuple[str, bytes | None, bytes | None]:
    """The damaged page a walk of `shard` failed on (after key `after`, or on the first
    read from `at`): (message, first key it covers, key to resume from). Also used by
    the scan's recovery when the reader died instead of raising (recovery.py)."""
    return lmdb_pages.damaged_range(data_file(Path(shard.file or shard.source)), after, at)


def count(path: Path) -> int:
    """The record count LMDB keeps in its main database (no walk)."""
    env = open_env(path)
    try:
        return env.stat()["entries"]
    finally:
        env.close()


def fingerprint(path: Path) -> dict:
    """data.mdb's identity and the live meta page's transaction id and last page (lock.mdb
    changes with every reader, so it is left out)."""
    meta = read_meta(path)
    return {"files": stat_files([data_file(path)]), "txnid": meta.txnid, "last_pg": meta.last_pg}


def fetch(path: Path, keys) -> Iterator[tuple[bytes, bytes | None]]:
    """Records by key; None for a key that is not there."""
    env = open_env(path)
    try:
        with env.begin(buffers=False) as txn:
            for key in keys:
                yield key, txn.get(key)
    finally:
        env.close()


def write(path: Path, records, like: Path | None = None, **options) -> int:
    """A new LMDB of (key, value) pairs (lmdb_write.py)."""
    from .lmdb_write import write as write_lmdb
    return write_lmdb(path, records, like, **options)


FORMAT = Format(NAME, KEYED, sniff, plan, read, damage=damage, walk=walk, fetch=fetch, write=write,
                count=count, single_file=lambda path: not Path(path).is_dir(), fingerprint=fingerprint,
                errors=(lmdb.Error,) if lmdb is not None else ())
