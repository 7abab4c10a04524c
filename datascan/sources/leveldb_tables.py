"""What LevelDB's version set says of its tables (the ``leveldb.sstables`` property): each
table's file number and its smallest and largest keys.

A verified iterator that meets a damaged block it cannot even start on (the first data
block of a table, its index block) ends quietly: plyvel does not raise the iterator's
status. A walk that ended early would then pass data it never read. The tables say
whether keys lie beyond where a walk ended; reading those keys says why they were missed.
"""
from __future__ import annotations

import re

from ..model import key_text

# " 5:5950['00000000' @ 1 : 1 .. '00000299' @ 300 : 1]" (version_set.cc, DebugString);
# keys are printed with bytes outside ' '..'~' as \xNN (AppendEscapedStringTo).
_TABLE = re.compile(rb"^ (\d+):\d+\['(.*)' @ \d+ : \d+ \.\. '(.*)' @ \d+ : \d+\]$")
_ESCAPED = re.compile(rb"\\x([0-9a-f]{2})")


def _unescape(text: bytes) -> bytes:
    return _ESCAPED.sub(lambda m: bytes([int(m[1], 16)]), text)


def tables(db) -> list[tuple[int, bytes, bytes]]:
    """(file number, smallest key, largest key) of every live table, by smallest key."""
    text = db.get_property(b"leveldb.sstables") or b""
    out = [(int(m[1]), _unescape(m[2]), _unescape(m[3]))
           for m in map(_TABLE.match, text.split(b"\n")) if m]
    return sorted(out, key=lambda t: t[1])


def missed(db, start: bytes | None, stop: bytes | None, last: bytes | None,
           corrupt: type[BaseException]) -> str | None:
    """Why a verified walk of [start, stop) that ended after key `last` (None: nothing read)
    missed records the tables hold, or None when it missed none. A table's boundary keys
    beyond `last` are read back: damage there raises, and a key that is there was skipped
    (a boundary key that is gone is a deletion: nothing was missed)."""
    for number, lo, hi in tables(db):
        for key in (lo, hi):
            if (start is not None and key < start) or (stop is not None and key >= stop) \
                    or (last is not None and key <= last):
                continue
            where = f"table {number:06d} (keys {key_text(lo)!r}..{key_text(hi)!r})"
            try:
                value = db.get(key, verify_checksums=True, fill_cache=False)
            except corrupt as e:
                arg = e.args[0] if e.args else e
                why = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
                return f"{where} cannot be read: {why}"
            if value is not None:
                return f"{where} holds key {key_text(key)!r}, which the walk did not reach"
    return None
