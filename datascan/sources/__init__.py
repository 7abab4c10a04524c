"""Storage formats: one module per format (its ``FORMAT``, see interface.py), one line here.

The registry is lazy (a format's module loads when it is first asked for) and read-only.
A format whose library is missing is still detected by its layout; using it is one
clear error naming what to install (exit 2), never a wrong answer or a traceback.
"""
from __future__ import annotations

from importlib import import_module
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from ..errors import BackendMissing, SourceOpenError, UnrecognizedSource

if TYPE_CHECKING:   # the CLI lists the names in its --help: that loads no format
    from pathlib import Path

    from .interface import Format


class Entry(NamedTuple):
    module: str          # the module defining FORMAT
    backend: str         # the library it reads with ...
    install: str         # ... and what to pip install for it


# Detection order: layout-specific formats first, then magic-byte formats.
REGISTRY = MappingProxyType({
    "leveldb": Entry("datascan.sources.leveldb", "plyvel", "plyvel"),
    "lmdb": Entry("datascan.sources.lmdb", "lmdb", "lmdb"),
    "hdf5": Entry("datascan.sources.hdf5", "h5py", "h5py"),
    # last: a text file of `path label` lines, after the HDF5 source list (a text file too)
    "imagelist": Entry("datascan.sources.imagelist", "PIL", "pillow"),
})


def names() -> tuple[str, ...]:
    return tuple(sorted(REGISTRY, key=("lmdb", "leveldb", "hdf5", "imagelist").index))


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


def fingerprint(path: Path, forced: str | None = None) -> tuple[str, dict] | None:
    """(format name, fingerprint) of the dataset at `path`, found as detect() finds it but
    without loading the format's library (a remembered verdict is looked up at the cost of
    startup); None when it is no dataset datascan knows or its format has no fingerprint."""
    if not path.exists() or (forced is not None and forced not in REGISTRY):
        return None
    name = forced or next((n for n in REGISTRY if _format(n).sniff(path)), None)
    fmt = None if name is None else _format(name)
    if fmt is None or fmt.fingerprint is None:
        return None
    return name, fmt.fingerprint(path)


def detect(path: Path, forced: str | None = None) -> Format:
    """Flag > layout > magic bytes. Never trusts a file name alone."""
    try:
        path.stat()
    except FileNotFoundError:
        raise UnrecognizedSource(f"{path}: no such file or directory") from None
    except OSError as e:
        raise SourceOpenError(f"{path}: {e.strerror}") from None
    from .interface import unreadable
    if (why := unreadable(path)) is not None:   # not "unrecognised": say why it cannot be read
        raise SourceOpenError(f"{path}: {why}")
    if forced:
        return get(forced)
    for name in REGISTRY:
        if _format(name).sniff(path):
            return get(name)
    raise UnrecognizedSource(f"{path}: not a dataset datascan recognises (LMDB data.mdb, "
                             "LevelDB CURRENT+MANIFEST, HDF5 file or HDF5 source list, image list); "
                             "use --source-format to say which it is")
