"""Storage formats. One module per format; this registry is read-only to the outside."""
from __future__ import annotations

from importlib import import_module
from pathlib import Path
from types import ModuleType

from ..errors import UnrecognizedSource

# Detection order: layout-specific formats first, then magic-byte formats.
_MODULES = {"lmdb": ".lmdb", "leveldb": ".leveldb", "hdf5": ".hdf5"}
_DETECT_ORDER = ("leveldb", "lmdb", "hdf5")


def names() -> tuple[str, ...]:
    return tuple(_MODULES)


def get(name: str) -> ModuleType:
    if name not in _MODULES:
        raise UnrecognizedSource(f"unknown format {name!r}; choose from {', '.join(_MODULES)}")
    return import_module(_MODULES[name], __name__)


def detect(path: Path, forced: str | None = None) -> ModuleType:
    """Flag > layout > magic bytes. Never trusts a file name alone."""
    if not path.exists():
        raise UnrecognizedSource(f"{path}: no such file or directory")
    if forced:
        return get(forced)
    for name in _DETECT_ORDER:
        try:
            module = get(name)
        except ImportError:   # a format module not present in this build
            continue
        if module.sniff(path):
            return module
    raise UnrecognizedSource(f"{path}: not a dataset datascan recognises (LMDB data.mdb, "
                             "LevelDB CURRENT+MANIFEST, HDF5 file or HDF5 source list); "
                             "use --format to say which it is")
