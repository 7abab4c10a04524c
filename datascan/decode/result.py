"""What decoding one encoded image found: facts, no verdicts (checks/image.py judges them),
and the two ways the decoders give up early."""
from __future__ import annotations

from ..model import dataclass

UNSIGNED = 'Caffe stops with "Image data type must be unsigned byte"'

# What a note is about (checks/loader.py judges each by what the data layer's transform does).
DEPTH = "depth"       # more than 8 bits a sample: OpenCV keeps them unless forced to colour/gray
ALPHA = "alpha"       # decodes as 4 channels (alpha, a palette with transparency) unless forced
COLOURS = "colours"   # a colour model Caffe's loader mangles (CMYK, LAB, HSV): forcing does not help


class Note(str):
    """A note's text, which says what it is about in ``kind``."""
    kind: str

    def __new__(cls, kind: str, text: str) -> Note:
        note = super().__new__(cls, text)
        note.kind = kind
        return note


@dataclass(frozen=True)
class ImageResult:
    format: str | None      # "jpeg" "png" "bmp" "gif" "tiff" "webp", None if not an image
    channels: int           # as OpenCV imdecode(IMREAD_UNCHANGED) gives them; 0 if undecodable
    height: int
    width: int
    mode: str               # Pillow-like mode ("L", "RGB", "RGBA", "CMYK", "I;16", "P", ...) or ""
    bits: int = 8           # bits per sample as stored (the largest); 0 when not decoded
    fatal: str | None = None        # why it does not decode; nothing past it was looked at
    bomb: bool = False              # the header claims more than max_pixels: not decoded (fatal says so)
    warnings: tuple[str, ...] = ()  # corruption the decoder warned about while decoding it anyway
    notes: tuple[Note, ...] = ()    # what about its mode Caffe's loader rejects or mangles


def fail(fmt: str | None, message: str, height: int = 0, width: int = 0,
         mode: str = "") -> ImageResult:
    return ImageResult(fmt, 0, height, width, mode, bits=0, fatal=message)


def bomb(fmt: str, width: int, height: int, max_pixels: int, mode: str = "") -> ImageResult | None:
    if width * height > max_pixels:
        return ImageResult(fmt, 0, height, width, mode, bits=0, bomb=True,
                           fatal=f"header claims {width}x{height} = {width * height} pixels "
                                 f"(limit {max_pixels}); not decoded")
    return None
