"""Image lists (Caffe's ImageData source, convert_imageset's LISTFILE): each line judged as
Caffe reads it. The reader (sources/imagelist.py) reports what it found about a line
(LineFacts: the label as written, atoi's value, the file root_folder + path and why it
cannot be read); the image itself is a Datum record the record checks judge."""
from __future__ import annotations

import re

from ..codes import LIST_FILE, LIST_LABEL, LIST_NO_LABEL, LIST_ROOT
from ..sources.interface import LineFacts
from .base import LISTED, STORAGE, Check, Problem

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1
# What atoi reads all of: an optional sign and digits (a CR of a Windows line end is left alone).
_WHOLE = re.compile(rb"[+-]?[0-9]+\r?")


def _shown(text: bytes) -> str:
    return text.decode("utf-8", "backslashreplace")


class ListLines(Check):
    """Every line of an image list names a file Caffe can open (DS130), ends in a label
    (DS541) that is a plain integer atoi reads whole (DS540); the list's files are where
    root_folder + path points (DS131, when planned: sources/imagelist.py)."""
    codes = (LIST_FILE, LIST_ROOT, LIST_LABEL, LIST_NO_LABEL)
    reads = (LISTED, STORAGE)

    def judge(self, facts: LineFacts) -> list[Problem]:
        if facts.label_text is None and facts.path in (b"", b"\r"):
            return [(LIST_NO_LABEL, f"line {facts.line} is blank: Caffe reads it as the file "
                     f"{facts.file!r} with label 0 (ImageData stops: \"Could not load \"; "
                     "convert_imageset skips it)")]
        problems: list[Problem] = []
        if facts.label_text is None:
            problems.append((LIST_NO_LABEL, f"line {facts.line} has no label (no space): Caffe "
                             f"reads the whole line as the path and atoi of it, {facts.label}, "
                             "as the label"))
        elif (p := self.label_text(facts)) is not None:
            problems.append(p)
        if facts.unreadable is not None:
            problems.append((LIST_FILE, self.file_message(facts)))
        return problems

    def label_text(self, facts: LineFacts) -> Problem | None:
        text = facts.label_text
        if _WHOLE.fullmatch(text):
            value = int(text.strip())
            if INT_MIN <= value <= INT_MAX:
                return None
            return (LIST_LABEL, f"line {facts.line}: label {_shown(text.strip())} does not fit "
                    "in an int: what Caffe's atoi reads is undefined")
        if not text.strip():
            what = "nothing after the last space (a trailing space?)"
        else:
            what = f"label {_shown(text)!r} is not an integer"
        return (LIST_LABEL, f"line {facts.line}: {what}: Caffe's atoi reads it as {facts.label}")

    def file_message(self, facts: LineFacts) -> str:
        hint = ""
        if facts.path[-1:] in (b" ", b"\t"):
            hint = " (the path ends in a space: more than one space before the label?)"
        elif facts.path[:1] in (b" ", b"\t"):
            hint = " (the path starts with a space)"
        return f"line {facts.line}: {facts.file!r} {facts.unreadable}{hint}"
