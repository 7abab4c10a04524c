"""Storage formats: one module per format (its ``FORMAT``, see interface.py), one line here.

The registry is lazy (a format's module loads when it is first asked for) and read-only.
A format whose library is missing is still detected by its layout; using it is one
clear error naming what to install (exit 2), never a wrong answer or a traceback.
"""
from __future__ import annotations

import os
from collections import namedtuple
from importlib import import_module
from types import MappingProxyType

from ..errors import BackendMissing, SourceOpenError, UnrecognizedSource

TYPE_CHECKING = False   # the CLI lists the names in its --help: that loads no format (nor typing)
if TYPE_CHECKING:
    from pathlib import Path

    from .interface import Format

# module: the module defining FORMAT; backend: the library it reads with, and install: what to
# pip install for it. marker: a file every directory of this format holds (None: never a
# directory); files: whether a single file can be one. These two only say where a format
# cannot be: its module (and the library it imports) is loaded, and its sniff() asked,
# only where it can (an LMDB is detected without loading plyvel).
Entry = namedtuple("Entry", "module backend install marker files")

# Detection order: layout-specific formats first, then magic-byte formats.
REGISTRY = MappingProxyType({
    "leveldb": Entry("datascan.sources.leveldb", "plyvel", "plyvel", "CURRENT", False),
    "lmdb": Entry("datascan.sources.lmdb", "lmdb", "lmdb", "data.mdb", True),
    "hdf5": Entry("datascan.sources.hdf5", "h5py", "h5py", None, True),
    # last: a text file of `path label` lines, after the HDF5 source list (a text file too)
    "imagelist": Entry("datascan.sources.imagelist", "PIL", "pillow", None, True),
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


def _sniffed(path: Path) -> str | None:
    """The first format whose sniff() recognises `path`, asking only those it can be."""
    is_dir = os.path.isdir(path)
    for name, entry in REGISTRY.items():
        could = os.path.exists(os.path.join(path, entry.marker)) if is_dir and entry.marker \
            else entry.files and not is_dir
        if could and _format(name).sniff(path):
            return name
    return None


def fingerprint(path: Path, forced: str | None = None) -> tuple[str, dict] | None:
    """(format name, fingerprint) of the dataset at `path`, found as detect() finds it but
    without loading the format's library (a remembered verdict is looked up at the cost of
    startup); None when it is no dataset datascan knows or its format has no fingerprint."""
    if not path.exists() or (forced is not None and forced not in REGISTRY):
        return None
    name = forced or _sniffed(path)
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
    if (name := _sniffed(path)) is not None:
        return get(name)
    raise UnrecognizedSource(f"{path}: not a dataset datascan recognises (LMDB data.mdb, "
                             "LevelDB CURRENT+MANIFEST, HDF5 file or HDF5 source list, image list); "
                             "use --source-format to say which it is")
