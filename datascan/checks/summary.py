"""What a shard reports besides its findings, for the dataset-wide checks: a summary of
bounded size, merged across shards without a second pass over the data.

ShapeTable (Datum shapes, image sizes, channel counts) keeps each shape's record count and
its first records by position; LabelCounts keeps the label histogram. Both stay bounded
whatever the data (config.py: MAX_SHAPE_GROUPS, SHAPE_REFS_TOTAL, SHAPE_REFS_CAP,
MAX_LABELS), and merging any split of the records gives what one pass over them gives.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter

from ..config import MAX_LABELS, MAX_SHAPE_GROUPS, SHAPE_REFS_CAP, SHAPE_REFS_TOTAL
from ..model import LabelStats, key_text
from ..structs import dataclass, field
from .content import ContentLog
from .meansum import MeanSums
from .textlayout import TextLayout


@dataclass
class ShapeGroup:
    """The records of one shape: how many, and the first of them by position (refs).

    Refs are kept as runs of consecutive records, [position of the first, [their keys]],
    the keys as the reader gave them (bytes; text from the per-record path) and made text
    only when read: a batch of one shape adds its records as one run, with no object per
    record, which keeps a shard's result cheap to build, send and merge."""
    count: int = 0
    runs: list[list] = field(default_factory=list)   # [first position, [key, ...]], in order
    kept: int = 0               # refs held in runs
    truncated: bool = False
    cap: int | None = None      # refs kept at most (None: SHAPE_REFS_CAP); its table only lowers it

    @property
    def full(self) -> bool:
        """No more refs are kept: further records only count."""
        return self.kept >= (SHAPE_REFS_CAP if self.cap is None else self.cap)

    @property
    def refs(self) -> list[tuple[int, str | None]]:
        """(position, key text) of each record kept, in order."""
        return [(first + i, k if k is None or isinstance(k, str) else key_text(k))
                for first, keys in self.runs for i, k in enumerate(keys)]

    def add(self, index: int, key: str | bytes | None) -> None:
        self.add_run(index, (key,))

    def add_run(self, first: int, keys: Sequence) -> None:
        """Records first, first + 1, ... with these keys: the same as add() for each."""
        self.count += len(keys)
        room = max(0, (SHAPE_REFS_CAP if self.cap is None else self.cap) - self.kept)
        if len(keys) > room:
            self.truncated, keys = True, keys[:room]
        if not keys:
            return
        last = self.runs[-1] if self.runs else None
        if last is not None and last[0] + len(last[1]) == first:
            last[1].extend(keys)
        else:
            self.runs.append([first, list(keys)])
        self.kept += len(keys)

    def last(self) -> int:
        first, keys = self.runs[-1]
        return first + len(keys) - 1

    def take(self, runs: list[list], place: Callable[[int], int]) -> None:
        """Add another group's runs, placed by `place` (see ShapeTable.merge); trim() sorts."""
        self.runs.extend([place(first), list(keys)] for first, keys in runs)
        self.kept += sum(len(keys) for _, keys in runs)

    def trim(self, cap: int, sort: bool = False) -> None:
        """Keep the first `cap` refs by position."""
        if sort:
            self.runs.sort(key=itemgetter(0))
        if self.kept > cap:
            n = 0
            for i, run in enumerate(self.runs):
                if n + len(run[1]) >= cap:
                    del run[1][cap - n:]
                    del self.runs[i + 1 if cap > n else i:]
                    break
                n += len(run[1])
            self.kept = cap
        self.cap = cap
        self.truncated = self.count > self.kept

    def moved(self, place: Callable[[int], int]) -> None:
        """Positions made final by `place` (applied to each run's first position)."""
        self.runs = [[place(first), keys] for first, keys in self.runs]


def ref_cap(groups: int) -> int:
    """Refs kept per group of a table holding `groups` groups. It never grows with `groups`,
    so a table built from part of the records kept at least what the whole one keeps."""
    return min(SHAPE_REFS_CAP, SHAPE_REFS_TOTAL // max(1, groups))


class ShapeTable(dict):
    """shape -> ShapeGroup, bounded whatever the data: at most MAX_SHAPE_GROUPS groups holding
    at most SHAPE_REFS_TOTAL refs, each group the first ref_cap(groups) of its records.

    One shape too many and the table overflows: groups and refs go, what stays is the number
    of records and the range of each dimension (enough for one finding). The union of the
    shapes decides it, so a merged table overflows iff one table over every record would."""

    def __init__(self) -> None:
        super().__init__()
        self.overflow = False
        self.dropped = 0                    # records no group holds any more (overflow)
        self.lo: tuple | None = None        # per-dimension range of the shapes dropped
        self.hi: tuple | None = None

    @property
    def records(self) -> int:
        return self.dropped + sum(g.count for g in self.values())

    def ranges(self) -> tuple[tuple, tuple]:
        """(min, max) of each dimension over every record's shape."""
        lo, hi = self.lo, self.hi
        for shape in self:
            lo, hi = _span(lo, hi, shape, shape)
        return lo, hi

    def add(self, shape, index: int, key: str | bytes | None) -> None:
        group = self.get(shape)
        if group is None:
            if self.overflow:
                self.lo, self.hi = _span(self.lo, self.hi, shape, shape)
                self.dropped += 1
                return
            group = self[shape] = ShapeGroup()
            if len(self) > MAX_SHAPE_GROUPS:
                self._overflow()
                return self.add(shape, index, key)
            self._recap()
        group.add(index, key)

    def merge(self, other: ShapeTable, place: Callable[[int], int]) -> None:
        """Add another table's records; `place` turns a ref's index into its position in the
        merged source, by which each group keeps its first refs (the same for any split).
        It must keep runs whole: place(i + k) == place(i) + k."""
        if other.overflow and not self.overflow:
            self._overflow()
        self.dropped += other.dropped
        if other.lo is not None:
            self.lo, self.hi = _span(self.lo, self.hi, other.lo, other.hi)
        for shape, theirs in other.items():
            if self.overflow:
                self.lo, self.hi = _span(self.lo, self.hi, shape, shape)
                self.dropped += theirs.count
                continue
            g = self.setdefault(shape, ShapeGroup())
            g.count += theirs.count
            if theirs.runs and not (g.full and g.runs and place(theirs.runs[0][0]) > g.last()):
                g.take(theirs.runs, place)   # (else none of theirs would displace a full
                #                              group's refs: they come after them all)
        if len(self) > MAX_SHAPE_GROUPS:
            self._overflow()
        self._recap(sort=True)

    def _recap(self, sort: bool = False) -> None:
        cap = ref_cap(len(self))
        for g in self.values():
            g.trim(cap, sort)

    def _overflow(self) -> None:
        self.lo, self.hi = self.ranges()
        self.dropped = self.records
        self.overflow = True
        self.clear()


def _span(lo, hi, low, high) -> tuple[tuple, tuple]:
    """Widen the per-dimension range (lo, hi) to take in (low, high); shapes are tuples or ints."""
    if not isinstance(low, tuple):
        low, high = (low,), (high,)
    if lo is None:
        return low, high
    return tuple(map(min, lo, low)), tuple(map(max, hi, high))


class LabelCounts:
    """label -> records, bounded: past MAX_LABELS distinct labels (labels that are record
    ids, say) only their range and the number of records stay. The union of the labels
    decides it, so merged counts overflow iff one count over every record would."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.overflow = False
        self.dropped = 0                    # records counted after the overflow
        self.lo: int | None = None          # range of the labels dropped
        self.hi: int | None = None

    def add(self, label: int, n: int = 1) -> None:
        if self.overflow:
            self._widen(label, label)
            self.dropped += n
            return
        self.counts[label] += n
        if len(self.counts) > MAX_LABELS:
            self._overflow()

    def update(self, other: LabelCounts | Mapping[int, int]) -> None:
        if isinstance(other, LabelCounts):
            if other.overflow and not self.overflow:
                self._overflow()
            if other.lo is not None:
                self._widen(other.lo, other.hi)
            self.dropped += other.dropped
            other = other.counts
        for label, n in other.items():
            self.add(label, n)

    def __bool__(self) -> bool:
        return bool(self.counts) or self.dropped > 0

    def stats(self) -> LabelStats | None:
        """The report's label block: range, distinct labels and histogram (None past MAX_LABELS)."""
        if not self:
            return None
        if self.overflow:
            return LabelStats(self.lo, self.hi, None, None,
                              note=f"more than {MAX_LABELS:,} distinct labels: histogram not kept")
        c = self.counts
        return LabelStats(min(c), max(c), len(c), {k: c[k] for k in sorted(c)})

    def _widen(self, lo: int, hi: int) -> None:
        self.lo = lo if self.lo is None else min(self.lo, lo)
        self.hi = hi if self.hi is None else max(self.hi, hi)

    def _overflow(self) -> None:
        if self.counts:
            self._widen(min(self.counts), max(self.counts))
        self.dropped += sum(self.counts.values())
        self.counts = Counter()
        self.overflow = True


@dataclass
class ShardSummary:
    """What dataset-wide checks need from a shard, merged without a second pass."""
    labels: LabelCounts = field(default_factory=LabelCounts)  # int label -> count
    shapes: ShapeTable = field(default_factory=ShapeTable)    # (c, h, w) -> records
    sizes: ShapeTable = field(default_factory=ShapeTable)     # encoded images: (h, w)
    channels: ShapeTable = field(default_factory=ShapeTable)  # encoded images: channels
    encoded: int = 0                                          # records that held an encoded image
    capped: Counter = field(default_factory=Counter)  # (path, code) -> info findings not listed
    contents: ContentLog = field(default_factory=ContentLog)  # content hashes (duplicates.py)
    mean: MeanSums | None = None                              # pixel sums, for `datascan mean`
    text: TextLayout = field(default_factory=TextLayout)      # text-recognition keys (crnn.py)

    def add_shape(self, table: ShapeTable, shape, index: int, key: str | bytes | None) -> None:
        table.add(shape, index, key)

    def tables(self) -> tuple[ShapeTable, ShapeTable, ShapeTable]:
        return self.shapes, self.sizes, self.channels

    @classmethod
    def merged(cls, parts: list[tuple[int, ShardSummary]]) -> ShardSummary:
        """One summary of (index offset, summary) pairs; refs shifted to absolute indexes."""
        out = cls()
        for offset, s in parts:
            out.merge(s, lambda i, offset=offset: i + offset)
        return out

    def merge(self, other: ShardSummary, place: Callable[[int], int], contents: bool = True) -> None:
        """Add another shard's summary; `place` turns its refs' indexes into positions in
        the source (see ShapeTable.merge). The content log is the scan's to merge
        (contentindex.ContentIndex) when ``contents`` is False."""
        if contents:
            self.contents.absorb(other.contents, place(0))
        if other.mean is not None:
            self.mean = self.mean or MeanSums()
            self.mean.merge(other.mean, place)
        self.labels.update(other.labels)
        self.text.merge(other.text, place)
        self.encoded += other.encoded
        self.capped.update(other.capped)
        for mine, theirs in zip(self.tables(), other.tables()):
            mine.merge(theirs, place)
