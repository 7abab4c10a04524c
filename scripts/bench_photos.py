"""A photo-like JPEG workload for bench.py (issue 14): ImageNet-sized JPEGs made from the
real photographs scikit-image ships (its data directory only; skimage itself is never
imported), each a different random crop, flip, scale and quality, so that every image is
distinct: shorter side 300-500 px, quality 85-97, RGB (like ImageNet's train set).

    pip install '.[bench]'       # scikit-image, for its sample photographs
"""
from __future__ import annotations

import io
from importlib.util import find_spec
from pathlib import Path

import numpy as np

PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "ihc.png",
          "motorcycle_left.png", "motorcycle_right.png", "retina.jpg", "rocket.jpg")


def photo_dir() -> Path:
    spec = find_spec("skimage")
    if spec is None or spec.origin is None:
        raise SystemExit("the photo workload needs scikit-image's sample photographs: "
                         "pip install '.[bench]' (or leave it out: --only jpeg,raw,hdf5)")
    return Path(spec.origin).parent / "data"


def photos(n: int, seed: int = 14):
    """n distinct JPEG payloads from the sample photographs."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    sources = [Image.open(photo_dir() / name).convert("RGB") for name in PHOTOS]
    for i in range(n):
        img = sources[i % len(sources)]
        w, h = img.size
        f = rng.uniform(0.45, 1.0)
        cw, ch = int(w * f * rng.uniform(0.85, 1.0)), int(h * f * rng.uniform(0.85, 1.0))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        crop = img.crop((x, y, x + cw, y + ch))
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        short = int(rng.integers(300, 501))
        scale = short / min(cw, ch)
        crop = crop.resize((max(1, round(cw * scale)), max(1, round(ch * scale))), Image.BILINEAR)
        buf = io.BytesIO()
        crop.save(buf, "JPEG", quality=int(rng.integers(85, 98)))
        yield buf.getvalue()


def make_photo(path: Path, n: int, lmdb_write, num_classes: int) -> None:
    """An LMDB of encoded Datums holding the photos (bench.py's _lmdb_write)."""
    from datascan.decode.datum import encode_datum
    records = ((f"{i:08d}".encode(), encode_datum(data=data, label=i % num_classes, encoded=True))
               for i, data in enumerate(photos(n)))
    lmdb_write(path, records, map_size=max(1 << 26, n * 200_000))
