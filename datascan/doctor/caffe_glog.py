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


def events(lines: Iterable[str]) -> Iterator[Event]:
    """The events of a Caffe log, given its lines (without newlines)."""
    block: _Block | None = None
    solving = False           # this run printed "Solving" already: a second one is a new run
    in_test = test_outputs = False
    for n, line in enumerate(lines, 1):
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
                ev = _debug(n, body, in_test)
                if ev is not None and ev.test and (test_outputs or ev.phase != "forward"):
                    in_test = test_outputs = False
                    ev = _debug(n, body, False)
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


def _debug(n: int, body: str, test: bool) -> Debug | None:
    """`[Forward] Layer L, top blob B data: V`, `... param blob K data: V`,
    `[Backward] Layer L, bottom blob B diff: V`, `[Update] Layer L, param K data: V; diff: W`,
    `[Forward] Input B data: V`."""
    close = body.find("] ")
    phase = body[1:close].lower()
    rest = body[close + 2:]
    if phase not in ("forward", "backward", "update"):
        return None
    if rest.startswith("Input "):
        desc, _, value = rest[6:].rpartition(": ")
        blob, _, field = desc.rpartition(" ")
        v = number(value)
        return None if v is None else Debug(n, phase, "input", "input", blob, field, v, test)
    if not rest.startswith("Layer "):
        return None
    comma = rest.find(", ")
    if comma < 0:
        return None
    layer, tail = rest[6:comma], rest[comma + 2:]
    if phase == "update":       # old Caffe: "param 0 data: X; diff: Y" -> the step (diff)
        desc, _, diff = tail.rpartition("; diff: ")
        v = number(diff)
        param = desc.split(" ", 2)[1] if desc.count(" ") >= 1 else desc
        return None if v is None else Debug(n, phase, layer, "param", param, "diff", v, test)
    desc, _, value = tail.rpartition(": ")
    v = number(value)
    parts = desc.split(" ")
    if v is None or len(parts) < 4:
        return None
    return Debug(n, phase, layer, parts[0], " ".join(parts[2:-1]), parts[-1], v, test)


def _norms(n: int, body: str) -> ParamNorms | None:
    m = _NORMS.search(body)
    if m is None:
        return None
    vals = [number(g) for g in m.groups()]
    return None if None in vals else ParamNorms(n, *vals)
