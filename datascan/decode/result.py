"""What checking one encoded image found, and the two ways a check gives up early."""
from __future__ import annotations

from dataclasses import dataclass

UNSIGNED = 'Caffe stops with "Image data type must be unsigned byte"'


@dataclass(frozen=True)
class ImageResult:
    format: str | None      # "jpeg" "png" "bmp" "gif" "tiff" "webp", None if not an image
    channels: int           # as OpenCV imdecode(IMREAD_UNCHANGED) gives them; 0 if undecodable
    height: int
    width: int
    mode: str               # Pillow-like mode ("L", "RGB", "RGBA", "CMYK", "I;16", "P", ...) or ""
    problems: tuple[tuple[str, str], ...]   # (code, message), code in DS400..DS403
    gray_fill_rows: int = 0  # for raw decoded pixels (DS303); not computed here


def fail(fmt: str | None, message: str, code: str = "DS400", height: int = 0,
          width: int = 0, mode: str = "") -> ImageResult:
    return ImageResult(fmt, 0, height, width, mode, ((code, message),))


def bomb(fmt: str, width: int, height: int, max_pixels: int, mode: str = "") -> ImageResult | None:
    if width * height > max_pixels:
        return fail(fmt, f"header claims {width}x{height} = {width * height} pixels "
                     f"(limit {max_pixels}); not decoded", "DS402", height, width, mode)
    return None
