"""PNG checked as libpng would check it: every chunk CRC (Pillow skips IDAT's), IEND, the whole
zlib stream with its Adler-32 (Pillow stops once it has its rows), the data size and every row's
filter byte. Unfiltering cannot fail, so no pixels are materialised."""
from __future__ import annotations

import struct
import zlib

from .result import ALPHA, DEPTH, UNSIGNED, ImageResult, Note, bomb, fail


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


def check_png(data: bytes, max_pixels: int) -> ImageResult:
    if len(data) < 33 or data[8:16] != b"\x00\x00\x00\x0dIHDR":
        return fail("png", "PNG header broken (no IHDR chunk)")
    width, height, depth, color, comp, filt, inter = struct.unpack(">IIBBBBB", data[16:29])
    if not (0 < width < 1 << 31 and 0 < height < 1 << 31) or comp or filt or inter > 1 \
            or depth not in _PNG_DEPTHS.get(color, ()):
        return fail("png", f"PNG header invalid (IHDR {width}x{height}, bit depth {depth}, "
                     f"colour type {color}, methods {comp}/{filt}/{inter})")
    mode = {1: "1", 16: "I;16"}.get(depth, "L") if color == 0 else _PNG_MODES[color]
    ihdr_crc_ok = zlib.crc32(data[12:29]) == struct.unpack(">I", data[29:33])[0]
    if width * height > max_pixels and not ihdr_crc_ok:  # do not call a garbled header a bomb
        return fail("png", f"PNG header broken: IHDR CRC error, claims {width}x{height}")
    too_big = bomb("png", width, height, max_pixels, mode)
    if too_big:
        return too_big
    chunk_problems, trns, idats = _png_chunks(data, color, depth)
    bits = depth * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    fatal, warning = _png_pixels(idats, _png_rows(width, height, bits, inter == 1))
    if fatal:
        detail = "".join(f"; {p}" for p in chunk_problems)
        return fail("png", f"PNG does not decode: {fatal}{detail}", height=height, width=width,
                     mode=mode)
    warned = tuple(f"corrupt PNG: {p}" for p in chunk_problems + [warning] if p)
    channels = 1 if color == 0 else 4 if color in (4, 6) or trns and color in (2, 3) else 3
    notes = []
    if depth == 16:
        notes.append(Note(DEPTH, f"16-bit PNG: {UNSIGNED}"))
    if color in (4, 6):
        notes.append(Note(ALPHA, f"{mode} PNG has alpha: OpenCV decodes it as 4 channels"))
    elif trns and color in (2, 3):
        notes.append(Note(ALPHA, f"{mode} PNG with transparency (tRNS): OpenCV decodes it as 4 "
                                 "channels"))
    return ImageResult("png", channels, height, width, mode, depth, warnings=warned,
                       notes=tuple(notes))
