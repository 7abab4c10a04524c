"""Running shards: in-process, in datascan's own process pool, or through a joblib backend.

Three ways to run a list of shards, one contract: every shard yields exactly one
ShardResult (findings with shard-local indexes), in any order.

* the local pool (the default for every ``--jobs``, one included; pool.py): a worker
  that dies costs its shard's damaged page, not the scan.
* in-process (``--backend inprocess``, for debugging): no isolation. A page that kills
  the LMDB library kills the caller, as it would kill any reader. The default runs here
  too when every source's plan is ``validated`` (a tiny LMDB whose every page the planner
  checked with plain file I/O: nothing is left that could kill the reader; scan._execute).
* a joblib backend (``threading``, ``loky``, ``dask``): ``Parallel`` with
  ``return_as="generator_unordered"``. On a cluster (dask) each task runs its
  shard in a one-process local pool on the worker (run_isolated), so a crash is
  isolated and recovered next to the data, as above. Threads share this process, like
  --backend inprocess. loky aborts the whole call when a worker dies: the shards that had not come
  back are then finished in the local pool.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence

from .config import ScanConfig
from .shard import ShardResult, Ticker, run_shard
from .sources.interface import Shard

__all__ = ["run_in_process", "run_isolated", "run_joblib", "run_local_pool"]

_WORKER_DEATHS = {"TerminatedWorkerError", "BrokenProcessPool", "KilledWorker"}
Progress = Callable[[int], None]


def run_local_pool(shards: Sequence[Shard], config: ScanConfig, jobs: int,
                   progress: Progress | None, spill_dir: str | None = None) -> Iterator[ShardResult]:
    """pool.run_local_pool, loaded with multiprocessing when a pool is started."""
    from .pool import run_local_pool as run
    return run(shards, config, jobs, progress, spill_dir)


def _run_counted(shard: Shard, config: ScanConfig, progress: Progress | None) -> tuple[ShardResult, int]:
    """Run a shard in this process, ticking `progress`; (result, records ticked)."""
    ticked = [0]

    def tick(msg: tuple) -> None:
        ticked[0] += msg[1]
        progress(msg[1])

    return run_shard(shard, config, Ticker(tick) if progress else None), ticked[0]


def run_in_process(shards: Sequence[Shard], config: ScanConfig,
                   progress: Progress | None) -> Iterator[ShardResult]:
    for shard in shards:
        result, ticked = _run_counted(shard, config, progress)
        if progress:
            progress(result.records - ticked)
        yield result


def run_isolated(shard: Shard, config: ScanConfig) -> tuple[ShardResult, int]:
    """Run one shard in a child of this process: the task a cluster backend (dask) runs,
    so a reader that dies costs that child, not the cluster's worker. Recovery
    (shard_job) happens right here, next to the data."""
    import multiprocessing as mp
    me = mp.current_process()
    daemonic = me.daemon
    # Dask's worker processes are daemonic, and multiprocessing refuses children to
    # daemonic processes; ours are stopped before this returns (run_local_pool's finally).
    me.daemon = False
    try:
        [result] = list(run_local_pool([shard], config, 1, None))
    finally:
        me.daemon = daemonic
    return result, 0


def run_joblib(shards: Sequence[Shard], config: ScanConfig, jobs: int, backend: str,
               progress: Progress | None) -> Iterator[ShardResult]:
    """Through a joblib backend; shards left over by a dead worker finish in the local pool."""
    from joblib import Parallel, delayed, parallel_config
    # Threads share this process: they tick the bar themselves (under a lock). Other
    # backends run elsewhere: the bar moves when a shard's result comes back.
    in_process = backend in ("threading", "sequential")
    # On a cluster each shard runs in a child of the worker (run_isolated): a dask worker
    # that dies is retried on other workers, killing each in turn, and joblib's dask
    # backend never returns. loky's own workers cannot fork from a forkserver (their
    # start method is unknown to it): a dead loky worker ends the call, and the shards
    # left over finish in the local pool below.
    isolate = backend == "dask"
    tick = None
    if progress and in_process:
        lock = threading.Lock()

        def locked(n: int) -> None:
            with lock:
                progress(n)
        tick = locked
    done: set[tuple] = set()
    n_jobs = -1 if backend == "dask" else jobs      # all of the cluster
    try:
        # parallel_config, not Parallel(backend=...): it registers dask on first use.
        with parallel_config(backend=backend):
            run = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
            tasks = (delayed(run_isolated)(s, config) if isolate else
                     delayed(_run_counted)(s, config, tick) for s in shards)
            for r, ticked in run(tasks):
                done.add((r.shard.source, r.shard.shard_id))
                if progress:
                    progress(r.records - ticked)
                yield r
    except Exception as e:
        if type(e).__name__ not in _WORKER_DEATHS:
            raise
        rest = [s for s in shards if (s.source, s.shard_id) not in done]
        yield from run_local_pool(rest, config, max(1, min(jobs, os.cpu_count() or 1)), progress)
