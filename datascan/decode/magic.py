"""Image formats by their magic bytes: the one table, for datum.py (is this value an image?)
and image.py (which decoder?). Imports nothing heavy: classify runs it on every sampled value."""
from __future__ import annotations

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

MAGIC = ((b"\xff\xd8\xff", "jpeg"), (PNG_SIGNATURE, "png"), (b"BM", "bmp"), (b"GIF87a", "gif"),
         (b"GIF89a", "gif"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"))
_PREFIXES = tuple(magic for magic, _ in MAGIC)


def sniff(data: bytes) -> str | None:
    """Image format from the magic bytes alone (no parsing beyond them)."""
    head = bytes(data[:12])
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return next((fmt for magic, fmt in MAGIC if head.startswith(magic)), None)


def looks_like_image(value: bytes) -> bool:
    """sniff(value) is not None, the usual answer found by one startswith."""
    return value.startswith(_PREFIXES) or sniff(value) == "webp"
