"""The same content twice, across every source of one command: copies inside a set (DS610),
the same record in two sets (DS611, train/test leakage), the same content under different
labels (DS612), found in the content hashes the workers took (content.py) once the scan's
index of them (contentindex.py) holds every source's.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np

from ..codes import DUPLICATE, LABEL_CONFLICT, LEAKAGE
from ..config import DUPLICATES_LISTED
from ..model import Finding, key_text
from .base import SUMMARY, Check
from .contentindex import SRC, ContentIndex, split_position

Describe = Callable[[int, int], tuple[str, int | None]]   # (source, shard) -> (path, base index)


def findings(contents: ContentIndex, describe: Describe, sources: list[str]) -> list[Finding]:
    """DS610/DS611/DS612, each on a record after the first of its content; at most
    DUPLICATES_LISTED per source and code by position, then a line counting the rest."""
    kept: dict[tuple[int, str], np.ndarray] = {}     # the first DUPLICATES_LISTED by position
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for e in contents.groups():
        for k, rows in (_later(e) or {}).items():
            counts[k] += len(rows)
            rows = np.concatenate([kept[k], rows]) if k in kept else rows
            if len(rows) > DUPLICATES_LISTED:
                rows = rows[np.argpartition(rows[:, 0], DUPLICATES_LISTED - 1)[:DUPLICATES_LISTED]]
            kept[k] = rows
    out = []
    for (src, code), rows in sorted(kept.items(), key=lambda kv: (kv[0][0], CODE_ORDER.index(kv[0][1]))):
        for pos, first, size, label, first_label in rows[np.argsort(rows[:, 0])].tolist():
            out.append(_finding(contents, code, pos, first, size, _float(label), _float(first_label),
                                describe))
        rest = counts[src, code] - len(rows)
        if rest:
            out.append(Finding.of(CODES_BY_NAME[code], sources[src],
                                  f"{rest} more records {_WHAT[code]} (not listed one by one)"))
    return out


def _finding(contents: ContentIndex, code: str, pos: int, first: int, size: int, label: float,
             first_label: float, describe: Describe) -> Finding:
    path, index = _where(pos, describe)
    first_path, first_index = _where(first, describe)
    fkey = key_text(contents.key_of(first))
    if fkey is not None:
        at = f"#{first_index} (key {fkey})"
    else:
        at = f"row {first_index}"
    if first_path != path:
        at = f"{first_path} {at}"
    if code == DUPLICATE.code:
        msg = f"same content as {at}; {size} records hold it"
    elif code == LEAKAGE.code:
        msg = f"same content as {at}: a record of one set is in another (train/test leakage)"
    else:
        msg = f"same content as {at}, labelled {_label(first_label)} there and " \
              f"{_label(label)} here (label noise)"
    return Finding.of(CODES_BY_NAME[code], path, msg, key=contents.key_of(pos), index=index)


CODES_BY_NAME = {c.code: c for c in (DUPLICATE, LEAKAGE, LABEL_CONFLICT)}
_WHAT = {DUPLICATE.code: "repeat the content of an earlier record of their set",
         LEAKAGE.code: "of this set are also in an earlier set (train/test leakage)",
         LABEL_CONFLICT.code: "hold the content of an earlier record under another label"}


def _where(pos: int, describe: Describe) -> tuple[str, int | None]:
    src, shard, i = split_position(pos)
    path, base = describe(src, shard)
    return path, None if base is None else base + i


def _float(bits: int) -> float:
    return float(np.int64(bits).view(np.float64))


def _label(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


CODE_ORDER = (DUPLICATE.code, LEAKAGE.code, LABEL_CONFLICT.code)


def _later(e: np.ndarray) -> dict[tuple[int, str], np.ndarray] | None:
    """The records whose content an earlier one (by position) holds, by (source, code): rows
    of (position, first's position, group size, label, first's label)."""
    if len(e) < 2:
        return None
    h = np.sort(e["h"])
    twice = h[1:] == h[:-1]
    if not twice.any():
        return None
    repeated = np.unique(h[1:][twice])
    e = e[np.isin(e["h"], repeated)]
    e = e[np.lexsort((e["pos"], e["h"]))]
    later = np.zeros(len(e), bool)
    later[1:] = e["h"][1:] == e["h"][:-1]
    starts = np.flatnonzero(~later)
    group = np.cumsum(~later) - 1
    first = starts[group]
    size = np.diff(np.append(starts, len(e)))[group]
    j = np.flatnonzero(later)
    pos, fpos = e["pos"][j], e["pos"][first[j]]
    label, flabel = e["label"][j], e["label"][first[j]]
    conflict = ~np.isnan(label) & ~np.isnan(flabel) & (label != flabel)
    code = np.where(conflict, 2, np.where((pos >> SRC) != (fpos >> SRC), 1, 0))
    rows = np.stack([pos, fpos, size[j], label.view(np.int64), flabel.view(np.int64)], axis=1)
    return {(int(src), CODE_ORDER[c]): rows[(code == c) & ((pos >> SRC) == src)]
            for src in np.unique(pos >> SRC).tolist() for c in range(3)
            if ((code == c) & ((pos >> SRC) == src)).any()}


class Duplicates(Check):
    """Records of one command compared by content (content.py hashes, taken in the workers):
    copies within a set (DS610), the same record in two sets (DS611), the same content under
    different labels (DS612)."""
    codes = (DUPLICATE, LEAKAGE, LABEL_CONFLICT)
    reads = (SUMMARY,)

    def find(self, index: ContentIndex, describe: Describe, sources: list[str]) -> list[Finding]:
        return findings(index, describe, sources)
