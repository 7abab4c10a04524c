"""Checks judge what the sources read: one class per check (base.py), declaring its codes,
all listed in registry.py. The shard runner (shard.py) picks the checker that runs them for a
format's kind of record: (key, value) batches go to record.RecordChecker, HDF5 row blocks
to rows.RowChecker. Dataset-wide checks (dataset.py) run on the merged summaries."""
from __future__ import annotations

from ..sources.interface import KEYED, ROWS


def checker_for(records: str):
    """The checker class for a format's kind of record (sources.interface: KEYED, ROWS)."""
    if records == KEYED:
        from .record import RecordChecker
        return RecordChecker
    if records == ROWS:
        from .rows import RowChecker
        return RowChecker
    raise ValueError(f"no checker reads {records!r} records")
