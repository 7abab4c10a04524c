"""HDF5 rows in the order Caffe's HDF5Data layer reads them: the ``caffe_rows``
capability of the hdf5 format (--forward feeds its dummy net with them).

The files of a list in list order (a name listed twice is read twice, as HDF5Data
does), rows in order, the data and label datasets named by the layer's tops.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ..errors import UsageError
from . import h5list
from .h5layout import rows_per_block


@dataclass(frozen=True)
class RowOrigin:
    """Where the n-th HDF5 record of a stream lives (findings name the file and its row)."""
    starts: tuple[int, ...]       # stream index of each file's first row
    files: tuple[str, ...]

    def __call__(self, index: int) -> tuple[str, int]:
        i = int(np.searchsorted(self.starts, index, side="right")) - 1
        return self.files[i], index - self.starts[i]


def caffe_files(path: Path) -> list[Path]:
    """The file itself, or the files of a source list in Caffe's order (repeats kept)."""
    if h5list.signature_offset(path) is not None:
        return [path]
    out = []
    for name in h5list.read_names(path):
        entry = h5list.resolve(name, path)
        if entry.path is not None:              # missing ones are DS103 in the plain scan
            out.append(entry.path)
    return out


def caffe_rows(path: Path, *, data: str = "data", label: str = "label",
               ) -> tuple[Iterator[tuple], RowOrigin]:
    """HDF5 rows as (stream index, None, row, label row) and the map back to (file, row)."""
    files, starts, rows = caffe_files(Path(path)), [], 0
    for f in files:
        starts.append(rows)
        with h5py.File(f, "r") as h:
            rows += _dataset(h, data, f).shape[0]
    origin = RowOrigin(tuple(starts), tuple(str(f) for f in files))

    def stream() -> Iterator[tuple]:
        for f, start in zip(files, starts):
            with h5py.File(f, "r") as h:
                x, y = _dataset(h, data, f), _dataset(h, label, f)
                if y.shape[0] != x.shape[0]:
                    continue                     # DS601 in the plain scan; Caffe aborts
                step = rows_per_block(int(np.prod(x.shape[1:])) * 4)
                for a in range(0, x.shape[0], step):
                    xs, ys = x[a:a + step], y[a:a + step]
                    for i in range(xs.shape[0]):
                        yield start + a + i, None, xs[i], ys[i]

    return stream(), origin


def _dataset(h, name: str, file: Path):
    ds = h.get(name)
    if ds is None or not hasattr(ds, "shape"):
        raise UsageError(f"{file}: no dataset {name!r} (Caffe: Failed to find HDF5 dataset "
                         f"{name}); the net's data layer tops name the datasets")
    return ds
