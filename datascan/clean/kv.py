"""Keyed formats (LMDB, LevelDB): walk the source in key order, drop records by ordinal,
stream the rest into the format's writer.

The walk is the scanner's own reader (the format's ``walk``) over the whole database,
so ordinals mean exactly what they meant in the scan:
an unreadable LevelDB record still takes its place, a range that cannot be walked
stops the copy. Nothing is held in memory but the writer's batch.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..codes import STORAGE_CORRUPT
from ..model import key_text
from ..sources.interface import Format, StorageDamage
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


def _walk(fmt: Format, src: Path, drops: dict[int, Drop], out: KVCopy,
          tick: Callable[[int], None]) -> Iterator[tuple[bytes, bytes]]:
    n = 0
    for item in fmt.walk(src):
        if isinstance(item, StorageDamage) and item.key is None:
            raise CleanRefused(f"{src}: {item.message}: clean cannot copy what it cannot read")
        index = out.records
        out.records += 1
        drop = drops.get(index)
        if isinstance(item, StorageDamage):   # a record whose block fails its checksum
            if drop is None:
                raise CleanRefused(f"{src}: record #{index} (key {key_text(item.key)!r}) cannot be "
                                   f"read ({item.message}) but is not to be dropped: include "
                                   f"{item.code or STORAGE_CORRUPT.code} in the checks or the report")
            _key_matches(drop, key_text(item.key), src)
            out.dropped.append((index, item.key))
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


def write_kept(fmt: Format, src: Path, tmp: Path, drops: dict[int, Drop],
               tick: Callable[[int], None], **writer) -> KVCopy:
    out = KVCopy()
    fmt.write(tmp, _walk(fmt, src, drops, out, tick), src, **writer)
    missing = [i for i in drops if i >= out.records]
    if missing:
        raise CleanRefused(f"{src}: the findings name record #{max(missing)} but the source has "
                           f"only {out.records} records: they were made for another version")
    return out


def _lookup(fmt: Format, src: Path, copy: KVCopy,
            tick: Callable[[int], None]) -> Iterator[tuple[bytes, bytes]]:
    """The dropped records again, by key: they are few, so no second full walk is needed.
    What can still be read goes to the quarantine, even a record whose checksum failed."""
    index_of = dict((key, index) for index, key in copy.dropped)
    for key, value in fmt.fetch(src, [key for _, key in copy.dropped]):
        tick(1)
        index = index_of[key]
        if value is None:
            copy.unreadable.add(index)
            continue
        copy.unreadable.discard(index)
        copy.quarantined += 1
        yield key, value


def write_quarantine(fmt: Format, src: Path, tmp: Path, copy: KVCopy,
                     tick: Callable[[int], None], **writer) -> None:
    fmt.write(tmp, _lookup(fmt, src, copy, tick), src, **writer)
