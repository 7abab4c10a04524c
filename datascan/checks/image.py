"""The image check: what the strict decoders found (decode/image.py: facts) judged as findings."""
from __future__ import annotations

from posixpath import splitext
from typing import TYPE_CHECKING

from ..codes import CORRUPT_IMAGE, IMAGE_BOMB, IMAGE_MODE, UNDECODABLE, WRONG_FORMAT
from .base import KEYED, Check, Problem
from .loader import mode_problem

if TYPE_CHECKING:   # the decoders load only when a set holds images (record.py)
    from ..config import Transform
    from ..decode.result import ImageResult

SUFFIX_FORMAT = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".bmp": "bmp", ".gif": "gif",
                 ".tif": "tiff", ".tiff": "tiff", ".webp": "webp"}


class ImageDecode(Check):
    """An encoded image must decode cleanly (DS400 not at all, DS401 only with corruption
    warnings, DS402 a decompression bomb, not decoded), in a mode Caffe's loader takes (DS403),
    and be the format its name says (DS404)."""
    codes = (UNDECODABLE, CORRUPT_IMAGE, IMAGE_BOMB, IMAGE_MODE, WRONG_FORMAT)
    reads = (KEYED,)

    def judge(self, img: ImageResult, transform: Transform | None = None) -> list[Problem]:
        """``transform``: the data layer's that decodes the image (loader.py judges its mode
        by it); None when no Caffe layer reads it (a bare image file)."""
        if img.fatal is not None:
            return [(IMAGE_BOMB if img.bomb else UNDECODABLE, img.fatal)]
        return [(CORRUPT_IMAGE, w) for w in img.warnings] + \
            [p for n in img.notes if (p := mode_problem(n, transform)) is not None]

    def misnamed(self, img: ImageResult, name: str | None) -> Problem | None:
        named = SUFFIX_FORMAT.get(splitext(name or "")[1].lower())
        if img.format and named and named != img.format:
            return (WRONG_FORMAT, f"{img.format.upper()} data under a {named.upper()} name")
        return None

    def not_an_image(self, what: str) -> Problem:
        return (UNDECODABLE, f"not an image ({what}) where an image is expected")
