"""inspect_image / sniff on real encoded images built here with Pillow and numpy (no mocks),
checked against jpeginfo/pngcheck and against the caffe-ref image set when it is present."""
from __future__ import annotations

import io
import random
import shutil
import struct
import subprocess
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import simplejpeg
from PIL import Image, features

from datascan.checks.image import ImageDecode
from datascan.decode.image import ImageResult, inspect_image, sniff

CAFFE_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "caffe-ref" / "images"
CORRUPT = {"DS400", "DS401"}


# ------------------------------------------------------------------------------------- builders

def pixels(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x * 255 // w, y * 255 // h, (x + y) * 127 // (w + h)], axis=-1)
    return np.clip(rgb + rng.integers(-25, 25, rgb.shape), 0, 255).astype(np.uint8)


def encode(image: Image.Image | np.ndarray, fmt: str, **kw) -> bytes:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def jpeg(mode: str = "RGB", h: int = 48, w: int = 64, seed: int = 0, **kw) -> bytes:
    return encode(Image.fromarray(pixels(h, w, seed)).convert(mode), "JPEG", quality=90, **kw)


def png(mode: str = "RGB", h: int = 40, w: int = 40, seed: int = 0) -> bytes:
    return encode(Image.fromarray(pixels(h, w, seed)).convert(mode), "PNG")


def chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_raw(width: int, height: int, depth: int, color: int, raw: bytes, interlace: int = 0,
            after_idat: bytes = b"") -> bytes:
    """A PNG written chunk by chunk (for what Pillow cannot write: 16-bit RGB, interlaced...)."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
            + after_idat + chunk(b"IEND", b""))


def chunk_offset(data: bytes, kind: bytes) -> tuple[int, int]:
    """(offset of the chunk's length field, payload length) of the first chunk of that kind."""
    pos = 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        if data[pos + 4:pos + 8] == kind:
            return pos, length
        pos += 12 + length
    raise AssertionError(f"no {kind!r} chunk")


def scan_data_start(data: bytes) -> int:
    sos = data.index(b"\xff\xda")
    return sos + 2 + struct.unpack(">H", data[sos + 2:sos + 4])[0]


def corrupt_scan(data: bytes) -> bytes:
    """XOR a run of bytes in the middle of the entropy-coded data (headers left intact)."""
    start = scan_data_start(data)
    mid = (start + len(data)) // 2
    out = bytearray(data)
    for i in range(mid, mid + 24):
        out[i] ^= 0x5A
    return bytes(out)


def problems(result: ImageResult) -> list[tuple[str, str]]:
    """What the image check makes of the decoder's facts: (code, message) pairs."""
    return [(code.code, message) for code, message in ImageDecode().judge(result)]


def codes(result: ImageResult) -> set[str]:
    return {code for code, _ in problems(result)}


def messages(result: ImageResult) -> str:
    return " | ".join(message for _, message in problems(result))


# ----------------------------------------------------------------------------------- clean images

CLEAN = [
    ("jpeg", lambda: jpeg("RGB"), 3, "RGB"),
    ("jpeg", lambda: jpeg("RGB", progressive=True), 3, "RGB"),
    ("jpeg", lambda: jpeg("L"), 1, "L"),
    ("png", lambda: png("RGB"), 3, "RGB"),
    ("png", lambda: png("L"), 1, "L"),
    ("png", lambda: png("P"), 3, "P"),
    ("png", lambda: png("1"), 1, "1"),
    ("bmp", lambda: encode(pixels(40, 40), "BMP"), 3, "RGB"),
    ("bmp", lambda: encode(Image.fromarray(pixels(40, 40)).convert("L"), "BMP"), 1, "L"),
    ("gif", lambda: encode(Image.fromarray(pixels(40, 40)).convert("P"), "GIF"), 3, "P"),
    ("tiff", lambda: encode(pixels(40, 40), "TIFF", compression="tiff_lzw"), 3, "RGB"),
]


@pytest.mark.parametrize("fmt,build,channels,mode", CLEAN)
def test_clean_image_has_no_problem(fmt, build, channels, mode):
    data = build()
    result = inspect_image(data)
    assert problems(result) == []
    assert (result.format, result.channels, result.mode) == (fmt, channels, mode)
    assert (result.height, result.width) == Image.open(io.BytesIO(data)).size[::-1]
    assert sniff(data) == fmt


def test_classify_and_sniff_read_one_magic_table():
    from datascan.decode.datum import IMAGE, classify
    from datascan.decode.magic import MAGIC
    for magic, fmt in MAGIC + ((b"RIFF\x00\x00\x00\x00WEBP", "webp"),):
        assert sniff(magic + bytes(8)) == fmt and classify(magic + bytes(8)) == IMAGE
    assert sniff(b"RIFF\x00\x00\x00\x00WAVE") is None and classify(b"\x00\x01") != IMAGE


def test_clean_webp():
    if not features.check("webp"):
        pytest.skip("this Pillow build has no WebP support")
    result = inspect_image(encode(pixels(30, 50), "WEBP"))
    assert (result.format, result.channels, result.height, result.width, problems(result)) == (
        "webp", 3, 30, 50, [])


def test_grayscale_jpeg_is_not_a_problem_by_itself():
    result = inspect_image(jpeg("L", h=20, w=30))
    assert (result.channels, result.mode, result.height, result.width) == (1, "L", 20, 30)
    assert problems(result) == []


def test_accepts_bytearray_and_memoryview():
    data = jpeg()
    assert inspect_image(bytearray(data)) == inspect_image(data) == inspect_image(memoryview(data))


def test_sniff_magic_bytes():
    assert sniff(b"\xff\xd8\xff\xe0rest") == "jpeg"
    assert sniff(b"\x89PNG\r\n\x1a\n") == "png"
    assert sniff(b"BM\x00\x00") == "bmp"
    assert sniff(b"GIF87a") == sniff(b"GIF89a...") == "gif"
    assert sniff(b"II*\x00") == sniff(b"MM\x00*") == "tiff"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None
    for data in (b"", b"\xff\xd8", b"GIF88a", b"hello world", b"\x00" * 16):
        assert sniff(data) is None


# ------------------------------------------------------------------------------------ DS400/DS401

def test_empty_value_is_ds400():
    result = inspect_image(b"")
    assert problems(result) == [("DS400", "empty value")]
    assert (result.format, result.channels) == (None, 0)


def test_text_is_ds400():
    result = inspect_image(b"This is a plain text file, not an image.\n")
    assert codes(result) == {"DS400"}
    assert "not an image" in messages(result) and "text" in messages(result)


def test_truncated_jpeg_is_ds401():
    data = jpeg(h=64, w=64)
    result = inspect_image(data[:len(data) // 2])
    assert codes(result) == {"DS401"}
    assert "Premature end of JPEG file" in messages(result)
    assert (result.channels, result.height, result.width) == (3, 64, 64)


def test_jpeg_without_eoi_is_ds401_but_trailing_garbage_is_fine():
    data = jpeg()
    assert codes(inspect_image(data[:-2])) == {"DS401"}
    assert problems(inspect_image(data + b"\x00garbage after EOI" * 10)) == []


def test_corrupt_entropy_data_is_flagged():
    result = inspect_image(corrupt_scan(jpeg(h=64, w=96)))
    assert codes(result) & CORRUPT and "DS402" not in codes(result)
    assert "JPEG" in messages(result)


def test_jpeg_header_only_is_ds400():
    data = jpeg()
    assert codes(inspect_image(data[:scan_data_start(data) - 20])) == {"DS400"}
    assert codes(inspect_image(b"\xff\xd8\xff" + b"\x00" * 50)) == {"DS400"}


def test_png_with_flipped_idat_crc_is_flagged():
    data = bytearray(png())
    pos, length = chunk_offset(bytes(data), b"IDAT")
    data[pos + 8 + length] ^= 0xFF
    result = inspect_image(bytes(data))
    assert codes(result) & CORRUPT
    assert "IDAT" in messages(result) and "CRC" in messages(result)
    Image.open(io.BytesIO(bytes(data))).load()  # why the chunk walk is needed: Pillow passes it


def test_png_cut_before_iend_is_flagged_and_cut_in_idat_is_ds400():
    data = png()
    pos, _ = chunk_offset(data, b"IEND")
    assert codes(inspect_image(data[:pos])) & CORRUPT
    assert "IEND" in messages(inspect_image(data[:pos]))
    assert codes(inspect_image(data[:len(data) // 2])) == {"DS400"}


def test_png_trailing_data_after_iend_is_not_a_problem():
    assert problems(inspect_image(png() + b"trailing bytes")) == []


def test_png_bad_adler32_with_valid_crcs_is_flagged():
    """The zlib trailer sits in its own IDAT chunk: Pillow stops once it has its rows and never
    reads it; libpng (and pngcheck) check it."""
    raw = b"".join(b"\x00" + bytes(range(i, i + 30)) for i in range(10))  # 10x10 RGB
    stream = bytearray(zlib.compress(raw))
    stream[-1] ^= 0xFF
    ihdr = struct.pack(">IIBBBBB", 10, 10, 8, 2, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", bytes(stream[:-4]))
            + chunk(b"IDAT", bytes(stream[-4:])) + chunk(b"IEND", b""))
    Image.open(io.BytesIO(data)).load()
    result = inspect_image(data)
    assert codes(result) == {"DS401"} and "Adler-32" in messages(result)
    extra = png_raw(10, 10, 8, 2, raw, after_idat=chunk(b"IDAT", b"junk"))
    assert problems(inspect_image(png_raw(10, 10, 8, 2, raw))) == []
    assert codes(inspect_image(extra)) == {"DS401"} and "extra data" in messages(inspect_image(extra))


def test_png_bad_row_filter_is_ds400():
    raw = b"".join(b"\x07" + bytes(30) for _ in range(10))
    assert codes(inspect_image(png_raw(10, 10, 8, 2, raw))) == {"DS400"}


def test_interlaced_png_rows_are_accounted():
    """Adam7 5x3 gray: passes of 1x1, 1x1, -, 1x1, 3x1, 2x2, 5x1 pixels, each row + filter byte."""
    raw = b"".join((b"\x00" + bytes(range(1, w + 1))) * h
                   for w, h in ((1, 1), (1, 1), (1, 1), (3, 1), (2, 2), (5, 1)))
    assert len(raw) == 22
    data = png_raw(5, 3, 8, 0, raw, interlace=1)
    assert Image.open(io.BytesIO(data)).size == (5, 3)
    Image.open(io.BytesIO(data)).load()
    assert problems(inspect_image(data)) == []
    assert codes(inspect_image(png_raw(5, 3, 8, 0, raw[:-1], interlace=1))) == {"DS400"}
    # the same bytes read as non-interlaced: 3 rows of 6 = 18 bytes, 4 too many
    assert codes(inspect_image(png_raw(5, 3, 8, 0, raw))) == {"DS401"}


# ------------------------------------------------------------------------------------------ DS402

def test_huge_png_header_is_ds402_without_decoding():
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
            + chunk(b"IEND", b""))
    tracemalloc.start()
    result = inspect_image(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert codes(result) == {"DS402"}
    assert (result.height, result.width, result.channels) == (100_000, 100_000, 0)
    assert result.bomb and result.warnings == result.notes == ()   # facts, not verdicts
    assert "100000x100000" in messages(result)
    assert peak < 1 << 20      # nothing decoded: 100,000 x 100,000 pixels would be 30 GB


def test_huge_jpeg_and_bmp_headers_are_ds402():
    data = bytearray(jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)
    assert simplejpeg.decode_jpeg_header(bytes(data))[:2] == (60000, 60000)
    assert codes(inspect_image(bytes(data))) == {"DS402"}
    bmp = bytearray(encode(pixels(8, 8), "BMP"))
    bmp[18:26] = struct.pack("<ii", 30000, 30000)
    result = inspect_image(bytes(bmp))
    assert codes(result) == {"DS402"} and (result.height, result.width) == (30000, 30000)


def test_max_pixels_is_ours_not_pillows(monkeypatch):
    assert codes(inspect_image(jpeg(), max_pixels=1000)) == {"DS402"}
    assert codes(inspect_image(png(), max_pixels=1000)) == {"DS402"}
    gif = encode(Image.fromarray(pixels(40, 40)).convert("P"), "GIF")
    assert codes(inspect_image(gif, max_pixels=1000)) == {"DS402"}
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow's global must not matter
    assert problems(inspect_image(gif)) == []
    assert problems(inspect_image(encode(pixels(40, 40), "BMP"))) == []
    assert Image.MAX_IMAGE_PIXELS == 100


# ------------------------------------------------------------------------------------------ DS403

def test_16bit_png_is_ds403():
    gray16 = encode(Image.fromarray(pixels()[..., 0].astype(np.uint16) * 257), "PNG")
    result = inspect_image(gray16)
    assert codes(result) == {"DS403"} and result.mode == "I;16" and result.channels == 1
    assert result.bits == 16 and result.fatal is None and not result.bomb
    assert "unsigned byte" in messages(result)
    rgb16 = png_raw(4, 3, 16, 2, b"".join(b"\x00" + bytes(24) for _ in range(3)))
    result = inspect_image(rgb16)
    assert codes(result) == {"DS403"} and result.channels == 3 and "16-bit" in messages(result)


def test_alpha_and_palette_transparency_are_ds403():
    rgba = inspect_image(png("RGBA"))
    assert codes(rgba) == {"DS403"} and (rgba.channels, rgba.mode) == (4, "RGBA")
    la = inspect_image(png("LA"))
    assert codes(la) == {"DS403"} and (la.channels, la.mode) == (4, "LA")
    palette = Image.fromarray(pixels(20, 20)).convert("P")
    result = inspect_image(encode(palette, "PNG", transparency=0))
    assert codes(result) == {"DS403"} and result.channels == 4
    gif = inspect_image(encode(palette, "GIF", transparency=0))
    assert codes(gif) == {"DS403"} and gif.channels == 4


def test_cmyk_jpeg_is_ds403_only_and_still_checked_for_corruption():
    data = jpeg("CMYK", h=64, w=64)
    result = inspect_image(data)
    assert problems(result)[0][0] == "DS403" and codes(result) == {"DS403"}
    assert (result.mode, result.channels, result.height, result.width) == ("CMYK", 3, 64, 64)
    assert codes(inspect_image(data[:len(data) // 2])) == {"DS401", "DS403"}


# ------------------------------------------------------------------------------------ robustness

def _variants() -> list[bytes]:
    rng = random.Random(1234)
    sources = [jpeg(), jpeg("L", progressive=True), jpeg("CMYK"), png(), png("P"), png("RGBA"),
               encode(pixels(24, 24), "BMP"), encode(Image.fromarray(pixels(24, 24)).convert("P"), "GIF"),
               encode(pixels(24, 24), "TIFF", compression="tiff_lzw"), encode(pixels(24, 24), "TIFF")]
    if features.check("webp"):
        sources.append(encode(pixels(24, 24), "WEBP"))
    out = []
    for data in sources:
        for cut in range(0, len(data), max(1, len(data) // 25)):
            out.append(data[:cut])
        for _ in range(25):
            b = bytearray(data)
            for _ in range(rng.choice((1, 3, 10))):
                b[rng.randrange(len(b))] = rng.randrange(256)
            out.append(bytes(b))
        out.append(data[:12] + bytes(rng.randrange(256) for _ in range(200)))
    out += [bytes(rng.randrange(256) for _ in range(rng.randrange(64))) for _ in range(100)]
    return out


def test_never_raises_never_prints(capfd):
    for data in _variants():
        result = inspect_image(data)
        assert isinstance(result, ImageResult)
        assert codes(result) <= {"DS400", "DS401", "DS402", "DS403"}
        assert result.format == sniff(data)
        if codes(result) & {"DS400", "DS402"}:
            assert result.channels == 0
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_reduced_scale_decode_flags_exactly_what_full_strict_decode_flags():
    """inspect_image decodes JPEG at 1/8 scale: it must agree with a full-size strict decode."""
    rng = random.Random(7)
    good = jpeg(h=96, w=128, seed=3)
    start = scan_data_start(good)
    for _ in range(150):
        b = bytearray(good)
        for _ in range(rng.choice((1, 2, 5))):
            b[rng.randrange(start, len(b) - 2)] = rng.randrange(256)
        data = bytes(b)
        try:
            simplejpeg.decode_jpeg(data, strict=True)
            full_ok = True
        except ValueError:
            full_ok = False
        assert full_ok == (not codes(inspect_image(data)) & CORRUPT)


# ------------------------------------------------------------------ jpeginfo / pngcheck reference

def _reference_set(tmp_path: Path) -> list[tuple[Path, str]]:
    """(file, exception) pairs; exception names why a tool's rejection is *not* a DS400/DS401."""
    rng = random.Random(99)
    files: dict[str, tuple[bytes, str]] = {
        "good.jpg": (jpeg(), ""), "gray.jpg": (jpeg("L"), ""), "prog.jpg": (jpeg(progressive=True), ""),
        "trailing.jpg": (jpeg() + b"junk", ""), "truncated.jpg": (jpeg()[:900], ""),
        "no_eoi.jpg": (jpeg()[:-2], ""), "entropy.jpg": (corrupt_scan(jpeg(h=64, w=96)), ""),
        "cmyk.jpg": (jpeg("CMYK"), "cmyk"),
        "good.png": (png(), ""), "rgba.png": (png("RGBA"), ""), "pal.png": (png("P"), ""),
        "no_iend.png": (png()[:-12], ""), "half.png": (png()[:300], ""),
        "trailing.png": (png() + b"junk", "after-iend"),
    }
    crc = bytearray(png())
    pos, length = chunk_offset(bytes(crc), b"IDAT")
    crc[pos + 8 + length] ^= 0x01
    files["bad_crc.png"] = (bytes(crc), "")
    for i in range(30):  # seeded random damage: truncations and byte flips
        for name, base in (("jpg", jpeg(seed=i)), ("png", png(seed=i))):
            b = bytearray(base)
            if i % 3 == 0:
                b = b[:rng.randrange(20, len(b))]
            else:
                for _ in range(rng.choice((1, 2, 4))):
                    b[rng.randrange(2, len(b))] = rng.randrange(256)
            files[f"fuzz{i:02d}.{name}"] = (bytes(b), "")
    out = []
    for name, (data, exception) in files.items():
        (tmp_path / name).write_bytes(data)
        out.append((tmp_path / name, exception))
    return out


def _tool_rejects(path: Path) -> bool:
    if path.suffix == ".jpg":
        out = subprocess.run(["jpeginfo", "-c", str(path)], capture_output=True).stdout
        return b"ERROR" in out or b"WARNING" in out
    return subprocess.run(["pngcheck", "-q", str(path)], capture_output=True).returncode != 0


def test_everything_jpeginfo_or_pngcheck_rejects_is_flagged(tmp_path):
    for tool in ("jpeginfo", "pngcheck"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed: the reference comparison needs it")
    rejected = 0
    for path, exception in _reference_set(tmp_path):
        result = inspect_image(path.read_bytes())
        flagged = bool(codes(result) & CORRUPT)
        if not _tool_rejects(path):
            assert not flagged or path.name.startswith("fuzz"), (path.name, result)
            continue
        rejected += 1
        if exception == "cmyk":  # jpeginfo: "Unsupported color conversion request"; Caffe decodes it
            assert codes(result) == {"DS403"}, result
        elif exception == "after-iend":  # pngcheck: "additional data after IEND"; libpng never reads it
            assert problems(result) == [], result
        else:
            assert flagged, (path.name, result)
    assert rejected >= 20


# ---------------------------------------------------------------------- caffe-ref real image set

def _caffe_images() -> Path:
    if not CAFFE_IMAGES.is_dir():
        pytest.skip(f"{CAFFE_IMAGES} not present (../shared/realdata is only beside the dev checkout)")
    return CAFFE_IMAGES


def test_caffe_ref_good_images_decode_cleanly():
    root = _caffe_images()
    files = sorted(p for sub in ("color", "gray") for p in (root / sub).iterdir())
    assert len(files) >= 50
    for path in files:
        result = inspect_image(path.read_bytes())
        assert not codes(result) & {"DS400", "DS401", "DS402"}, (path, result)
        assert result.channels == (1 if path.parent.name == "gray" else 3), (path, result)
        assert 32 <= result.height <= 64 and 32 <= result.width <= 64


@pytest.mark.parametrize("name,expected", [
    ("truncated.jpg", {"DS401"}),
    ("empty.jpg", {"DS400"}),
    ("not_an_image.jpg", {"DS400"}),
    ("bad_crc.png", {"DS401", "DS400"}),
])
def test_caffe_ref_bad_images(name, expected):
    result = inspect_image((_caffe_images() / "bad" / name).read_bytes())
    assert codes(result) and codes(result) <= expected, result
    if name == "truncated.jpg":
        assert "Premature end of JPEG file" in messages(result)
        assert (result.channels, result.height, result.width) == (3, 64, 64)
    if name == "bad_crc.png":
        assert "0xa2ca4ad7" in messages(result) and "0x5dca4ad7" in messages(result)
