"""LMDB and LevelDB: walk the source in key order, drop records by ordinal, stream the rest.

The walk is the scanner's own reader (``iter_records`` of the format module) over one
shard spanning the database, so ordinals mean exactly what they meant in the scan:
an unreadable LevelDB record still takes its place, a range that cannot be walked
stops the copy. Nothing is held in memory but the writer's batch.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from ..model import Finding, key_text
from ..sources.interface import Shard
from .drops import Drop
from .errors import CleanRefused

TICK = 1024


@dataclass
class KVCopy:
    records: int = 0                                   # records the source holds
    kept: int = 0
    dropped: list[tuple[int, bytes]] = field(default_factory=list)   # (ordinal, raw key)
    quarantined: int = 0
    unreadable: set[int] = field(default_factory=set)  # dropped, but their value cannot be read


def _key_matches(drop: Drop, key: str | None, src: Path) -> None:
    if drop.key is not None and key is not None and drop.key != key:
        raise CleanRefused(f"{src}: record #{drop.index} has key {key!r}, the findings say "
                           f"{drop.key!r}: they were made for another source or version")


def _walk(module: ModuleType, src: Path, drops: dict[int, Drop], out: KVCopy,
          tick: Callable[[int], None]) -> Iterator[tuple[bytes, bytes]]:
    shard = Shard(source=str(src), format=module.NAME, shard_id=0)
    n = 0
    for item in module.iter_records(shard):
        if isinstance(item, Finding) and item.key is None:
            raise CleanRefused(f"{src}: {item.message}: clean cannot copy what it cannot read")
        index = out.records
        out.records += 1
        drop = drops.get(index)
        if isinstance(item, Finding):   # a record whose block fails its checksum
            if drop is None:
                raise CleanRefused(f"{src}: record #{index} (key {item.key!r}) cannot be read "
                                   f"({item.message}) but is not to be dropped: "
                                   "include DS101 in the checks or the report")
            _key_matches(drop, item.key, src)
            out.dropped.append((index, _raw_key(item.key)))
            out.unreadable.add(index)
        else:
            key, value = item
            if drop is None:
                out.kept += 1
                yield key, value
            else:
                _key_matches(drop, key_text(key), src)
                out.dropped.append((index, key))
        n += 1
        if n == TICK:
            tick(n)
            n = 0
    tick(n)


def _raw_key(text: str) -> bytes:
    if text.startswith("hex:"):
        try:
            return bytes.fromhex(text[4:])
        except ValueError:
            pass
    return text.encode("utf-8")


def write_kept(module: ModuleType, src: Path, tmp: Path, drops: dict[int, Drop],
               tick: Callable[[int], None], **writer) -> KVCopy:
    out = KVCopy()
    module.write(tmp, _walk(module, src, drops, out, tick), **writer)
    missing = [i for i in drops if i >= out.records]
    if missing:
        raise CleanRefused(f"{src}: the findings name record #{max(missing)} but the source has "
                           f"only {out.records} records: they were made for another version")
    return out


def _lookup(module: ModuleType, src: Path, copy: KVCopy,
            tick: Callable[[int], None]) -> Iterator[tuple[bytes, bytes]]:
    """The dropped records again, by key: they are few, so no second full walk is needed."""
    if module.NAME == "lmdb":
        env = module.open_env(src)
        try:
            with env.begin(buffers=False) as txn:
                for index, key in copy.dropped:
                    value = None if index in copy.unreadable else txn.get(key)
                    tick(1)
                    if value is None:
                        copy.unreadable.add(index)
                        continue
                    copy.quarantined += 1
                    yield key, value
        finally:
            env.close()
        return
    import plyvel
    with module.open_db(src) as db:
        for index, key in copy.dropped:
            try:
                value = db.get(key, fill_cache=False)   # unverified: keep what can be read
            except plyvel.Error:
                value = None
            tick(1)
            if value is None:
                copy.unreadable.add(index)
                continue
            copy.unreadable.discard(index)
            copy.quarantined += 1
            yield key, value


def write_quarantine(module: ModuleType, src: Path, tmp: Path, copy: KVCopy,
                     tick: Callable[[int], None], **writer) -> None:
    module.write(tmp, _lookup(module, src, copy, tick), **writer)
