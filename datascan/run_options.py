"""How a run is carried out: where its shards run, how many at once, and progress callbacks.

A light module (standard library only): the CLI builds its choices from it without
loading a storage format, and `scan()` and the engine take their options from it.
"""
from __future__ import annotations

import os
from collections.abc import Callable

from .choices import BACKENDS
from .errors import UsageError
from .structs import dataclass

Progress = Callable[[int], None]


@dataclass(frozen=True)
class RunOptions:
    jobs: int = 1
    backend: str | None = None      # None: the local pool (any jobs); "inprocess"; else a
                                    # joblib backend: threading, loky, dask
    scheduler: str | None = None    # dask scheduler address, tcp://HOST:PORT
    progress: Progress | None = None                 # called with records done, as they are done
    progress_total: Callable[[int | None], None] | None = None   # the total, once planned


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_options(*, jobs: int | None = 1, backend: str | None = None, scheduler: str | None = None,
                progress: Progress | None = None,
                progress_total: Callable[[int | None], None] | None = None) -> RunOptions:
    """RunOptions from the keywords the Python API takes; jobs None means every core."""
    if backend is not None and backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if jobs is not None and jobs < 1:
        raise UsageError(f"jobs must be at least 1, not {jobs}")
    return RunOptions(jobs=jobs or default_jobs(), backend=backend, scheduler=scheduler,
                      progress=progress, progress_total=progress_total)
