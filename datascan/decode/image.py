"""Decode one encoded image strictly and say what was found: does it decode, with which
corruption warnings, how big is it, what about its mode will Caffe's loader not take?

``inspect_image`` never raises and never prints. It returns facts (result.py): why it does not
decode, a header claiming more than ``max_pixels`` (nothing decoded), the decoder's corruption
warnings, and notes on a mode Caffe's ``imdecode(IMREAD_UNCHANGED)`` path rejects or mangles
(16-bit, alpha, CMYK). checks/image.py turns them into findings.

JPEG (the hot path): libjpeg-turbo via simplejpeg, ``strict=True`` (every libjpeg warning raises),
at 1/8 scale: every coefficient is still Huffman-decoded, so corrupt entropy data and truncation are
caught exactly as at full scale, ~1.4x faster. PNG is checked as libpng would (png.py).
BMP/GIF/TIFF/WebP: Pillow plugin classes used directly (Pillow's global MAX_IMAGE_PIXELS untouched).
"""
from __future__ import annotations

import io
import os
import tempfile
import warnings
from contextlib import contextmanager

import simplejpeg

from ..config import MAX_IMAGE_PIXELS
from .magic import sniff
from .png import check_png
from .result import ALPHA, COLOURS, DEPTH, UNSIGNED as _UNSIGNED, ImageResult, Note, bomb as _bomb, \
    fail as _fail

__all__ = ["ImageResult", "inspect_image", "sniff"]


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
            return check_png(data, max_pixels)
        return _pillow(fmt, data, max_pixels)
    except Exception as exc:  # last resort: a decoder bug must not stop a scan
        return _fail(fmt, f"decoder failed: {type(exc).__name__}: {exc}")


def _not_an_image(data: bytes) -> str:
    text = data[:256].decode("utf-8", "replace")
    if all(c.isprintable() or c in "\r\n\t" for c in text) and "\ufffd" not in text:
        return f"not an image ({len(data)} bytes of text: {text[:40]!r})"
    return f"not an image ({len(data)} bytes starting {data[:8].hex()})"


# ------------------------------------------------------------------------------------------ JPEG

# header colorspace -> (Pillow-like mode, OpenCV channels, simplejpeg output colorspace).
# A colour JPEG is decoded to GRAY: the chroma is still entropy-decoded (its blocks are
# interleaved with the luma's), only its colour conversion is skipped; ~8% faster, and the
# same verdict and libjpeg message as an RGB decode on 9,000 corruptions tried.
_JPEG_SPACES = {"Gray": ("L", 1, "GRAY"), "CMYK": ("CMYK", 3, "CMYK"), "YCCK": ("CMYK", 3, "CMYK")}
_JPEG_COLOUR = ("RGB", 3, "GRAY")
_JPEG_FAST = {"fastdct": True, "fastupsample": True, "min_height": 1, "min_width": 1}  # 1/8 scale


def _jpeg(data: bytes, max_pixels: int) -> ImageResult:
    try:  # header warnings are caught by the strict decode below
        height, width, space, _sub = simplejpeg.decode_jpeg_header(data, strict=False)
    except Exception as exc:
        return _fail("jpeg", f"JPEG header does not parse: {exc}")
    mode, channels, out = _JPEG_SPACES.get(space, _JPEG_COLOUR)
    bomb = _bomb("jpeg", width, height, max_pixels, mode)
    if bomb:
        return bomb
    warned = []
    try:
        simplejpeg.decode_jpeg(data, colorspace=out, strict=True, **_JPEG_FAST)
    except Exception as strict_exc:
        try:
            simplejpeg.decode_jpeg(data, colorspace=out, strict=False, **_JPEG_FAST)
        except Exception as exc:
            return _fail("jpeg", f"JPEG does not decode: {exc}", height=height, width=width,
                         mode=mode)
        warned.append(f"corrupt JPEG (libjpeg: {strict_exc})")
    notes = (Note(COLOURS, f"{space} JPEG: decoders disagree on its colours (Adobe inverted CMYK); "
                  "OpenCV gives 3 channels. Convert it to RGB"),) if mode == "CMYK" else ()
    return ImageResult("jpeg", channels, height, width, mode, warnings=tuple(warned), notes=notes)


# ------------------------------------------------------------------ BMP, GIF, TIFF, WEBP (Pillow)

def _pil_class(fmt: str):
    """Pillow's plugin class for `fmt`, used directly: Image.open() would apply Pillow's global
    MAX_IMAGE_PIXELS. Imported on the first such image: a JPEG or PNG set never loads Pillow
    (~25 ms a worker)."""
    from PIL import BmpImagePlugin, GifImagePlugin, TiffImagePlugin
    classes = {"bmp": BmpImagePlugin.BmpImageFile, "gif": GifImagePlugin.GifImageFile,
               "tiff": TiffImagePlugin.TiffImageFile}
    if fmt == "webp":
        try:  # Pillow may be built without libwebp
            from PIL import WebPImagePlugin
        except ImportError:  # pragma: no cover - depends on the Pillow build
            raise ValueError("this Pillow was built without WebP") from None
        return WebPImagePlugin.WebPImageFile
    return classes[fmt]

_GRAY = {"1", "L", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"}
_ALPHA = {"RGBA", "LA", "PA", "La", "RGBa"}


@contextmanager
def _fd2_captured(active: bool):
    """libtiff (Pillow's compressed-TIFF decoder) prints warnings to fd 2: capture them as text."""
    out: list[str] = []
    try:
        saved = os.dup(2) if active else -1
    except OSError:  # no fd 2 at all: nothing to protect
        saved = -1
    if saved < 0:
        yield out
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield out
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            out.extend(line for line in tmp.read().decode("utf-8", "replace").splitlines() if line)


def _pillow(fmt: str, data: bytes, max_pixels: int) -> ImageResult:
    """Open and fully load with Pillow, its Python warnings (and libtiff's) captured as warnings."""
    with warnings.catch_warnings(record=True) as caught, _fd2_captured(fmt == "tiff") as printed:
        warnings.simplefilter("always")
        try:
            image = _pil_class(fmt)(io.BytesIO(data))
            width, height = image.size
            bomb = _bomb(fmt, width, height, max_pixels, image.mode)
            if bomb:
                return bomb
            image.load()
        except Exception as exc:
            error = f"{fmt.upper()} does not decode: {type(exc).__name__}: {exc}"
        else:
            error = None
    if error:
        return _fail(fmt, error + "".join(f"; {line}" for line in printed[:3]))
    mode, kind = image.mode, fmt.upper()
    warned = tuple(f"decoder warning: {w}" for w in [w.message for w in caught] + printed)
    transparent = mode == "P" and "transparency" in image.info
    channels = 1 if mode in _GRAY else 4 if mode in _ALPHA or mode == "CMYK" or transparent else 3
    bits = image.tag_v2.get(258, 8) if fmt == "tiff" else 8
    bits = max(bits if isinstance(bits, tuple) else (bits,))
    notes = []
    if mode in _GRAY - {"1", "L"} or bits > 8:
        notes.append(Note(DEPTH, f"{mode} {kind} is not 8-bit: {_UNSIGNED}"))
    if mode in _ALPHA:
        notes.append(Note(ALPHA, f"{mode} {kind} has alpha: OpenCV decodes it as 4 channels"))
    elif transparent:
        notes.append(Note(ALPHA, f"palette {kind} with transparency: OpenCV decodes 4 channels"))
    elif mode in ("CMYK", "LAB", "HSV"):
        notes.append(Note(COLOURS, f"{mode} {kind}: Caffe's loader expects gray or RGB"))
    return ImageResult(fmt, channels, height, width, mode, bits, warnings=warned, notes=tuple(notes))
