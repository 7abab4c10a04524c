"""LMDB: a directory holding data.mdb, or a single LMDB file. Opened read-only, lock=False."""
from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import lmdb

from ..config import ScanConfig
from ..errors import SourceOpenError
from ..model import Finding
from . import kv
from .interface import Plan, Shard, ShardResult

NAME = "lmdb"
MAGIC = 0xBEEFC0DE


@dataclass(frozen=True)
class Meta:
    psize: int
    last_pg: int
    txnid: int
    entries: int


def data_file(path: Path) -> Path:
    return path / "data.mdb" if path.is_dir() else path


def _magic_at(head: bytes, offset: int) -> bool:
    return len(head) >= offset + 4 and struct.unpack_from("<I", head, offset)[0] == MAGIC


def sniff(path: Path) -> bool:
    f = data_file(path)
    try:
        with open(f, "rb") as fh:
            head = fh.read(32)
    except OSError:
        return False
    return _magic_at(head, 16) or _magic_at(head, 12)


def _meta(buf: bytes) -> Meta | None:
    # 64-bit layout: 16-byte page header, then MDB_meta (magic, version, address, mapsize,
    # dbs[FREE] (48 bytes; md_pad holds the page size), dbs[MAIN], last_pg, txnid).
    if len(buf) < 152 or not _magic_at(buf, 16):
        return None
    psize = struct.unpack_from("<I", buf, 40)[0]
    entries = struct.unpack_from("<Q", buf, 120)[0]
    last_pg, txnid = struct.unpack_from("<QQ", buf, 136)
    return Meta(psize, last_pg, txnid, entries)


def read_meta(path: Path) -> Meta:
    """The live meta page, read with plain file I/O: nothing is mapped yet."""
    f = data_file(path)
    with open(f, "rb") as fh:
        first = fh.read(4096)
        if _magic_at(first, 12) and not _magic_at(first, 16):
            raise SourceOpenError(
                f"{path}: LMDB written by a 32-bit build (4-byte page numbers); this 64-bit "
                "LMDB library cannot read it. Rebuild the dataset or read it with a 32-bit build.")
        m0 = _meta(first)
        if m0 is None:
            raise SourceOpenError(f"{path}: not an LMDB file (no valid meta page)")
        fh.seek(m0.psize)
        m1 = _meta(fh.read(160))
    return m1 if m1 is not None and m1.txnid > m0.txnid else m0


def _truncation(path: Path, meta: Meta) -> Finding | None:
    size = data_file(path).stat().st_size
    need = (meta.last_pg + 1) * meta.psize
    if size < need:
        return Finding.of("DS102", str(path), f"data.mdb is {size} bytes but its meta page "
                          f"needs {need} ({meta.last_pg + 1} pages of {meta.psize}): a "
                          "half-copied file; not mapped (that would kill the reader with SIGBUS)")
    return None


def open_env(path: Path) -> lmdb.Environment:
    try:
        return lmdb.open(str(path), readonly=True, lock=False, subdir=path.is_dir(),
                         readahead=False, max_readers=1, create=False)
    except lmdb.Error as e:
        raise SourceOpenError(f"{path}: LMDB cannot be opened: {e}") from None


def plan(path: Path, config: ScanConfig, n_shards: int) -> Plan:
    meta = read_meta(path)
    if (bad := _truncation(path, meta)) is not None:
        return Plan(str(path), NAME, (), (bad,), records=0)
    env = open_env(path)
    try:
        with env.begin(buffers=False) as txn:
            total = txn.stat()["entries"]
            encoding = kv.sample_encoding(txn.cursor().iternext())
            cursor = txn.cursor()
            bounds = kv.split_keys(cursor.iternext(keys=True, values=False), total, n_shards)
    except lmdb.Error as e:
        # Damage in the first pages: one shard that reports it, instead of giving up here.
        encoding, bounds = "unknown", []
        total = meta.entries
        _ = e
    finally:
        env.close()
    return Plan(str(path), NAME, kv.shards_from_bounds(str(path), NAME, bounds, encoding),
                encoding=encoding, records=total)


def iter_records(shard: Shard) -> Iterator[tuple[bytes, bytes] | Finding]:
    path = Path(shard.file or shard.source)
    env = open_env(path)
    last = None
    try:
        with env.begin(buffers=False) as txn:
            cursor = txn.cursor()
            ok = cursor.set_range(shard.start) if shard.start is not None else cursor.first()
            while ok:
                key = cursor.key()
                if shard.stop is not None and key >= shard.stop:
                    break
                yield key, cursor.value()
                last = key
                ok = cursor.next()
    except lmdb.Error as e:
        where = f"after key {kv_text(last)}" if last is not None else "at the start of the range"
        yield Finding.of("DS101", shard.source, f"LMDB read failed {where}; the rest of "
                         f"{_range_text(shard)} is unreadable: {e}")
    finally:
        env.close()


def kv_text(key: bytes) -> str:
    from ..model import key_text
    return repr(key_text(key))


def _range_text(shard: Shard) -> str:
    if shard.start is None and shard.stop is None:
        return "the database"
    return f"keys [{kv_text(shard.start) if shard.start else 'start'}, " \
           f"{kv_text(shard.stop) if shard.stop else 'end'})"


def run(shard: Shard, config: ScanConfig) -> ShardResult:
    return kv.run_records(shard, config, iter_records(shard))


def write(path: Path, records, *, batch: int = 1000, map_size: int = 1 << 20,
          batch_bytes: int = 64 << 20, subdir: bool = True) -> int:
    """Write (key, value) pairs to a new LMDB directory, doubling the map when it fills.

    The same strategy as Caffe's db_lmdb.cpp since 2016: no map size guessed up front.
    ``records`` may be any iterable: a transaction commits every ``batch`` records or
    ``batch_bytes`` bytes, whichever comes first, so memory stays bounded.
    """
    env = lmdb.open(str(path), map_size=map_size, subdir=subdir, lock=True)
    n, size, pending = 0, 0, []

    def commit() -> None:
        nonlocal env
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
    return n
