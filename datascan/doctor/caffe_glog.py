"""The Caffe glog dialect: the lines of `caffe train` (any Caffe version, NVCaffe, SSD and
DIGITS wrappers) as typed events, in one pass with bounded memory.

Matched on the message text, never on file:line (they differ between versions and forks;
../shared/doctor/CAFFE_LOG_FORMATS.md). A glog prefix is `[IWEF]<date> <time> <thread>
<file>:<line>] ` with any date form (mmdd, yyyymmdd); lines without it are protobuf text
continuing a block, or other programs' output (libjpeg, bash `+ `, the shell's
`Aborted (core dumped)`). Runs appended to one file are split where a new solver starts.
A new dialect (another framework's log) is one more module yielding the same events.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator

from .events import (Clipping, Debug, Done, ErrorLine, Event, Fatal, LearningRate, Loss, Output,
                     ParamNorms, ProtoText, Resumed, RunStart, Solving, TestStart)

MAX_PROTO = 4 << 20          # characters of one solver/net block kept (SSD nets are ~200 KB)
_EMBEDDED = re.compile(r"[IWEF]\d{4,8} \d\d:\d\d:\d\d(?:\.\d+)? +\d+ [^ \]]+\] ")
_ITERATION = re.compile(r"Iteration (\d+)")
_CLIP = re.compile(r"L2 norm (\S+) > (\S+)\)")
_NORMS = re.compile(r"L1 norm = \((\S+), (\S+)\); L2 norm = \((\S+), (\S+)\)")
# Raw lines (no glog prefix) that mean the process died.
_DEATH = ("*** Aborted at", "*** SIG", "Segmentation fault", "Aborted (core dumped)",
          "Floating point exception", "malloc(): ", "free(): ", "double free", "corrupted size",
          "terminate called", "Bus error", "Killed")
_NAN, _INF = math.nan, math.inf


def number(text: str) -> float | None:
    """A number as C++ streams print it, glibc (nan, -nan, inf) and MSVC (-nan(ind), 1.#QNAN,
    1.#INF) alike; None when it is not a number."""
    try:
        return float(text)
    except ValueError:
        t = text.strip().rstrip(",;)").lower()
        try:
            return float(t)
        except ValueError:
            pass
        if "nan" in t or "#ind" in t:
            return _NAN
        if "inf" in t:
            return -_INF if t.startswith("-") else _INF
        return None


def split_prefix(line: str) -> tuple[str, str] | None:
    """(severity letter, message) of a glog line, or None for a line without the prefix."""
    if line[:1] in "IWEF" and line[1:2].isdigit():
        end = line.find("] ", 0, 200)
        if end > 0:
            return line[0], line[end + 2:]
    if "] " in line:
        m = _EMBEDDED.search(line)     # a prefix behind a wrapper's own (docker, DIGITS)
        if m is not None:
            return line[m.start()], line[m.end():]
    return None


class _Block:
    """A protobuf text block being collected (bounded)."""

    def __init__(self, line: int, kind: str):
        self.line, self.kind, self.parts, self.size, self.truncated = line, kind, [], 0, False

    def add(self, text: str) -> None:
        if self.size + len(text) > MAX_PROTO:
            self.truncated = True
            return
        self.parts.append(text)
        self.size += len(text) + 1

    def event(self) -> ProtoText:
        return ProtoText(self.line, self.kind, "\n".join(self.parts), self.truncated)


class Reader:
    """The events of a Caffe log, given its lines (without newlines); ``last`` is the line
    read last: an event is made right after its line, so it is the line a finding quotes."""

    def __init__(self, lines: Iterable[str]):
        self.lines = lines
        self.last = ""

    def current(self) -> str:
        return self.last

    def __iter__(self) -> Iterator[Event]:
        return _events(self.lines, self)


def events(lines: Iterable[str]) -> Iterator[Event]:
    """The events of a Caffe log, given its lines (without newlines)."""
    return _events(lines, None)


def _events(lines: Iterable[str], reader: Reader | None) -> Iterator[Event]:
    block: _Block | None = None
    cache: dict[str, tuple | None] = {}       # debug line text -> its parsed description
    solving = False           # this run printed "Solving" already: a second one is a new run
    in_test = test_outputs = False
    n = 0
    for line in lines:
        n += 1
        # The hot path: a debug_info line of the train net, most of a debug_info log.
        if not in_test and block is None:
            k = line.find("]     [", 0, 200)
            if k > 0 and line[1:2].isdigit():
                head, _, value = line.rpartition(": ")
                key = head[k + 6:]
                desc = cache.get(key, False)
                if desc is False:
                    desc = cache[key] = _describe(key)
                if desc is not None:
                    try:
                        v = float(value)
                    except ValueError:
                        v = number(value)
                    if v is not None:
                        if reader is not None:
                            reader.last = line
                        yield Debug(n, desc[0], desc[1], desc[2], desc[3], desc[4], v, False, key)
                        continue
        if reader is not None:
            reader.last = line
        parsed = split_prefix(line)
        if parsed is None:
            if block is not None:
                block.add(line)
            elif line.startswith(_DEATH):
                yield Fatal(n, line.strip(), signal=True)
            continue
        if block is not None:
            yield block.event()
            block = None
        sev, msg = parsed
        body = msg.lstrip()
        if body[:1] == "[":
            if body.startswith("[Backward] All"):
                ev = _norms(n, body)
                in_test = False
            else:
                ev = _debug(n, body, in_test, cache)
                if ev is not None and ev.test and (test_outputs or ev.phase != "forward"):
                    in_test = test_outputs = False
                    ev = ev._replace(test=False)
            if ev is not None:
                yield ev
            continue
        if sev == "F":
            yield Fatal(n, msg.strip())
            continue
        if body.startswith("Iteration "):
            for ev in _iteration(n, body):
                if isinstance(ev, TestStart):
                    in_test, test_outputs = True, False
                elif isinstance(ev, Loss):
                    in_test = False
                yield ev
        elif body.startswith(("Train net output #", "Test net output #", "Test score #")):
            ev = _output(n, body)
            if ev is not None:
                if ev.phase == "test":
                    test_outputs = True
                else:
                    in_test = False
                yield ev
        elif body.startswith("Initializing solver from parameters"):
            yield RunStart(n)
            solving = False
            block = _Block(n, "solver")
        elif body.startswith("Initializing net from parameters"):
            block = _Block(n, "net")
        elif body.startswith("Solving"):
            if solving:
                yield RunStart(n)
            solving = True
            yield Solving(n, body[7:].strip())
        elif body.startswith("Optimization Done"):
            yield Done(n)
        elif body.startswith("Optimization stopped early"):
            yield Done(n, early=True)
        elif body.startswith("Gradient clipping"):
            m = _CLIP.search(body)
            if m is not None:
                yield Clipping(n, number(m.group(1)) or 0.0, number(m.group(2)) or 0.0)
        elif body.startswith(("Resuming from ", "Restoring previous solver status from ")):
            yield Resumed(n, body.rsplit(" ", 1)[-1])
        elif sev == "E":
            yield ErrorLine(n, body)
    if block is not None:
        yield block.event()


def _iteration(n: int, body: str) -> list[Event]:
    m = _ITERATION.match(body)
    if m is None:
        return []
    it = int(m.group(1))
    k = body.find(", loss = ")
    if k >= 0:
        value = number(body[k + 9:].split(" ", 1)[0])
        return [] if value is None else [Loss(n, it, value)]
    k = body.find(", lr = ")
    if k >= 0:
        value = number(body[k + 7:].split(" ", 1)[0].rstrip(","))
        return [] if value is None else [LearningRate(n, it, value)]
    if "Testing net" in body:
        return [TestStart(n, it)]
    return []


def _output(n: int, body: str) -> Output | None:
    phase = "train" if body[1] == "r" else "test"
    if body.startswith("Test score #"):          # v0.9: `Test score #0: 0.1215`
        head, _, value = body[12:].partition(": ")
        v = number(value)
        return None if v is None or not head.isdigit() else Output(n, phase, int(head), head, v, None)
    colon = body.find(": ", 17)
    if colon < 0:
        return None
    try:
        index = int(body[body.index("#") + 1:colon])
    except ValueError:
        return None
    name, _, values = body[colon + 2:].partition(" = ")
    value_text, _, weighted = values.partition(" (* ")
    value = number(value_text)
    if value is None:
        return None
    weight = number(weighted.split(" = ", 1)[0]) if weighted else None
    return Output(n, phase, index, name, value, weight)


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return number(text)


def _debug(n: int, body: str, test: bool, cache: dict) -> Debug | None:
    """A debug_info line's event, from its message (after the glog prefix)."""
    head, _, value = body.rpartition(": ")
    if head.startswith("[Update]"):
        head, _, value = body.rpartition("; diff: ")
    desc = cache.get(head, False)
    if desc is False:
        desc = cache[head] = _describe(head)
    v = _float(value) if desc is not None else None
    return None if v is None else Debug(n, *desc, v, test, head)


def _describe(head: str) -> tuple[str, str, str, str, str] | None:
    """(phase, layer, kind, blob, field) of `[Forward] Layer L, top blob B data`,
    `... param blob K data`, `[Backward] Layer L, bottom blob B diff`, `[Update] Layer L,
    param K data` (old Caffe: the step, its diff), `[Forward] Input B data`; None otherwise."""
    close = head.find("] ")
    phase = head[1:close].lower()
    rest = head[close + 2:]
    if not head.startswith("[") or phase not in ("forward", "backward", "update"):
        return None
    if rest.startswith("Input "):
        blob, _, fld = rest[6:].rpartition(" ")
        return phase, "input", "input", blob, fld
    comma = rest.find(", ")
    if not rest.startswith("Layer ") or comma < 0:
        return None
    layer, parts = rest[6:comma], rest[comma + 2:].split(" ")
    if phase == "update":
        return (phase, layer, "param", parts[1], "diff") if len(parts) >= 2 else None
    if len(parts) < 4:
        return None
    return phase, layer, parts[0], " ".join(parts[2:-1]), parts[-1]


def _norms(n: int, body: str) -> ParamNorms | None:
    m = _NORMS.search(body)
    if m is None:
        return None
    vals = [number(g) for g in m.groups()]
    return None if None in vals else ParamNorms(n, *vals)
