"""The Caffe glog dialect, one line at a time: the glog prefix, numbers as C++ prints them,
and the messages (loss, outputs, debug_info, norms) as events. caffe_glog.py reads a log with
these; matched on the message text, never on file:line."""
from __future__ import annotations

import math
import re

from .events import (Checked, Debug, Event, LearningRate, Loss, Output, ParamNorms, ProtoText,
                     TestStart)

MAX_PROTO = 4 << 20          # characters of one solver/net block kept (SSD nets are ~200 KB)
_EMBEDDED = re.compile(r"[IWEF]\d{4,8} \d\d:\d\d:\d\d(?:\.\d+)? +\d+ [^ \]]+\] ")
_ITERATION = re.compile(r"Iteration (\d+)")
CLIP = re.compile(r"L2 norm (\S+) > (\S+)\)")
_NORMS = re.compile(r"L1 norm = \((\S+), (\S+)\); L2 norm = \((\S+), (\S+)\)")
# Raw lines (no glog prefix) that mean the process died.
DEATH = ("*** Aborted at", "*** SIG", "Segmentation fault", "Aborted (core dumped)",
          "Floating point exception", "malloc(): ", "free(): ", "double free", "corrupted size",
          "terminate called", "Bus error", "Killed")
_NAN, _INF = math.nan, math.inf
CHECK = "datascan check: non-finite in layer "     # checklayer.py's message
_CHECKED = re.compile(r'datascan check: non-finite in layer ("(?:[^"\\]|\\.)*") (forward|backward) '
                      r'top ("(?:[^"\\]|\\.)*") (data|diff) at iteration (\d+): fraction (\S+) '
                      r'\((\d+) nan, (\d+) inf of (\d+)\)')


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


class Block:
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



def iteration_events(n: int, body: str) -> list[Event]:
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


def output_event(n: int, body: str) -> Output | None:
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


def debug_event(n: int, body: str, test: bool, cache: dict) -> Debug | None:
    """A debug_info line's event, from its message (after the glog prefix)."""
    head, _, value = body.rpartition(": ")
    if head.startswith("[Update]"):
        head, _, value = body.rpartition("; diff: ")
    desc = cache.get(head, False)
    if desc is False:
        desc = cache[head] = describe(head)
    v = _float(value) if desc is not None else None
    return None if v is None else Debug(n, *desc, v, test, head)


def describe(head: str) -> tuple[str, str, str, str, str] | None:
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


def norms_event(n: int, body: str) -> ParamNorms | None:
    m = _NORMS.search(body)
    if m is None:
        return None
    vals = [number(g) for g in m.groups()]
    return None if None in vals else ParamNorms(n, *vals)


def checked_event(n: int, line: str) -> Checked | None:
    """The check layer's line (alone, behind a glog prefix, or in the FloatingPointError it
    raises)."""
    import json
    m = _CHECKED.search(line)
    if m is None:
        return None
    layer, phase, blob, fld, it, fraction, nan, inf, count = m.groups()
    try:
        return Checked(n, json.loads(layer), phase, json.loads(blob), fld, int(it),
                       number(fraction) or 0.0, int(nan), int(inf), int(count))
    except ValueError:
        return None
