"""datascan: find the records that poison a training run."""
from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType

from ._version import __version__

# Public name -> the module that defines it, imported on first use (PEP 562), so that
# `import datascan` and `datascan --version` load none of numpy, h5py, lmdb, plyvel, protobuf.
_PUBLIC = {
    "scan": ".scan", "check": ".engine", "check_net": ".engine", "clean": ".clean",
    "CleanResult": ".clean", "ForwardOptions": ".forward.api", "Report": ".model",
    "Finding": ".model", "Severity": ".model", "SourceInfo": ".model", "ScanConfig": ".config",
    "DatascanError": ".errors", "doctor": ".doctor.engine", "DoctorReport": ".doctor.report",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


class _Package(ModuleType):
    """`datascan.scan`, `datascan.clean` and `datascan.doctor` are functions that share their
    name with a subpackage or module. Importing that module (the CLI and the engine do)
    makes the import system set the package attribute to the module: leave the name to
    the function instead (``__getattr__`` above finds it)."""

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, ModuleType) and name in _PUBLIC and value.__name__ == f"{__name__}.{name}":
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
