"""Shared test builders: real LMDB/LevelDB datasets written into tmp_path."""
from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import h5py

import numpy as np
import pytest
from PIL import Image

from datascan.decode.datum import encode_datum
from datascan.report import to_dict
from datascan.sources import leveldb as leveldb_source
from datascan.sources import lmdb as lmdb_source

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def realdata(*parts: str) -> Path:
    """A path under ../shared/realdata, or skip: the project also passes from a plain clone."""
    path = REALDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present (../shared/realdata is only beside the dev checkout)")
    return path


@pytest.fixture(autouse=True)
def _own_cache_home(tmp_path_factory, monkeypatch):
    """`datascan check` remembers verdicts by default: every test gets its own cache home
    (subprocesses inherit it), so no test reads another's verdicts or writes to ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


def raw_datum(label: int = 0, shape=(3, 8, 8), seed: int = 0, **kw) -> bytes:
    c, h, w = shape
    pixels = np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)
    return encode_datum(channels=c, height=h, width=w, data=pixels.tobytes(), label=label, **kw)


def float_datum(values, label: int = 0) -> bytes:
    values = np.asarray(values, dtype=np.float32)
    c, h, w = values.shape
    return encode_datum(channels=c, height=h, width=w, float_data=values, label=label)


def _pixels(size, mode, seed):
    h, w = size
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 200, w)[None, :] + np.linspace(0, 40, h)[:, None]
    gray = np.clip(ramp + rng.normal(0, 12, size=(h, w)), 0, 255).astype(np.uint8)
    return gray if mode == "L" else np.stack([gray, gray[::-1], 255 - gray], axis=-1)


def jpeg_bytes(size=(32, 24), mode="RGB", seed: int = 0, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_pixels(size, mode, seed), mode).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def png_bytes(size=(32, 24), mode="RGB", seed: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_pixels(size, mode, seed), mode).save(buf, "PNG")
    return buf.getvalue()


def encoded_datum(image: bytes, label: int = 0) -> bytes:
    return encode_datum(data=image, label=label, encoded=True)


def key(i: int, name: str = "") -> bytes:
    return (f"{i:08d}" + (f"_{name}" if name else "")).encode()


def _maker(tmp_path, writer, default_name):
    def make(records, name=default_name) -> Path:
        path = tmp_path / name
        writer(path, list(records))
        return path
    return make


@pytest.fixture
def make_lmdb(tmp_path):
    return _maker(tmp_path, lmdb_source.write, "db_lmdb")


@pytest.fixture
def make_leveldb(tmp_path):
    return _maker(tmp_path, leveldb_source.write, "db_leveldb")


def report_dict(report) -> dict:
    """The JSON report without its run time: equal for every --jobs value and backend."""
    d = to_dict(report)
    d["summary"].pop("seconds")
    return d


def tree_state(path: Path) -> dict:
    """Content and mtime of every file below path: what 'never modified' means."""
    out = {}
    for root, _, files in os.walk(path):
        for f in files:
            p = Path(root) / f
            st = p.stat()
            out[str(p.relative_to(path))] = (p.read_bytes(), st.st_mtime_ns, st.st_size)
    return out


def make_h5(path: Path, **datasets) -> Path:
    """make_h5(p, data=array | (array, create_dataset kwargs), ...); '/' in a name makes groups."""
    with h5py.File(path, "w") as f:
        for name, spec in datasets.items():
            data, kw = spec if isinstance(spec, tuple) else (spec, {})
            f.create_dataset(name.replace("__", "/"), data=data, **kw)
    return path


def corrupt_leveldb_table(path: Path, at: int = 200_000, n: int = 16) -> None:
    """Flip n bytes of the first table file at offset `at`: its block checksum fails."""
    table = next(p for p in path.iterdir() if p.suffix in (".ldb", ".sst"))
    blob = bytearray(table.read_bytes())
    for i in range(n):
        blob[at + i] ^= 0xFF
    table.write_bytes(bytes(blob))


def corrupt_hdf5_chunk(good: Path, bad: Path, dataset: str, chunk: int):
    """A copy of `good` with the middle of one chunk of `dataset` overwritten; its chunk info."""
    with h5py.File(good, "r") as f:
        info = f[dataset].id.get_chunk_info(chunk)
    shutil.copy(good, bad)
    with open(bad, "r+b") as fh:
        fh.seek(info.byte_offset + info.size // 2)
        fh.write(b"\xff" * 64)
    return info
