"""Batched checks for plain raw uint8 Datums: the common case of a converted dataset, checked
with numpy over a batch of records instead of one protobuf parse per record.

A Datum that convert_imageset or pycaffe wrote is a fixed byte layout: fields 1-3
(channels, height, width), field 4's tag and length, the pixels, field 5 (label) and maybe
field 7 (encoded: false). `Layout.learn` reads that layout off one record the protobuf
parser accepted. A record with the same length whose bytes outside the pixels and the label
are equal to the learnt ones *is* that Datum with other pixels and another label: it parses
to the same fields, so it gets the same checks. The pixels are uint8 (no NaN to find) and
only the pixel checks (checks/base.py: reads_pixels) look at them; the label only needs its
range checked (labels.py).

The batch path therefore only has to prove a record clean. It sends every record it cannot
prove clean (another layout, a label out of range, a negative label's 10-byte varint, pixels
a pixel check's ``clean_rows`` does not clear, such as a bottom row of gray 128s) through the
per-record checks, so the findings, their messages and the dataset summary are exactly what
the per-record path gives. It can only prove what it is told how to prove: while a registered
pixel check has no ``clean_rows``, ``RawBatches.proving`` refuses and every record takes the
per-record path, where that check runs.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..decode import datum as dm
from ..structs import dataclass
from .base import Check
from .content import raw_head, varint
from .labels import LabelRange

LEARN_TRIES = 4          # records of one length tried before it is left to the per-record path
MAX_LAYOUTS = 16         # record lengths tried per shard (a raw set of mixed sizes has several)
_TAILS = (b"", b"\x38\x00")   # what may follow the label: nothing, or encoded=false


@dataclass(frozen=True)
class Layout:
    """Where things are in one record length's worth of raw Datum bytes."""
    shape: tuple[int, int, int]
    head: np.ndarray        # bytes before the pixels: fields 1-3, then 0x22 + pixel count
    label_at: int           # offset of the label's varint (after its 0x28 tag)
    label_len: int          # 1 (labels 0..127) or 2 (128..16383) bytes
    tail: np.ndarray        # bytes after the label

    @property
    def length(self) -> int:
        return self.label_at + self.label_len + self.tail.size

    @property
    def pixels(self) -> slice:
        """Where the pixels are in a record of this layout."""
        start = len(self.head)
        return slice(start, self.label_at - 1)

    @classmethod
    def learn(cls, value: bytes) -> Layout | None:
        """The layout of `value` if it is a plain raw uint8 Datum the parser accepts."""
        try:
            s = dm.parse(value, dm.DATUM)
        except dm.DatumError:
            return None
        c, h, w = s.channels, s.height, s.width
        if s.encoded or s.float_data is not None or s.label is None or not 0 <= s.label < 1 << 14 \
                or min(c, h, w) <= 0 or len(s.data) != c * h * w:
            return None
        head = raw_head((c, h, w), len(s.data))
        label = b"\x28" + varint(s.label)
        tail = value[len(head) + len(s.data) + len(label):]
        if value != head + s.data + label + tail or tail not in _TAILS:
            return None
        return cls((c, h, w), np.frombuffer(head, np.uint8), len(head) + len(s.data) + 1,
                   len(label) - 1, np.frombuffer(tail, np.uint8))

    def match(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mask of rows proven to be this layout, their labels)."""
        at = self.label_at
        ok = rows_equal(rows, 0, self.head.tobytes())
        ok &= rows[:, at - 1] == 0x28
        if self.tail.size:
            ok &= (rows[:, at + self.label_len:] == self.tail).all(axis=1)
        first = rows[:, at].astype(np.int64)
        if self.label_len == 1:
            ok &= first < 0x80
            labels = first
        else:
            second = rows[:, at + 1].astype(np.int64)
            ok &= (first >= 0x80) & (second < 0x80)
            labels = (first & 0x7F) | (second << 7)
        return ok, labels


def rows_equal(rows: np.ndarray, start: int, expected: bytes) -> np.ndarray:
    """Which rows of a 2-D uint8 array hold `expected` at column `start`: compared 8 bytes
    at a time (unaligned uint64 views, the last one overlapping), five times fewer
    operations than a (rows, len) comparison reduced along its short axis."""
    n = len(expected)
    if n < 8 or rows.shape[1] < start + n:
        return (rows[:, start:start + n] == np.frombuffer(expected, np.uint8)).all(axis=1)
    ok = None
    for at in sorted({*range(0, n - 8, 8), n - 8}):
        word = int.from_bytes(expected[at:at + 8], "little")
        same = rows[:, start + at:start + at + 8].view("<u8")[:, 0] == np.uint64(word)
        ok = same if ok is None else ok & same
    return ok


class RawBatches:
    """Proves records of a raw Datum dataset clean a batch at a time (see the module doc)."""

    def __init__(self, pixel_checks: Sequence[Check], summary, labels: LabelRange):
        assert all(c.proves_batches() for c in pixel_checks), "use RawBatches.proving"
        self.pixel_checks, self.summary, self.labels = pixel_checks, summary, labels
        self.layouts: dict[int, Layout] = {}
        self.tries: dict[int, int] = {}      # record length -> records it was tried on
        self.label_ok: dict[int, bool] = {}

    @classmethod
    def proving(cls, pixel_checks: Sequence[Check], summary, labels: LabelRange) -> RawBatches | None:
        """A prover for these pixel checks (the registry's), or None when one of them has no
        batched proof: a record proven clean without it would never be looked at."""
        if not all(check.proves_batches() for check in pixel_checks):
            return None
        return cls(pixel_checks, summary, labels)

    @property
    def useless(self) -> bool:
        """Every record length tried failed (encoded images, float Datums): stop trying."""
        return not self.layouts and len(self.tries) >= MAX_LAYOUTS

    def _learnable(self, n: int) -> bool:
        return n not in self.layouts and self.tries.get(n, 0) < LEARN_TRIES and \
            (n in self.tries or len(self.tries) < MAX_LAYOUTS)

    def layout(self, values: Sequence[bytes], idx: np.ndarray) -> Layout | None:
        """The layout of the records values[idx] (all of one length), learnt from the first
        that has one: the first record of a length may be a bad one (no label, say)."""
        n = len(values[idx[0]])
        if not self._learnable(n):
            return self.layouts.get(n)
        for i in idx.tolist():
            if not self._learnable(n):
                break
            self.tries[n] = self.tries.get(n, 0) + 1
            if (layout := Layout.learn(values[i])) is not None:
                self.layouts[n] = layout
        return self.layouts.get(n)

    def _labels_ok(self, labels: np.ndarray) -> np.ndarray:
        """Labels are 1- or 2-byte varints (below 1 << 15): a table indexed by label says
        which are in range. (np.unique and np.isin would import numpy.ma, 12 ms a worker.)"""
        seen = np.flatnonzero(np.bincount(labels)).tolist()
        for x in seen:
            if x not in self.label_ok:
                self.label_ok[x] = not self.labels.outside(x)
        bad = [x for x in seen if not self.label_ok[x]]
        if not bad:
            return np.ones(labels.shape, bool)
        table = np.ones(seen[-1] + 1, bool)
        table[bad] = False
        return table[labels]

    def prove(self, values: Sequence[bytes]) -> tuple[np.ndarray, Counter, np.ndarray]:
        """(mask of the records proven clean, how many of them have each shape, the label
        of each, -1 where not proven). Their labels are counted in the summary; their shapes
        are the caller's to add, in record order, so that shape refs are those of the
        per-record path."""
        fast = np.zeros(len(values), bool)
        found = np.full(len(values), -1, np.int64)
        shapes: Counter = Counter()
        lengths = list(map(len, values))
        every = np.arange(len(values))
        distinct = set(lengths)
        if len(distinct) > 1:
            lengths = np.array(lengths, np.int64)
        for length in sorted(distinct):
            if length not in self.layouts and not self._learnable(length):
                continue
            idx = every if len(distinct) == 1 else np.flatnonzero(lengths == length)
            layout = self.layout(values, idx)
            if layout is None:
                continue
            group = values if idx.size == len(values) else [values[i] for i in idx.tolist()]
            rows = np.frombuffer(b"".join(group), np.uint8).reshape(idx.size, length)
            ok, labels = layout.match(rows)
            pixels = rows[:, layout.pixels]
            for check in self.pixel_checks:
                ok &= check.clean_rows(pixels, layout.shape)
            ok &= self._labels_ok(labels)
            labels = labels[ok]
            found[idx[ok]] = labels
            if labels.size:
                lo = int(labels.min())
                counts = np.bincount(labels - lo)
                for k in np.flatnonzero(counts).tolist():
                    self.summary.labels.add(k + lo, int(counts[k]))
                fast[idx[ok]] = True
                shapes[layout.shape] += labels.size
        return fast, shapes, found
