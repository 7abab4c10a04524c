"""Check one encoded image: does it decode cleanly, how big is it, will Caffe's loader take it?

``inspect_image`` never raises and never prints. DS400 does not decode, DS401 decodes only with
corruption warnings, DS402 header claims more than ``max_pixels`` (nothing decoded), DS403 a mode
Caffe's ``imdecode(IMREAD_UNCHANGED)`` path rejects or mangles (16-bit, alpha, CMYK).

JPEG (the hot path): libjpeg-turbo via simplejpeg, ``strict=True`` (every libjpeg warning raises),
at 1/8 scale: every coefficient is still Huffman-decoded, so corrupt entropy data and truncation are
caught exactly as at full scale, ~1.4x faster. PNG is checked as libpng would: every chunk CRC
(Pillow skips IDAT's), IEND, the whole zlib stream with its Adler-32 (Pillow stops once it has its
rows), the data size and every row's filter byte; unfiltering cannot fail, so Pillow is not needed.
BMP/GIF/TIFF/WebP: Pillow plugin classes used directly (Pillow's global MAX_IMAGE_PIXELS untouched).
"""
from __future__ import annotations

import io
import os
import struct
import tempfile
import warnings
import zlib
from contextlib import contextmanager
from dataclasses import dataclass

import simplejpeg
from PIL import BmpImagePlugin, GifImagePlugin, TiffImagePlugin

from ..config import MAX_IMAGE_PIXELS

try:  # Pillow may be built without libwebp
    from PIL import WebPImagePlugin
except ImportError:  # pragma: no cover - depends on the Pillow build
    WebPImagePlugin = None

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_UNSIGNED = 'Caffe stops with "Image data type must be unsigned byte"'


@dataclass(frozen=True)
class ImageResult:
    format: str | None      # "jpeg" "png" "bmp" "gif" "tiff" "webp", None if not an image
    channels: int           # as OpenCV imdecode(IMREAD_UNCHANGED) gives them; 0 if undecodable
    height: int
    width: int
    mode: str               # Pillow-like mode ("L", "RGB", "RGBA", "CMYK", "I;16", "P", ...) or ""
    problems: tuple[tuple[str, str], ...]   # (code, message), code in DS400..DS403
    gray_fill_rows: int = 0  # for raw decoded pixels (DS303); not computed here


_MAGIC = ((b"\xff\xd8\xff", "jpeg"), (PNG_SIGNATURE, "png"), (b"BM", "bmp"), (b"GIF87a", "gif"),
          (b"GIF89a", "gif"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"))


def sniff(data: bytes) -> str | None:
    """Image format from the magic bytes alone (no parsing beyond them)."""
    head = bytes(data[:12])
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return next((fmt for magic, fmt in _MAGIC if head.startswith(magic)), None)


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


def _fail(fmt: str | None, message: str, code: str = "DS400", height: int = 0,
          width: int = 0, mode: str = "") -> ImageResult:
    return ImageResult(fmt, 0, height, width, mode, ((code, message),))


def _not_an_image(data: bytes) -> str:
    text = data[:256].decode("utf-8", "replace")
    if all(c.isprintable() or c in "\r\n\t" for c in text) and "\ufffd" not in text:
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
    problems = []
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
        problems.append(("DS403", f"{space} JPEG: decoders disagree on its colours (Adobe "
                         "inverted CMYK); OpenCV gives 3 channels. Convert it to RGB"))
    return ImageResult("jpeg", channels, height, width, mode, tuple(problems))


# ------------------------------------------------------------------------------------------- PNG

_PNG_MODES = {0: "L", 2: "RGB", 3: "P", 4: "LA", 6: "RGBA"}
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}


def _png_chunks(data: bytes, color: int, depth: int) -> tuple[list[str], bool, list[memoryview]]:
    """Walk every chunk, checking each CRC: (problems, has tRNS, IDAT payloads)."""
    view = memoryview(data)
    problems: list[str] = []
    idats: list[memoryview] = []
    trns = iend = plte = False
    pos, end = 8, len(data)
    while pos + 12 <= end:
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        name = kind.decode("latin-1")
        if not kind.isalpha():
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
        if kind == b"IDAT":
            idats.append(view[pos + 8:stop - 4])
        elif kind == b"PLTE":
            plte = True
            if length % 3 or not 0 < length <= (3 << depth if color == 3 else 768):
                problems.append(f"PLTE: invalid length {length} for a {depth}-bit image")
        trns = trns or kind == b"tRNS"
        if kind == b"IEND":
            iend = True
            break
        pos = stop
    if not iend and not problems:
        problems.append("no IEND chunk (file truncated)")
    if color == 3 and not plte:
        problems.append("palette image without PLTE chunk")
    return problems, trns, idats


_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))


def _png_rows(width: int, height: int, bits: int, interlaced: bool) -> list[tuple[int, int, int]]:
    """Rows of the inflated image data as (offset of the first row, row stride, row count)."""
    rows, start = [], 0
    for x0, y0, dx, dy in _ADAM7 if interlaced else ((0, 0, 1, 1),):
        w, h = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if w > 0 and h > 0:
            rows.append((start, 1 + (w * bits + 7) // 8, h))
            start += rows[-1][1] * h
    return rows


def _bad_filter(block: bytes, pos: int, rows: list[tuple[int, int, int]]) -> int | None:
    """A row filter-type byte > 4 inside ``block`` (which starts at offset ``pos``), if any."""
    end = pos + len(block)
    for start, stride, count in rows:
        first = start + max(0, -(-(pos - start) // stride)) * stride - pos
        limit = min(end, start + stride * count) - pos
        if first < limit:
            worst = max(block[first:limit:stride])
            if worst > 4:
                return worst
    return None


def _png_pixels(idats: list, rows: list, wbits: int = zlib.MAX_WBITS) -> tuple[str | None, ...]:
    """Inflate all IDAT data in bounded memory: zlib errors, Adler-32, size, row filter bytes.
    Returns (why the pixels do not decode, corruption warning)."""
    expected = rows[-1][0] + rows[-1][1] * rows[-1][2]
    inflater, total, used = zlib.decompressobj(wbits), 0, 0
    try:
        for used, part in enumerate(idats, 1):
            while part and not inflater.eof and total <= expected:
                block = inflater.decompress(part, 1 << 20)
                bad = _bad_filter(block, total, rows)
                if bad is not None:
                    return f"IDAT: invalid row filter type {bad}", None
                total += len(block)
                part = inflater.unconsumed_tail
            if inflater.eof or total > expected:
                break
    except zlib.error as exc:
        if "incorrect data check" in str(exc) and wbits > 0 and len(idats[0]) > 2:
            # Adler-32 is checked after the last byte is out: are the rows all there?
            fatal, _ = _png_pixels([idats[0][2:], *idats[1:]], rows, -zlib.MAX_WBITS)
            return fatal, None if fatal else f"IDAT: Adler-32 checksum error ({exc})"
        return f"IDAT: zlib error ({exc})", None
    if total < expected:
        return f"IDAT: image data ends after {total} of {expected} bytes", None
    if total > expected:
        return None, f"IDAT: more image data than the {expected} bytes the header implies"
    if not inflater.eof:
        return None, "IDAT: zlib stream not terminated"
    if inflater.unused_data or any(len(part) for part in idats[used:]):
        return None, "IDAT: extra data after the zlib stream"
    return None, None


def _png(data: bytes, max_pixels: int) -> ImageResult:
    if len(data) < 33 or data[8:16] != b"\x00\x00\x00\x0dIHDR":
        return _fail("png", "PNG header broken (no IHDR chunk)")
    width, height, depth, color, comp, filt, inter = struct.unpack(">IIBBBBB", data[16:29])
    if not (0 < width < 1 << 31 and 0 < height < 1 << 31) or comp or filt or inter > 1 \
            or depth not in _PNG_DEPTHS.get(color, ()):
        return _fail("png", f"PNG header invalid (IHDR {width}x{height}, bit depth {depth}, "
                     f"colour type {color}, methods {comp}/{filt}/{inter})")
    mode = {1: "1", 16: "I;16"}.get(depth, "L") if color == 0 else _PNG_MODES[color]
    ihdr_crc_ok = zlib.crc32(data[12:29]) == struct.unpack(">I", data[29:33])[0]
    if width * height > max_pixels and not ihdr_crc_ok:  # do not call a garbled header a bomb
        return _fail("png", f"PNG header broken: IHDR CRC error, claims {width}x{height}")
    bomb = _bomb("png", width, height, max_pixels, mode)
    if bomb:
        return bomb
    chunk_problems, trns, idats = _png_chunks(data, color, depth)
    bits = depth * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    fatal, warning = _png_pixels(idats, _png_rows(width, height, bits, inter == 1))
    if fatal:
        detail = "".join(f"; {p}" for p in chunk_problems)
        return _fail("png", f"PNG does not decode: {fatal}{detail}", height=height, width=width,
                     mode=mode)
    problems = [("DS401", f"corrupt PNG: {p}") for p in chunk_problems + [warning] if p]
    channels = 1 if color == 0 else 4 if color in (4, 6) or trns and color in (2, 3) else 3
    if depth == 16:
        problems.append(("DS403", f"16-bit PNG: {_UNSIGNED}"))
    if color in (4, 6):
        problems.append(("DS403", f"{mode} PNG has alpha: OpenCV decodes it as 4 channels"))
    elif trns and color in (2, 3):
        problems.append(("DS403", f"{mode} PNG with transparency (tRNS): "
                         "OpenCV decodes it as 4 channels"))
    return ImageResult("png", channels, height, width, mode, tuple(problems))


# ------------------------------------------------------------------ BMP, GIF, TIFF, WEBP (Pillow)

# Plugin classes are used directly: Image.open() would apply Pillow's global MAX_IMAGE_PIXELS.
_PIL_CLASSES = {"bmp": BmpImagePlugin.BmpImageFile, "gif": GifImagePlugin.GifImageFile,
                "tiff": TiffImagePlugin.TiffImageFile}
if WebPImagePlugin is not None:
    _PIL_CLASSES["webp"] = WebPImagePlugin.WebPImageFile

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
    """Open and fully load with Pillow, its Python warnings (and libtiff's) captured as DS401."""
    with warnings.catch_warnings(record=True) as caught, _fd2_captured(fmt == "tiff") as printed:
        warnings.simplefilter("always")
        try:
            image = _PIL_CLASSES[fmt](io.BytesIO(data))
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
    problems = [("DS401", f"decoder warning: {w}") for w in [w.message for w in caught] + printed]
    transparent = mode == "P" and "transparency" in image.info
    channels = 1 if mode in _GRAY else 4 if mode in _ALPHA or mode == "CMYK" or transparent else 3
    bits = image.tag_v2.get(258, 8) if fmt == "tiff" else 8
    if mode in _GRAY - {"1", "L"} or max(bits if isinstance(bits, tuple) else (bits,)) > 8:
        problems.append(("DS403", f"{mode} {kind} is not 8-bit: {_UNSIGNED}"))
    if mode in _ALPHA:
        problems.append(("DS403", f"{mode} {kind} has alpha: OpenCV decodes it as 4 channels"))
    elif transparent:
        problems.append(("DS403", f"palette {kind} with transparency: OpenCV decodes 4 channels"))
    elif mode in ("CMYK", "LAB", "HSV"):
        problems.append(("DS403", f"{mode} {kind}: Caffe's loader expects gray or RGB"))
    return ImageResult(fmt, channels, height, width, mode, tuple(problems))
