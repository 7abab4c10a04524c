"""The image check: what the strict decoders found (decode/image.py: facts) judged as findings."""
from __future__ import annotations

from posixpath import splitext

from ..decode.result import ImageResult

Problem = tuple[str, str]

SUFFIX_FORMAT = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".bmp": "bmp", ".gif": "gif",
                 ".tif": "tiff", ".tiff": "tiff", ".webp": "webp"}


class ImageDecode:
    """An encoded image must decode cleanly (DS400 not at all, DS401 only with corruption
    warnings, DS402 a decompression bomb, not decoded), in a mode Caffe's loader takes (DS403),
    and be the format its name says (DS404)."""

    def judge(self, img: ImageResult) -> list[Problem]:
        if img.fatal is not None:
            return [("DS402" if img.bomb else "DS400", img.fatal)]
        return [("DS401", w) for w in img.warnings] + [("DS403", n) for n in img.notes]

    def misnamed(self, img: ImageResult, name: str | None) -> Problem | None:
        named = SUFFIX_FORMAT.get(splitext(name or "")[1].lower())
        if img.format and named and named != img.format:
            return ("DS404", f"{img.format.upper()} data under a {named.upper()} name")
        return None

    def not_an_image(self, what: str) -> Problem:
        return ("DS400", f"not an image ({what}) where an image is expected")
