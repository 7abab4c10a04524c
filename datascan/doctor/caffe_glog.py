"""The Caffe glog dialect: the lines of `caffe train` (any Caffe version, NVCaffe, SSD and
DIGITS wrappers) as typed events, in one pass with bounded memory.

Matched on the message text, never on file:line (they differ between versions and forks;
../shared/doctor/CAFFE_LOG_FORMATS.md). A glog prefix is `[IWEF]<date> <time> <thread>
<file>:<line>] ` with any date form (mmdd, yyyymmdd); lines without it are protobuf text
continuing a block, or other programs' output (libjpeg, bash `+ `, the shell's
`Aborted (core dumped)`). Runs appended to one file are split where a new solver starts.
A new dialect (another framework's log) is one more module yielding the same events.

Speed: a debug_info log is mostly lines like `[Forward] Layer conv1, top blob conv1 data:
0.0641`, finite and small. One compiled regex classifies a chunk's lines in C (``_KEYS``);
those lines are only counted per blob (DebugRun), everything else goes through
``_Dialect.line`` (caffe_lines.py's parsers), with the same events as line by line.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator

from .caffe_lines import (CHECK, CLIP, DEATH, Block, checked_event, debug_event, describe,
                          iteration_events, norms_event, number, output_event, split_prefix)
from .events import (Clipping, Debug, DebugRun, Done, ErrorLine, Event, Fatal, Loss, Resumed,
                     RunStart, Solving, TestStart)

__all__ = ["Reader", "events", "number", "split_prefix"]

CHUNK_LINES = 8192           # lines of a plain iterable joined into one chunk
# A value float() reads as finite, 0 < v < 1e3 (6 significant digits as C++ prints them).
_SMALL = (r"(?:[1-9]\d{0,2}(?:\.\d{0,6})?|0\.0{0,6}[1-9]\d{0,6}"
          r"|[1-9](?:\.\d{0,6})?e-(?:0?\d{1,2}|[12]\d\d|30\d))")
# One entry per line: the key of a train-net debug line the hot path would read with such a
# value (no ':' in it), "" for any other line.
_KEYS = re.compile(r"^(?:[^\n]\d[^\n\]]{0,197}\]     (\[(?:Forw|Backw)ard\] Layer [^\n:]*+)"
                   r": " + _SMALL + r"|[^\n]*+)$", re.M | re.A)    # ASCII digits: a subset


class Reader:
    """The events of a Caffe log, given its lines (an iterable of str without newlines, or a
    logfile.LogLines, read in chunks); ``last`` is the line read last: an event is made right
    after its line, so it is the line a finding quotes."""

    def __init__(self, lines: Iterable[str], *, counted: bool = True):
        self.lines = lines
        self.last = ""
        self.counted = counted    # False: every debug line as its own Debug event

    def current(self) -> str:
        return self.last

    def __iter__(self) -> Iterator[Event]:
        return _events(_chunks(self.lines), self, self.counted)


def events(lines: Iterable[str]) -> Iterator[Event]:
    """The events of a Caffe log, given its lines (without newlines), one per line in log
    order (no DebugRun)."""
    return _events(_chunks(lines), None, False)


def _chunks(lines) -> Iterator[str]:
    """Text of whole lines joined by newlines (no newline at the end of a chunk)."""
    chunks = getattr(lines, "chunks", None)
    if chunks is not None:
        yield from chunks()
        return
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= CHUNK_LINES:
            yield "\n".join(batch)
            batch = []
    if batch:
        yield "\n".join(batch)


def _events(chunks: Iterable[str], reader: Reader | None, counted: bool) -> Iterator[Event]:
    """Each chunk: its lines (split) and their keys (_KEYS, in C). Runs of lines with a key
    are counted (a DebugRun, sent before the next Debug or RunStart and at the chunk's end);
    the other lines, and every line in a test phase or a proto block, are read one by one."""
    d = _Dialect(reader)
    base = 0                              # line number before the chunk
    for text in chunks:
        lines = text.split("\n")
        count = len(lines)
        keys = _KEYS.findall(text) if counted else []
        if len(keys) != count:            # never expected: then read every line one by one
            keys = [""] * count
        i = 0                             # the next line (index in the chunk)
        held = -1                         # the first line counted and not yet sent, or -1
        while i < count:
            if d.fast and keys[i]:        # count up to the next line without a key
                try:
                    j = keys.index("", i)
                except ValueError:
                    j = count
                if held < 0:
                    held = i
                i = j
                continue
            if keys[i] and held >= 0:     # a line with a key read one by one: send first
                yield _run(keys, lines, base, held, i, d)
                held = -1
            for ev in d.line(base + i + 1, lines[i]):
                if held >= 0 and (type(ev) is Debug or type(ev) is RunStart):
                    yield _run(keys, lines, base, held, i, d)
                    held = -1
                yield ev
            i += 1
        if held >= 0:
            yield _run(keys, lines, base, held, count, d)
        base += count
    yield from d.close()


def _run(keys: list[str], lines: list[str], base: int, lo: int, hi: int, d) -> DebugRun:
    """The lines with a key in [lo, hi) of the chunk (the others there were read already)."""
    counts = Counter(keys if lo == 0 and hi == len(keys) else keys[lo:hi])
    counts.pop("", None)

    def expand(wanted: set) -> Iterator[Debug]:
        for i in range(lo, hi):
            if keys[i] in wanted:
                ev = d.hot(base + i + 1, lines[i])
                if ev is not None:
                    yield ev
    return DebugRun(base + hi, counts, sum(counts.values()), expand)


class _Dialect:
    """The state of the line-by-line reading: a proto block being collected, a test phase."""

    def __init__(self, reader: Reader | None):
        self.reader = reader
        self.block: Block | None = None
        self.cache: dict[str, tuple | None] = {}   # debug line text -> its description
        self.solving = False     # this run printed "Solving" already: a second is a new run
        self.in_test = self.test_outputs = False
        self.fast = True         # not in a test phase nor a block: debug lines may be counted

    def hot(self, n: int, line: str) -> Debug | None:
        """A train debug_info line (the common case), or None when it is not one."""
        k = line.find("]     [", 0, 200)
        if k <= 0 or not line[1:2].isdigit():
            return None
        head, _, value = line.rpartition(": ")
        key = head[k + 6:]
        desc = self.cache.get(key, False)
        if desc is False:
            desc = self.cache[key] = describe(key)
        if desc is None:
            return None
        try:
            v = float(value)
        except ValueError:
            v = number(value)
        return None if v is None else Debug(n, desc[0], desc[1], desc[2], desc[3], desc[4], v,
                                            False, key)

    def line(self, n: int, line: str) -> list[Event]:
        out = self._line(n, line)
        self.fast = not self.in_test and self.block is None
        return out

    def _line(self, n: int, line: str) -> list[Event]:
        reader = self.reader
        if self.fast:
            ev = self.hot(n, line)
            if ev is not None:
                if reader is not None:
                    reader.last = line
                return [ev]
        if reader is not None:
            reader.last = line
        if CHECK in line:
            ev = checked_event(n, line)
            if ev is not None:
                return [ev]
        parsed = split_prefix(line)
        if parsed is None:
            if self.block is not None:
                self.block.add(line)
            elif line.startswith(DEATH):
                return [Fatal(n, line.strip(), signal=True)]
            return []
        out: list[Event] = []
        if self.block is not None:
            out.append(self.block.event())
            self.block = None
        sev, msg = parsed
        body = msg.lstrip()
        if body[:1] == "[":
            if body.startswith("[Backward] All"):
                ev = norms_event(n, body)
                self.in_test = False
            else:
                ev = debug_event(n, body, self.in_test, self.cache)
                if ev is not None and ev.test and (self.test_outputs or ev.phase != "forward"):
                    self.in_test = self.test_outputs = False
                    ev = ev._replace(test=False)
            if ev is not None:
                out.append(ev)
            return out
        if sev == "F":
            out.append(Fatal(n, msg.strip()))
            return out
        if body.startswith("Iteration "):
            for ev in iteration_events(n, body):
                if isinstance(ev, TestStart):
                    self.in_test, self.test_outputs = True, False
                elif isinstance(ev, Loss):
                    self.in_test = False
                out.append(ev)
        elif body.startswith(("Train net output #", "Test net output #", "Test score #")):
            ev = output_event(n, body)
            if ev is not None:
                if ev.phase == "test":
                    self.test_outputs = True
                else:
                    self.in_test = False
                out.append(ev)
        elif body.startswith("Initializing solver from parameters"):
            out.append(RunStart(n))
            self.solving = False
            self.block = Block(n, "solver")
        elif body.startswith("Initializing net from parameters"):
            self.block = Block(n, "net")
        elif body.startswith("Solving"):
            if self.solving:
                out.append(RunStart(n))
            self.solving = True
            out.append(Solving(n, body[7:].strip()))
        elif body.startswith("Optimization Done"):
            out.append(Done(n))
        elif body.startswith("Optimization stopped early"):
            out.append(Done(n, early=True))
        elif body.startswith("Gradient clipping"):
            m = CLIP.search(body)
            if m is not None:
                out.append(Clipping(n, number(m.group(1)) or 0.0, number(m.group(2)) or 0.0))
        elif body.startswith(("Resuming from ", "Restoring previous solver status from ")):
            out.append(Resumed(n, body.rsplit(" ", 1)[-1]))
        elif sev == "E":
            out.append(ErrorLine(n, body))
        return out

    def close(self) -> list[Event]:
        return [self.block.event()] if self.block is not None else []
