"""Reading a log as lines, whatever it is stored in: a file, gzip, or `-` for stdin.

Lines come in chunks (one C-level split per MiB), so reading costs little next to the
dialect. Memory is bounded: a "line" longer than MAX_LINE (binary junk, a progress bar
without newlines) is cut to a chunk. A gzip stream that ends early is a log cut off, not an error.
"""
from __future__ import annotations

import io
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

from ..errors import UsageError

CHUNK = 1 << 20
MAX_LINE = 1 << 16
GZIP_MAGIC = b"\x1f\x8b"


class LogLines:
    """Iterate the lines of a log (str, without newline). After iteration ``cut`` says whether
    the stream ended early (a truncated gzip) and ``size`` how many bytes were read."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.cut = False
        self.size = 0

    def _open(self) -> io.BufferedIOBase:
        if self.path == "-":
            raw = sys.stdin.buffer
        else:
            try:
                raw = open(self.path, "rb")
            except OSError as e:
                raise UsageError(f"cannot read log {self.path}: {e.strerror or e}") from None
        head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        return _Gunzip(raw, self) if head == GZIP_MAGIC else raw

    def __iter__(self) -> Iterator[str]:
        for text in self.chunks():
            yield from text.split("\n")

    def chunks(self) -> Iterator[str]:
        """The log as text of whole lines joined by newlines, about CHUNK bytes at a time
        (no newline at a chunk's end: ``text.split("\\n")`` are its lines)."""
        stream = self._open()
        tail = b""
        try:
            while True:
                try:
                    chunk = stream.read(CHUNK)
                except zlib.error:
                    self.cut = True
                    break
                except OSError as e:
                    raise UsageError(f"cannot read log {self.path}: {e.strerror or e}") from None
                if not chunk:
                    break
                self.size += len(chunk)
                end = chunk.rfind(b"\n")
                if end < 0:
                    tail = (tail + chunk)[:MAX_LINE]
                    continue
                block = tail + chunk[:end]
                tail = chunk[end + 1:][:MAX_LINE]
                yield _text(block)
            if tail:
                yield _text(tail)     # a log cut mid-line: its last, partial line
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()


class _Gunzip:
    """gzip, decompressed incrementally: a stream cut short still gives every byte before
    the cut (gzip.GzipFile raises and loses the last buffer), and members appended to one
    file (`cat a.gz b.gz`) follow each other."""

    def __init__(self, raw, owner: LogLines):
        self.raw, self.owner = raw, owner
        self.z = zlib.decompressobj(wbits=31)

    def read(self, size: int) -> bytes:
        while True:
            data = self.raw.read(size)
            if not data:
                if not self.z.eof:
                    self.owner.cut = True
                return self.z.flush()
            out = self.z.decompress(data)
            while self.z.eof and self.z.unused_data:
                rest = self.z.unused_data
                self.z = zlib.decompressobj(wbits=31)
                out += self.z.decompress(rest)
            if out:
                return out

    def close(self) -> None:
        self.raw.close()


def _text(block: bytes) -> str:
    text = block.decode("utf-8", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text                   # a line is at most CHUNK + MAX_LINE long
