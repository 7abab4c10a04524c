"""The text of an image list as Caffe reads it (sources/imagelist.py is the format): the
split at the last space, glibc's atoi, the key a line gets, the Datum a line becomes (what
convert_imageset --encoded stores for it), a listed file's bytes, and the line index the
planner streams the list for."""
from __future__ import annotations

import os
import re
from pathlib import Path

CHUNK = 1 << 20              # bytes read at a time while counting lines
MAX_MARKS = 1 << 16          # line offsets the planner keeps (then every 2nd, 4th, ...)
MAX_FILE_BYTES = 1 << 28     # a listed "image" larger than this is not read
IMAGE_SUFFIXES = (b".jpg", b".jpeg", b".png", b".bmp", b".gif", b".tif", b".tiff", b".webp",
                  b".pgm", b".ppm", b".pbm", b".jpe", b".jp2", b".dib", b".ras", b".sr", b".exr",
                  b".hdr", b".pic")       # what OpenCV's imread opens
LABELLED = re.compile(rb"(.+) [+-]?[0-9]+\r?")     # a `path integer` line
PLAIN_LABEL = re.compile(rb"[+-]?[0-9]{1,9}\r?")   # a label atoi reads whole, within int's range
_ATOI = re.compile(rb"[ \t\n\v\f\r]*([+-]?[0-9]+)")


def atoi(text: bytes) -> int:
    """C's atoi on glibc ((int) strtol): leading blanks, a sign, digits; 0 when there are none."""
    m = _ATOI.match(text)
    if m is None:
        return 0
    value = max(min(int(m.group(1)), (1 << 63) - 1), -(1 << 63))    # strtol clamps to long
    return (value + (1 << 31)) % (1 << 32) - (1 << 31)              # the (int) cast keeps 32 bits


def split_line(line: bytes) -> tuple[bytes, bytes | None, int]:
    """(path, label text or None when the line has no space, label) as Caffe splits it."""
    pos = line.rfind(b" ")
    if pos < 0:     # npos + 1 == 0: the whole line is the path, and atoi reads all of it
        return line, None, atoi(line)
    return line[:pos], line[pos + 1:], atoi(line[pos + 1:])


def line_key(number: int, path: bytes) -> bytes:
    return b"line %d: %s" % (number, path)


def key_line(key: bytes) -> int | None:
    """The line number a key names (None: not a key of this format)."""
    m = re.match(rb"line ([0-9]+): ", key)
    return int(m.group(1)) if m else None


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def datum(data: bytes, label: int) -> bytes:
    """The Datum convert_imageset --encoded stores for a line: data, label, encoded=true."""
    return b"\x22" + _varint(len(data)) + data + b"\x28" + _varint(label) + b"\x38\x01"


def read_file(name: bytes) -> tuple[bytes | None, str | None]:
    """(the file's bytes, None) or (None, why it cannot be read)."""
    try:
        with open(name, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_FILE_BYTES:
                return None, f"is {size} bytes, more than an image datascan reads ({MAX_FILE_BYTES})"
            return fh.read(), None
    except FileNotFoundError:
        return None, "does not exist"
    except IsADirectoryError:
        return None, "is a directory"
    except OSError as e:
        return None, f"cannot be read ({e.strerror or e})"
    except ValueError:      # a NUL byte: no file has such a name (Caffe opens the path up to it)
        return None, "cannot be a file name (it holds a NUL byte)"


def index(path: Path) -> tuple[int, int, list[int]]:
    """(lines, step, offsets): the line count as getline reads them, and the byte offset of
    lines 0, step, 2*step, ... (at most MAX_MARKS of them). One pass, CHUNK bytes at a time."""
    import numpy as np
    step, marks, lines, pos, tail = 1, [0], 0, 0, b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            starts = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10) + (pos + 1)
            numbers = np.arange(lines + 1, lines + 1 + len(starts))
            marks += starts[numbers % step == 0].tolist()
            lines, pos, tail = lines + len(starts), pos + len(chunk), chunk[-1:]
            while len(marks) > MAX_MARKS:
                marks, step = marks[::2], step * 2
    total = lines + (tail != b"\n")
    return total, step, [m for i, m in enumerate(marks) if i * step < total]
