"""LMDB's B-tree read with plain file I/O: split points, damaged-page ranges and a sample.

Nothing here maps the file or calls the LMDB library. A damaged page that makes the C
library die (SIGSEGV, SIGBUS, or SIGABRT from an assertion, as ``mdb_dump`` does) is,
here, a page that fails validation. So planning (split points, the encoding sample)
cannot kill the scanning process, and when a worker does die, the page it died on
can be named by its key range from the branch pages above it.

Only the layout LMDB has used since 0.9 on 64-bit builds is read (16-byte page
header, 8-byte page numbers); anything else just yields no split points.
"""
from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from ..model import key_text
from .kv import after as after_key

MAGIC = 0xBEEFC0DE
P_BRANCH, P_LEAF, P_OVERFLOW, P_META, P_LEAF2, P_SUBP = 0x01, 0x02, 0x04, 0x08, 0x20, 0x40
F_BIGDATA = 0x01
P_INVALID = (1 << 64) - 1
CUSTOM_ORDER = 0x02 | 0x04 | 0x08   # MDB_REVERSEKEY | MDB_DUPSORT | MDB_INTEGERKEY: not memcmp order
HDR, NODE = 16, 8
MAX_SPLIT_PAGES = 4096              # branch pages read to find split points, at most


class Page(NamedTuple):    # (a NamedTuple: a frozen dataclass costs a tiny scan ~1 ms to define)
    leaf: bool
    nodes: list[tuple[bytes, int, int, int]]   # branch: (key, child page, 0, 0)
    buf: bytes                                 # leaf: (key, flags, size, data offset | overflow page)


class Unit(NamedTuple):
    """A subtree's key range [lo, hi) (None = open end); `last` is its last key when it is
    one readable leaf page, None when the page at the top of the range fails validation."""
    lo: bytes | None
    hi: bytes | None
    last: bytes | None


class Meta(NamedTuple):
    """One of LMDB's two meta pages (the live one has the higher txnid)."""
    psize: int
    flags: int          # the main database's flags (key order)
    root: int
    entries: int
    last_pg: int
    txnid: int


def magic_at(head: bytes, offset: int) -> bool:
    return len(head) >= offset + 4 and struct.unpack_from("<I", head, offset)[0] == MAGIC


def parse_meta(buf: bytes) -> Meta | None:
    """A meta page of the 64-bit layout: 16-byte page header, then MDB_meta (magic, version,
    address, mapsize, dbs[FREE] (48 bytes; md_pad holds the page size), dbs[MAIN] (pad,
    flags, depth, 3 page counts, entries, root), last_pg, txnid); None if it is not one."""
    if len(buf) < 152 or not magic_at(buf, 16):
        return None
    psize = struct.unpack_from("<I", buf, 40)[0]
    flags = struct.unpack_from("<H", buf, 92)[0]
    entries, root, last_pg, txnid = struct.unpack_from("<QQQQ", buf, 120)
    return Meta(psize, flags, root, entries, last_pg, txnid)


def live_meta(first: Meta | None, second: Meta | None) -> Meta | None:
    """The meta page LMDB reads: the valid one with the higher txnid (the first on a tie)."""
    return second if second is not None and (first is None or second.txnid > first.txnid) else first


class Tree:
    def __init__(self, file: Path):
        self.fd = os.open(file, os.O_RDONLY)
        self.size = os.fstat(self.fd).st_size
        self.root, self.psize, self.last_pg, self.ordered = P_INVALID, 4096, 0, False
        head = os.pread(self.fd, 160, 0)
        first = parse_meta(head)
        off = struct.unpack_from("<I", head, 40)[0] if len(head) >= 44 else 4096
        meta = live_meta(first, parse_meta(os.pread(self.fd, 160, off)) if off else None)
        if meta is not None:
            self.psize = meta.psize or 4096
            self.root, self.last_pg = meta.root, meta.last_pg
            self.ordered = not meta.flags & CUSTOM_ORDER

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> Tree:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------------------------- pages

    def page(self, pgno: int) -> Page | None:
        """A branch or leaf page that passes validation, else None."""
        if not self.ordered or not 2 <= pgno <= self.last_pg:   # also P_INVALID
            return None
        buf = os.pread(self.fd, self.psize, pgno * self.psize)
        if len(buf) < self.psize:
            return None
        number, _, flags, lower, upper = struct.unpack_from("<QHHHH", buf)
        kind = flags & (P_BRANCH | P_LEAF | P_OVERFLOW | P_META | P_LEAF2 | P_SUBP)
        if number != pgno or kind not in (P_BRANCH, P_LEAF):
            return None
        if not HDR < lower <= upper <= self.psize or (lower - HDR) % 2:
            return None
        nodes = []
        for off in struct.unpack_from(f"<{(lower - HDR) // 2}H", buf, HDR):
            if off < upper or off + NODE > self.psize:
                return None
            lo, hi, nflags, ksize = struct.unpack_from("<HHHH", buf, off)
            data = off + NODE + ksize
            key = buf[off + NODE:data]
            if kind == P_BRANCH:
                if data > self.psize:
                    return None
                nodes.append((key, lo | hi << 16 | nflags << 32, 0, 0))
                continue
            size = lo | hi << 16
            if nflags & F_BIGDATA:
                if data + 8 > self.psize:
                    return None
                nodes.append((key, nflags, size, struct.unpack_from("<Q", buf, data)[0]))
            elif data + size > self.psize:
                return None
            else:
                nodes.append((key, nflags, size, data))
        keys = [n[0] for n in (nodes[1:] if kind == P_BRANCH else nodes)]
        if any(a >= b for a, b in zip(keys, keys[1:])):
            return None
        return Page(kind == P_LEAF, nodes, buf)

    def value(self, page: Page, node: tuple[bytes, int, int, int]) -> bytes | None:
        """A leaf node's value, inline or from its overflow pages; None if invalid."""
        _, flags, size, where = node
        if not flags & F_BIGDATA:
            return page.buf[where:where + size]
        if not 2 <= where <= self.last_pg:
            return None
        head = os.pread(self.fd, HDR, where * self.psize)
        if len(head) < HDR:
            return None
        number, _, pflags, pages = struct.unpack_from("<QHHI", head)
        if number != where or not pflags & P_OVERFLOW or size > pages * self.psize - HDR:
            return None
        data = os.pread(self.fd, size, where * self.psize + HDR)
        return data if len(data) == size else None

    # ----------------------------------------------------------------------- operations

    def split(self, n: int) -> list[bytes]:
        """Up to n-1 separator keys from the branch pages, splitting the tree into n
        subtree-aligned ranges of near-equal record counts (B-tree pages are 1/2 to full)."""
        if n <= 1:
            return []
        level: list[tuple[bytes | None, int]] = [(None, self.root)]   # (first key, page)
        budget = MAX_SPLIT_PAGES
        while len(level) < 4 * n and budget > 0:
            deeper, grew = [], False
            for lo, pg in level:
                page = self.page(pg) if budget > 0 else None
                budget -= 1
                if page is None or page.leaf:
                    deeper.append((lo, P_INVALID))    # a leaf or an unreadable page: not expanded
                    continue
                grew = True
                deeper += [(lo if i == 0 else key, child) for i, (key, child, _, _) in enumerate(page.nodes)]
            if not grew:
                break
            level = deeper
        bounds = [level[len(level) * i // n][0] for i in range(1, n)] if len(level) > 1 else []
        return sorted({b for b in bounds if b})

    def unit(self, key: bytes | None) -> Unit:
        """The key range of the leaf page `key` belongs in, or of the highest page on the
        way down that fails validation (key None = the first page)."""
        lo = hi = None
        pg = self.root
        for _ in range(64):
            page = self.page(pg)
            if page is None:
                return Unit(lo, hi, None)
            nodes = page.nodes
            if page.leaf:
                return Unit(lo, hi, nodes[-1][0])
            i = 0
            if key is not None:
                while i + 1 < len(nodes) and nodes[i + 1][0] <= key:
                    i += 1
            lo = nodes[i][0] if i > 0 else lo
            hi = nodes[i + 1][0] if i + 1 < len(nodes) else hi
            pg = nodes[i][1]
        return Unit(lo, hi, None)

    def sound(self, max_pages: int) -> int | None:
        """The number of records when every page of the tree (at most ``max_pages``, overflow
        pages included) validates and every leaf node is a plain or big value (no dup or
        sub-database flag the C library would follow), else None: then the library may read
        nothing this walk did not check first."""
        stack, seen, count = [self.root], 0, 0
        while stack:
            page = self.page(stack.pop())
            seen += 1
            if page is None or seen > max_pages:
                return None
            if not page.leaf:
                stack.extend(child for _, child, _, _ in page.nodes)
                continue
            for node in page.nodes:
                if node[1] & ~F_BIGDATA or self.value(page, node) is None:
                    return None
                seen += -(-(node[2] + HDR) // self.psize) if node[1] & F_BIGDATA else 0
                count += 1
        return count

    def records(self) -> Iterator[tuple[bytes, bytes]]:
        """Records in key order from the leaf pages that validate, skipping the rest."""
        stack = [self.root]
        while stack:
            page = self.page(stack.pop())
            if page is None:
                continue
            if not page.leaf:
                stack.extend(child for _, child, _, _ in reversed(page.nodes))
                continue
            for node in page.nodes:
                if (value := self.value(page, node)) is not None:
                    yield node[0], value


def _text(key: bytes | None, end: str) -> str:
    return end if key is None else repr(key_text(key))


def damaged_range(file: Path, after: bytes | None,
                  at: bytes | None) -> tuple[str, bytes | None, bytes | None]:
    """Name the page a reader failed on: (message, first key it covers, key to resume from).

    `after` is the last key read before the failure (None if none was read), `at` the
    key the walk started from. The page is found from the branch pages above it, so the
    text does not depend on where a shard happened to start: every --jobs value reports
    the same finding. A resume key of None means nothing after the page can be reached.
    """
    with Tree(file) as tree:
        unit = tree.unit(after if after is not None else at)
        if after is not None and unit.last == after and unit.hi is not None:
            unit = tree.unit(unit.hi)     # `after` ended its page: the next page is the bad one
        elif after is not None:           # the reader got part way through the page(s)
            return (f"LMDB page(s) holding keys [{_text(unit.lo, 'start')}, {_text(unit.hi, 'end')}) "
                    f"are damaged after key {_text(after, '')}: the rest of their records cannot "
                    "be read and are not counted"), after_key(after), unit.hi
    return (f"LMDB page(s) holding keys [{_text(unit.lo, 'start')}, {_text(unit.hi, 'end')}) are "
            "damaged: their records cannot be read and are not counted"), unit.lo, unit.hi
