"""Small wordings every report shares: plurals, counts, keys shown as text."""
from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 record', '2 records', '1,000 records'; `many` for irregular plurals."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def key_shown(key: str | None) -> str:
    """A key as text with only the bytes that need it escaped: a non-UTF-8 key (the JSON
    report's ``hex:...``) shows its readable bytes as they are and the rest as ``\\xNN``;
    control characters are escaped, so a key never splits a line."""
    if key is None:
        return ""
    if key.startswith("hex:"):
        try:
            key = bytes.fromhex(key[4:]).decode("utf-8", "backslashreplace")
        except ValueError:
            pass
    return _CONTROL.sub(_escape, key)


def _escape(m: re.Match) -> str:
    c = m.group()
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c) or \
        (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")


def one_line(text: str) -> str:
    """A message on one line: control characters escaped."""
    return _CONTROL.sub(_escape, text)


# A DS500 message names the range it checked: "label 12 outside [0, 10)".
_RANGE = re.compile(r"outside \[0, (\d+)\)")


def num_classes_of(messages) -> int | None:
    """The --num-classes a report's DS500 messages were checked against, when they say."""
    for text in messages:
        m = _RANGE.search(text)
        if m:
            return int(m.group(1))
    return None


def transform_words(settings) -> str:
    """A layer's transform as the report records it ((name, value) pairs), in words."""
    if settings is None:
        return "not scanned"
    said = [f"{k} {v}" if k == "crop_size" else
            f"resized to {v[0]}x{v[1]}" if k == "resize" else k
            for k, v in settings if v]
    return ", ".join(said) or "Caffe's defaults"


def net_layer_line(x) -> str:
    """One data layer of a --net report (model.NetLayer): which source, read how."""
    where = f"{one_line(x.path)} ({x.format or 'not read'})" if x.path else "no source"
    judged = "HDF5Data: no transform" if x.format == "hdf5" else \
        f"judged with {transform_words(x.transform)}"
    return f"layer {one_line(x.layer)!r} ({'/'.join(x.phases)}) reads {where}: {judged}"
