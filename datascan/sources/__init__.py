"""Storage formats: one module per format (its ``FORMAT``, see interface.py), one line here.

The registry is lazy (a format's module loads when it is first asked for) and read-only.
A format whose library is missing is still detected by its layout; using it is one
clear error naming what to install (exit 2), never a wrong answer or a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from types import MappingProxyType

from ..errors import BackendMissing, SourceOpenError, UnrecognizedSource
from .interface import Format, unreadable


@dataclass(frozen=True)
class Entry:
    module: str          # the module defining FORMAT
    backend: str         # the library it reads with ...
    install: str         # ... and what to pip install for it


# Detection order: layout-specific formats first, then magic-byte formats.
REGISTRY = MappingProxyType({
    "leveldb": Entry("datascan.sources.leveldb", "plyvel", "plyvel"),
    "lmdb": Entry("datascan.sources.lmdb", "lmdb", "lmdb"),
    "hdf5": Entry("datascan.sources.hdf5", "h5py", "h5py"),
})


def names() -> tuple[str, ...]:
    return tuple(sorted(REGISTRY, key=("lmdb", "leveldb", "hdf5").index))


def get(name: str) -> Format:
    """The format named, ready to read with; BackendMissing when its library is not installed."""
    entry = REGISTRY.get(name)
    if entry is None:
        raise UnrecognizedSource(f"unknown format {name!r}; choose from {', '.join(names())}")
    try:
        import_module(entry.backend)
    except ImportError as e:
        raise BackendMissing(f"reading {name} needs the Python package {entry.install!r}, which "
                             f"cannot be imported here ({e}): pip install {entry.install}") from None
    return _format(name)


def _format(name: str) -> Format:
    # A format module imports without its library (it guards that import), so that its
    # sniff() can recognise the dataset and get() can say what to install.
    return import_module(REGISTRY[name].module).FORMAT


def detect(path: Path, forced: str | None = None) -> Format:
    """Flag > layout > magic bytes. Never trusts a file name alone."""
    try:
        path.stat()
    except FileNotFoundError:
        raise UnrecognizedSource(f"{path}: no such file or directory") from None
    except OSError as e:
        raise SourceOpenError(f"{path}: {e.strerror}") from None
    if (why := unreadable(path)) is not None:   # not "unrecognised": say why it cannot be read
        raise SourceOpenError(f"{path}: {why}")
    if forced:
        return get(forced)
    for name in REGISTRY:
        if _format(name).sniff(path):
            return get(name)
    raise UnrecognizedSource(f"{path}: not a dataset datascan recognises (LMDB data.mdb, "
                             "LevelDB CURRENT+MANIFEST, HDF5 file or HDF5 source list); "
                             "use --source-format to say which it is")
