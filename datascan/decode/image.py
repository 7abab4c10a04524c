"""Check one encoded image: does it decode cleanly, how big is it, will Caffe's loader take its mode?

``inspect_image`` never raises and never prints. Findings (see codes.py):
DS400 does not decode, DS401 decodes only with corruption warnings, DS402 header claims more
than ``max_pixels`` (nothing is decoded), DS403 mode Caffe's ``imdecode(IMREAD_UNCHANGED)`` path
rejects or mangles (16-bit, alpha, CMYK).

JPEG (the hot path) goes through libjpeg-turbo (simplejpeg) with ``strict=True``, which turns every
libjpeg warning ("Premature end of JPEG file", "Corrupt JPEG data: ...") into an exception. It is
decoded at 1/8 scale: Huffman decoding of every coefficient still happens (so entropy corruption
and truncation are caught exactly as at full scale) but the IDCT/upsampling/colour work and the
output buffer shrink ~64x. PNG chunks are walked here (every CRC, IEND present) and the pixels are
decoded once with Pillow, which checks neither the IDAT CRC nor IEND.
"""
from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass

import simplejpeg
from PIL import BmpImagePlugin, GifImagePlugin, PngImagePlugin, TiffImagePlugin

from ..config import MAX_IMAGE_PIXELS

try:  # Pillow may be built without libwebp
    from PIL import WebPImagePlugin
except ImportError:  # pragma: no cover - depends on the Pillow build
    WebPImagePlugin = None

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_UNSIGNED = 'Caffe stops with "Image data type must be unsigned byte"'


@dataclass(frozen=True)
class ImageResult:
    format: str | None      # "jpeg" | "png" | "bmp" | "gif" | "tiff" | "webp" | None if not an image
    channels: int           # as OpenCV imdecode(IMREAD_UNCHANGED) gives them; 0 if undecodable
    height: int
    width: int
    mode: str               # Pillow-like mode ("L", "RGB", "RGBA", "CMYK", "I;16", "P", ...) or ""
    problems: tuple[tuple[str, str], ...]   # (code, message), code in DS400..DS403
    gray_fill_rows: int = 0  # for raw decoded pixels (DS303); not computed here

    @property
    def ok(self) -> bool:
        """True when nothing at all was found (not even a DS403 warning)."""
        return not self.problems


def sniff(data: bytes) -> str | None:
    """Image format from the magic bytes alone (no parsing beyond them)."""
    head = bytes(data[:12])
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == PNG_SIGNATURE:
        return "png"
    if head[:2] == b"BM":
        return "bmp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def inspect_image(data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> ImageResult:
    """Decode-check one encoded image; see the module docstring. Never raises."""
    fmt = None
    try:
        if not isinstance(data, bytes):
            data = bytes(data)
        fmt = sniff(data)
        if not data:
            return _fail(None, "empty value")
        if fmt is None:
            return _fail(None, _not_an_image(data))
        if fmt == "jpeg":
            return _jpeg(data, max_pixels)
        if fmt == "png":
            return _png(data, max_pixels)
        return _pillow(fmt, data, max_pixels)
    except Exception as exc:  # last resort: a decoder bug must not stop a scan
        return _fail(fmt, f"decoder failed: {type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------------------- helpers

def _fail(fmt: str | None, message: str, code: str = "DS400", height: int = 0,
          width: int = 0, mode: str = "") -> ImageResult:
    return ImageResult(fmt, 0, height, width, mode, ((code, message),))


def _not_an_image(data: bytes) -> str:
    head = data[:256]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text):
        return f"not an image ({len(data)} bytes of text: {text[:40]!r})"
    return f"not an image ({len(data)} bytes starting {data[:8].hex()})"


def _bomb(fmt: str, width: int, height: int, max_pixels: int, mode: str = "") -> ImageResult | None:
    if width * height > max_pixels:
        return _fail(fmt, f"header claims {width}x{height} = {width * height} pixels "
                     f"(limit {max_pixels}); not decoded", "DS402", height, width, mode)
    return None


# ------------------------------------------------------------------------------------------ JPEG

# header colorspace -> (Pillow-like mode, OpenCV channels, simplejpeg output colorspace)
_JPEG_SPACES = {"Gray": ("L", 1, "GRAY"), "CMYK": ("CMYK", 3, "CMYK"), "YCCK": ("CMYK", 3, "CMYK")}
_JPEG_FAST = {"fastdct": True, "fastupsample": True, "min_height": 1, "min_width": 1}  # 1/8 scale


def _jpeg(data: bytes, max_pixels: int) -> ImageResult:
    try:  # header warnings are caught by the strict decode below
        height, width, space, _sub = simplejpeg.decode_jpeg_header(data, strict=False)
    except Exception as exc:
        return _fail("jpeg", f"JPEG header does not parse: {exc}")
    mode, channels, out = _JPEG_SPACES.get(space, ("RGB", 3, "RGB"))
    bomb = _bomb("jpeg", width, height, max_pixels, mode)
    if bomb:
        return bomb
    problems: list[tuple[str, str]] = []
    try:
        simplejpeg.decode_jpeg(data, colorspace=out, strict=True, **_JPEG_FAST)
    except Exception as strict_exc:
        try:
            simplejpeg.decode_jpeg(data, colorspace=out, strict=False, **_JPEG_FAST)
        except Exception as exc:
            return _fail("jpeg", f"JPEG does not decode: {exc}", height=height, width=width,
                         mode=mode)
        problems.append(("DS401", f"corrupt JPEG (libjpeg: {strict_exc})"))
    if mode == "CMYK":
        problems.append(("DS403", f"{space} JPEG: OpenCV converts it to 3 channels "
                         "(Adobe CMYK often with inverted colours); convert it to RGB"))
    return ImageResult("jpeg", channels, height, width, mode, tuple(problems))


# ------------------------------------------------------------------------------------------- PNG

_PNG_MODES = {0: "L", 2: "RGB", 3: "P", 4: "LA", 6: "RGBA"}


def _png_chunks(data: bytes) -> tuple[list[str], bool, list[int]]:
    """Walk every chunk: (problems, has tRNS, offsets of chunks whose CRC is wrong)."""
    view = memoryview(data)
    problems: list[str] = []
    bad_crc: list[int] = []
    trns = iend = False
    pos, end = 8, len(data)
    while pos + 12 <= end:
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        name = kind.decode("latin-1")
        if not kind.isalpha() or not kind.isascii():
            problems.append(f"invalid chunk type {kind!r} at offset {pos}")
            break
        stop = pos + 12 + length
        if stop > end:
            problems.append(f"{name}: chunk cut short at byte {end} (file truncated)")
            break
        stored = int.from_bytes(data[stop - 4:stop], "big")
        computed = zlib.crc32(view[pos + 4:stop - 4])
        if stored != computed:
            problems.append(f"{name}: CRC error (stored 0x{stored:08x}, computed 0x{computed:08x})")
            bad_crc.append(pos)
        trns = trns or kind == b"tRNS"
        if kind == b"IEND":
            iend = True
            break
        pos = stop
    if not iend and not problems:
        problems.append("no IEND chunk (file truncated)")
    return problems, trns, bad_crc


def _png(data: bytes, max_pixels: int) -> ImageResult:
    if len(data) < 33 or data[12:16] != b"IHDR":
        return _fail("png", "PNG header broken (no IHDR chunk)")
    width, height, depth, color = struct.unpack(">IIBB", data[16:26])
    mode = _PNG_MODES.get(color, "")
    if color == 0 and depth == 1:
        mode = "1"
    elif color == 0 and depth == 16:
        mode = "I;16"
    bomb = _bomb("png", width, height, max_pixels, mode)
    if bomb:
        return bomb
    chunk_problems, trns, bad_crc = _png_chunks(data)
    if bad_crc:  # decode a CRC-repaired copy to learn whether the pixels are there
        fixed = bytearray(data)
        for pos in bad_crc:
            length = int.from_bytes(data[pos:pos + 4], "big")
            crc = zlib.crc32(memoryview(data)[pos + 4:pos + 8 + length])
            fixed[pos + 8 + length:pos + 12 + length] = crc.to_bytes(4, "big")
        data = bytes(fixed)
    image, error, caught = _pillow_decode("png", data)
    if error is not None:
        detail = "; ".join(chunk_problems)
        return _fail("png", f"PNG does not decode: {error}" + (f" ({detail})" if detail else ""),
                     height=height, width=width, mode=mode)
    problems = [("DS401", f"corrupt PNG: {p}") for p in chunk_problems]
    problems += [("DS401", f"decoder warning: {w}") for w in caught]
    channels = 1 if color == 0 else 4 if color in (4, 6) or trns and color in (2, 3) else 3
    if depth == 16:
        problems.append(("DS403", f"16-bit PNG: {_UNSIGNED}"))
    if color in (4, 6):
        problems.append(("DS403", f"{mode} PNG has alpha: OpenCV decodes it as 4 channels"))
    elif trns and color in (2, 3):
        problems.append(("DS403", f"{mode} PNG with transparency (tRNS): "
                         "OpenCV decodes it as 4 channels"))
    return ImageResult("png", channels, height, width, mode, tuple(problems))


# --------------------------------------------------------------------- BMP, GIF, TIFF, WEBP (Pillow)

# Plugin classes are used directly: Image.open() would apply Pillow's global MAX_IMAGE_PIXELS.
_PIL_CLASSES = {"png": PngImagePlugin.PngImageFile, "bmp": BmpImagePlugin.BmpImageFile,
                "gif": GifImagePlugin.GifImageFile, "tiff": TiffImagePlugin.TiffImageFile}
if WebPImagePlugin is not None:
    _PIL_CLASSES["webp"] = WebPImagePlugin.WebPImageFile

_GRAY = {"1", "L", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"}
_ALPHA = {"RGBA", "LA", "PA", "La", "RGBa"}
_NOT_8BIT = {"I", "F", "I;16", "I;16L", "I;16B", "I;16N"}


def _pillow_decode(fmt: str, data: bytes, max_pixels: int | None = None):
    """Open and fully load with Pillow: (image or None, error text or None, warning texts)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            image = _PIL_CLASSES[fmt](io.BytesIO(data))
            if max_pixels is not None and image.size[0] * image.size[1] > max_pixels:
                return image, None, []  # the caller reports DS402; nothing allocated
            image.load()
        except Exception as exc:
            return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, []
    return image, None, [str(w.message) for w in caught]


def _pillow(fmt: str, data: bytes, max_pixels: int) -> ImageResult:
    image, error, caught = _pillow_decode(fmt, data, max_pixels)
    if image is None:
        return _fail(fmt, f"{fmt.upper()} does not decode: {error}")
    width, height = image.size
    mode = image.mode
    bomb = _bomb(fmt, width, height, max_pixels, mode)
    if bomb:
        return bomb
    problems = [("DS401", f"decoder warning: {w}") for w in caught]
    transparent = mode == "P" and "transparency" in image.info
    if mode in _GRAY:
        channels = 1
    elif mode in _ALPHA or mode == "CMYK" or transparent:
        channels = 4
    else:
        channels = 3
    bits = image.tag_v2.get(258) if fmt == "tiff" else None
    if mode in _NOT_8BIT or (bits and max(bits) > 8):
        problems.append(("DS403", f"{mode} {fmt.upper()} is not 8-bit: {_UNSIGNED}"))
    if mode in _ALPHA:
        problems.append(("DS403", f"{mode} {fmt.upper()} has alpha: OpenCV decodes it as 4 channels"))
    elif transparent:
        problems.append(("DS403", f"palette {fmt.upper()} with transparency: "
                         "OpenCV decodes it as 4 channels"))
    elif mode in ("CMYK", "LAB", "HSV", "YCbCr") and fmt != "jpeg":
        problems.append(("DS403", f"{mode} {fmt.upper()}: Caffe's loader expects gray or RGB"))
    return ImageResult(fmt, channels, height, width, mode, tuple(problems))
