"""The text-recognition layout of an LMDB (crnn's and deep-text-recognition-benchmark's
create_dataset.py): `num-samples` (ASCII decimal), `image-%09d` and `label-%09d` for samples
1..num-samples, optionally `lexicon-%09d`. What a shard saw of it, merged without a second pass.

Each key prefix keeps the sample numbers it holds as runs [first sample, count, first
position], so a well-formed set is one run per prefix and shard, whatever its size; past
TEXT_MAX_RUNS runs (a set with that many gaps) a prefix keeps its first runs and says up to
which sample it is exact. The pairing checks (crnn.py) read it at the end of the scan.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator

from ..config import TEXT_LISTED, TEXT_MAX_RUNS
from ..structs import dataclass, field

NUM_SAMPLES = b"num-samples"
TEXT_LAYOUT = "text-recognition"    # the layout, as the report names it
LABEL, LEXICON = "label", "lexicon"
MAX_PREFIXES = 8              # distinct `word-N` prefixes followed; more are not a layout
_KEY = re.compile(rb"([A-Za-z]+)-([0-9]+)")

# What a key is in this layout (TextLayout.add's answer)
LABEL_KEY, META_KEY, DATA_KEY = "label", "meta", "data"


def parse_key(key: bytes) -> tuple[str, int, bool] | None:
    """(prefix, sample number, written as the loaders format it: %09d) or None."""
    m = _KEY.fullmatch(key)
    if m is None:
        return None
    n = int(m.group(2))
    return m.group(1).decode("ascii"), n, m.group(2) == b"%09d" % n


def sample_key(prefix: str, n: int) -> str:
    return f"{prefix}-{n:09d}"


@dataclass
class IndexRuns:
    """Sample numbers of one prefix as runs [first sample, count, first position]."""
    runs: list[list[int]] = field(default_factory=list)
    count: int = 0
    exact_to: int | None = None      # None: every run kept; else runs past this sample were dropped

    def add(self, n: int, position: int) -> None:
        self.count += 1
        last = self.runs[-1] if self.runs else None
        if last is not None and last[0] + last[1] == n and last[2] + last[1] == position:
            last[1] += 1
        else:
            self.runs.append([n, 1, position])
            if len(self.runs) > TEXT_MAX_RUNS:
                self._trim()

    def merge(self, other: IndexRuns, place: Callable[[int], int]) -> None:
        self.count += other.count
        self.runs.extend([n, c, place(p)] for n, c, p in other.runs)
        self.runs.sort()
        if other.exact_to is not None:
            self.exact_to = other.exact_to if self.exact_to is None else min(self.exact_to, other.exact_to)
        self._trim()

    def moved(self, place: Callable[[int], int]) -> None:
        self.runs = [[n, c, place(p)] for n, c, p in self.runs]

    def _trim(self) -> None:
        if len(self.runs) > TEXT_MAX_RUNS:
            del self.runs[TEXT_MAX_RUNS:]
            last = self.runs[-1][0] + self.runs[-1][1] - 1
            self.exact_to = last if self.exact_to is None else min(self.exact_to, last)

    def position(self, n: int) -> int | None:
        """Where sample n's key lies in the source; None: not held (or not kept)."""
        i = bisect_right(self.runs, [n, float("inf")]) - 1
        if i >= 0 and self.runs[i][0] <= n < self.runs[i][0] + self.runs[i][1]:
            return self.runs[i][2] + n - self.runs[i][0]
        return None

    def highest(self) -> int:
        return max((n + c - 1 for n, c, _ in self.runs), default=0)

    def within(self, lo: int, hi: int) -> Iterator[tuple[int, int, int]]:
        """(first, last, position of first) of the runs clipped to [lo, hi]."""
        for n, c, p in self.runs:
            a, b = max(n, lo), min(n + c - 1, hi)
            if a <= b:
                yield a, b, p + a - n

    def gaps(self, lo: int, hi: int) -> Iterator[tuple[int, int]]:
        """(first, last) of each range of [lo, hi] holding no sample."""
        at = lo
        for a, b, _ in self.within(lo, hi):
            if a > at:
                yield at, a - 1
            at = max(at, b + 1)
        if at <= hi:
            yield at, hi


@dataclass
class TextLayout:
    """What a shard saw of the layout: the runs of each `word-N` prefix, the `num-samples`
    value, and the first keys that are not written as the loaders format them."""
    prefixes: dict[str, IndexRuns] = field(default_factory=dict)
    num_samples: bytes | None = None        # the value (its first 64 bytes)
    num_position: int | None = None
    odd: list[tuple[int, str]] = field(default_factory=list)   # (position, key): not %09d
    odd_count: int = 0

    def add(self, key: bytes, value: bytes, position: int) -> str | None:
        """Note a key; say what it is in this layout (LABEL_KEY, META_KEY, DATA_KEY) or None."""
        if key == NUM_SAMPLES:
            self.num_samples, self.num_position = value[:64], position
            return META_KEY
        parsed = parse_key(key)
        if parsed is None:
            return None
        prefix, n, canonical = parsed
        if not canonical:
            self.odd_count += 1
            if len(self.odd) < TEXT_LISTED:
                self.odd.append((position, key.decode("ascii")))
        elif prefix in self.prefixes or len(self.prefixes) < MAX_PREFIXES:
            self.prefixes.setdefault(prefix, IndexRuns()).add(n, position)
        return LABEL_KEY if prefix == LABEL else META_KEY if prefix == LEXICON else DATA_KEY

    def merge(self, other: TextLayout, place: Callable[[int], int]) -> None:
        for prefix, runs in other.prefixes.items():
            if prefix in self.prefixes or len(self.prefixes) < MAX_PREFIXES:
                self.prefixes.setdefault(prefix, IndexRuns()).merge(runs, place)
        if other.num_samples is not None:
            self.num_samples, self.num_position = other.num_samples, place(other.num_position)
        self.odd_count += other.odd_count
        self.odd = sorted(self.odd + [(place(p), k) for p, k in other.odd])[:TEXT_LISTED]

    def moved(self, place: Callable[[int], int]) -> None:
        for runs in self.prefixes.values():
            runs.moved(place)
        if self.num_position is not None:
            self.num_position = place(self.num_position)
        self.odd = [(place(p), k) for p, k in self.odd]

    def data_prefixes(self) -> list[str]:
        """The prefixes holding the samples' inputs (image, or another name), most keys first."""
        data = [p for p in self.prefixes if p not in (LABEL, LEXICON)]
        return sorted(data, key=lambda p: (p != "image", -self.prefixes[p].count, p))

    @property
    def recognised(self) -> bool:
        """The layout, from the keys: `num-samples` beside `word-N` keys, or labels beside data."""
        if self.num_samples is not None:
            return bool(self.prefixes) or self.odd_count > 0
        return LABEL in self.prefixes and bool(self.data_prefixes())

    def count(self) -> int | None:
        """num-samples as the loaders read it (Python's int()), None when missing or not a count."""
        if self.num_samples is None:
            return None
        try:
            n = int(self.num_samples)
        except ValueError:
            return None
        return n if n >= 0 else None

    def samples(self) -> int | None:
        """Samples stored (keys of the main data prefix); None when the layout is not recognised."""
        if not self.recognised:
            return None
        data = self.data_prefixes()
        return self.prefixes[data[0]].count if data else 0
