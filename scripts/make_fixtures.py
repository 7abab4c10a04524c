#!/usr/bin/env python3
"""Write the small demo datasets committed in fixtures/ (run from the repo root).

fixtures/demo_clean_lmdb   48 raw 3x32x32 Datums, labels 0..9: no findings
fixtures/demo_lmdb         the same plus one record of each fault datascan finds
fixtures/demo_leveldb      the same records as demo_lmdb, in LevelDB
"""
from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datascan.decode.datum import encode_datum  # noqa: E402
from datascan.sources import leveldb, lmdb  # noqa: E402

SHAPE = (3, 32, 32)


def picture(i: int, size=(32, 32)) -> np.ndarray:
    """A smooth, photo-like HxWx3 image (gradients plus mild noise), seeded by i."""
    rng = np.random.default_rng(i)
    h, w = size
    y, x = np.mgrid[0:h, 0:w]
    base = [np.sin(x / (4 + i % 5) + c) * np.cos(y / (5 + i % 3) - c) for c in range(3)]
    img = (np.stack(base, -1) * 90 + 128 + rng.normal(0, 6, (h, w, 3)))
    return np.clip(img, 0, 255).astype(np.uint8)


def raw(i: int, label: int | None = None) -> bytes:
    chw = picture(i)[:, :, ::-1].transpose(2, 0, 1)   # BGR planar, as Caffe stores it
    return encode_datum(channels=3, height=32, width=32, data=chw.tobytes(),
                        label=i % 10 if label is None else label)


def jpeg(i: int, mode: str = "RGB", size=(32, 32)) -> bytes:
    img = Image.fromarray(picture(i, size))
    buf = io.BytesIO()
    (img.convert("L") if mode == "L" else img).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def clean_records(n: int = 48):
    return [(f"{i:08d}_img_{i:03d}.jpg".encode(), raw(i)) for i in range(n)]


def faulty_records():
    recs = dict(clean_records())
    k = lambda i: f"{i:08d}_img_{i:03d}.jpg".encode()  # noqa: E731
    gray_fill = picture(5)[:, :, ::-1].transpose(2, 0, 1).copy()
    gray_fill[:, 20:, :] = 128                           # what a truncated JPEG becomes
    nan_values = np.random.default_rng(7).normal(0, 1, SHAPE).astype(np.float32)
    nan_values[1, 4, 4] = np.nan
    nan_values[2, 9, 1] = np.inf
    huge = np.random.default_rng(8).normal(0, 1, SHAPE).astype(np.float32)
    huge[0, 0, :3] = 3e9
    broken = jpeg(11)
    entropy = jpeg(12, size=(96, 96))
    mid = (entropy.index(b"\xff\xda") + len(entropy)) // 2   # inside the entropy-coded scan
    entropy = entropy[:mid] + b"\xff\xd4" + entropy[mid + 2:]   # a stray RST marker
    faults = {
        3: b"\x12\x34 not a protobuf message \xff",                                   # DS200
        7: encode_datum(channels=3, height=32, width=32, data=bytes(1000), label=7),  # DS201
        9: encode_datum(channels=3, height=32, width=32, label=9),                    # DS202
        13: encode_datum(channels=0, height=32, width=32, data=bytes(3), label=3),    # DS203
        17: encode_datum(channels=3, height=32, width=32, float_data=nan_values, label=7),  # DS300
        19: encode_datum(channels=3, height=32, width=32, float_data=huge, label=9),  # DS301
        21: raw(21, label=12),                                                        # DS500
        23: encode_datum(channels=3, height=24, width=24, data=bytes(3 * 24 * 24), label=3),  # DS600
        25: encode_datum(channels=3, height=32, width=32, data=gray_fill.tobytes(), label=5),  # DS303
        27: encode_datum(data=b"GIF89a but not really an image", label=7, encoded=True),     # DS400
        29: encode_datum(data=broken[: len(broken) // 2], label=9, encoded=True),     # DS401
        31: encode_datum(data=bytes(entropy), label=1, encoded=True),                 # DS401
    }
    for i, value in faults.items():
        recs[k(i)] = value
    return sorted(recs.items())


def main() -> None:
    out = ROOT / "fixtures"
    out.mkdir(exist_ok=True)
    for name, writer, records in [("demo_clean_lmdb", lmdb.write, clean_records()),
                                  ("demo_lmdb", lmdb.write, faulty_records()),
                                  ("demo_leveldb", leveldb.write, faulty_records())]:
        shutil.rmtree(out / name, ignore_errors=True)
        writer(out / name, records)
        print(f"wrote fixtures/{name}: {len(records)} records")


if __name__ == "__main__":
    main()
