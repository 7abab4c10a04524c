"""SSD's labelmap.prototxt (a caffe.LabelMap in text format): the classes a box may name.

convert_annoset reads it to turn class names into labels, and the SSD layers read it with
strict checks (MapNameToLabel / MapLabelToName: "Duplicate name", "Duplicate label"), so
a map with duplicates, or with no item at all, is refused here too: one line, exit 2.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..config import LabelMap
from ..errors import UsageError
from .proto import parse_text


def read_label_map(path: str | os.PathLike) -> LabelMap:
    """The LabelMap of a labelmap.prototxt; unreadable or invalid -> UsageError."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise UsageError(f"cannot read label map {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise UsageError(f"label map {path} is not text (a labelmap.prototxt is UTF-8)") from None
    msg = parse_text(text, "LabelMap", where=f"label map {path}")
    if not msg.item:
        raise UsageError(f"label map {path} has no item: not a labelmap.prototxt")
    labels, names = [], []
    for item in msg.item:         # a missing label reads as 0, as in SSD
        if item.label in labels:
            raise UsageError(f"label map {path}: duplicate label {item.label} "
                             f"(SSD stops with \"Duplicate label\")")
        if item.name and item.name in names:
            raise UsageError(f"label map {path}: duplicate name {item.name!r} "
                             f"(SSD stops with \"Duplicate name\")")
        labels.append(item.label)
        names.append(item.display_name or item.name)
    return LabelMap(str(path), tuple(labels), tuple(names))
