"""shards -> workers -> merge: planning, the choice of executor, merging.

How shards run (processes, isolation of a worker that dies, progress) is parallel.py and
pool.py; how their results merge is merge.py (Merger)."""
from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from . import sources
from ._version import __version__
from .checks.content import spill_dir
from .codes import CANNOT_OPEN, keep
from .config import LabelMap, ScanConfig, scan_config
from .errors import SourceOpenError, UnrecognizedSource, UsageError
from .merge import UNREAD, Merger
from .model import Finding, Report
from .run_options import Progress, RunOptions, run_options
from .shard import ShardResult
from .sources.interface import ROWS, Plan, Shard
from .structs import replace

SHARDS_PER_JOB = 4          # more shards than workers: balance and a smaller loss when one dies
PARTS_PER_SHARD = 2         # the format splits a source into this many parts per shard (guided)
SHARD_RECORDS = 100_000     # records in a shard at most, when the source's size is known ...
PART_RECORDS = 50_000       # ... and in a part: a shard's findings reach the parent in one piece
LOCAL = (None, "local")     # datascan's own process pool (parallel.run_local_pool)
IN_PROCESS = "inprocess"    # no isolation: for debugging (pdb, profilers) only


def plan_sources(paths: Sequence[str | os.PathLike], config: ScanConfig, jobs: int) -> list[Plan]:
    """A plan per distinct path. Of several paths, one that cannot be read at all becomes a
    plan without shards holding its DS100 (unread_plan); a single path raises."""
    plans, seen = [], set()
    try:
        for p in paths:
            path = Path(p)
            if os.path.realpath(path) in seen:      # the same dataset named twice: scan it once
                continue
            seen.add(os.path.realpath(path))
            try:
                plans.append(_plan(path, config, jobs))
            except (UnrecognizedSource, SourceOpenError) as e:
                if len(paths) == 1:
                    raise
                plans.append(unread_plan(path, str(e)))
    except BaseException:
        remove_scratch(plans)
        raise
    if plans and all(p.format == UNREAD for p in plans):
        remove_scratch(plans)
        raise SourceOpenError("; ".join(p.findings[0].message for p in plans))
    return plans


def _plan(path: Path, config: ScanConfig, jobs: int) -> Plan:
    module = sources.detect(path, config.format)
    if module.records == ROWS:
        config.transform.refuse_rows(path)
    plan = module.plan(path, config, 1 if jobs == 1 else jobs * SHARDS_PER_JOB * PARTS_PER_SHARD)
    # A shard's findings come back to the parent in one piece: a source whose size is known
    # is cut into parts of at most PART_RECORDS, grouped into shards of at most SHARD_RECORDS
    # (as finely as the format can split it), whatever the number of jobs.
    wanted = -(-(plan.records or 0) // PART_RECORDS)
    if wanted > max(1, len(plan.shards)):
        remove_scratch([plan])
        plan = module.plan(path, config, wanted)
    if len(plan.shards) <= 1:
        return plan
    most = None if not plan.records else max(1, SHARD_RECORDS * len(plan.shards) // plan.records)
    return replace(plan, shards=guided(plan.shards, jobs, most))


def unread_plan(path: Path, why: str) -> Plan:
    """A path that could not be read at all, among several: a DS100 finding and no records."""
    return Plan(str(path), UNREAD, (), (Finding.of(CANNOT_OPEN, str(path), why),), records=0)


def remove_scratch(plans: Sequence[Plan]) -> None:
    for plan in plans:
        for d in plan.scratch:
            shutil.rmtree(d, ignore_errors=True)


def guided(parts: Sequence[Shard], jobs: int, most: int | None = None) -> tuple[Shard, ...]:
    """Adjacent parts grouped into shards of decreasing size, a 1/(2 jobs) share of the parts
    left each (guided self-scheduling): big shards first, single parts last, so the workers
    run out of work at nearly the same time even when one of them ran slower (a busy
    machine, records that take longer to check). Equal shards left a worker idle for half a
    shard on average at the end. ``most``: parts in a shard at most."""
    shards, i = [], 0
    while i < len(parts):
        group = [parts[i]]
        size = max(1, round((len(parts) - i) / (2 * jobs)))
        for part in parts[i + 1:i + (size if most is None else min(size, most))]:
            last = group[-1]
            if (part.source, part.file) != (last.source, last.file) or part.start != last.stop:
                break
            group.append(part)
        shards.append(replace(group[0], shard_id=len(shards), stop=group[-1].stop))
        i += len(group)
    return tuple(shards)


def _execute(shards: list[Shard], config: ScanConfig, opts: RunOptions,
             merger: Merger, validated: bool = False) -> Iterator[ShardResult]:
    from . import parallel    # multiprocessing and the pool: loaded when shards are run
    if opts.backend == IN_PROCESS or (opts.backend in LOCAL and validated):
        # Sources whose every page the planner validated (tiny LMDBs) cannot kill the
        # reader: starting a worker for them cost more than the scan (Plan.validated).
        return parallel.run_in_process(shards, config, opts.progress)
    if opts.backend in LOCAL:
        # One job too reads in a worker process: a page that kills the LMDB library
        # costs that page, not the caller (a notebook kernel, a CI step). Workers on this
        # machine write the findings they hold past a bound where the merger reads them.
        return parallel.run_local_pool(shards, config, opts.jobs, opts.progress,
                                       merger.spill_dir())
    return parallel.run_joblib(shards, config, opts.jobs, opts.backend, opts.progress)


@contextmanager
def _cluster(opts: RunOptions) -> Iterator[RunOptions]:
    """For --backend dask: connect to the scheduler; jobs become the cluster's threads."""
    if opts.backend != "dask":
        yield opts
        return
    try:
        from distributed import Client, get_client
    except ImportError:
        raise UsageError("--backend dask needs the dask extra: pip install 'datascan[dask]'") from None
    client, own = None, False
    if opts.scheduler:
        try:
            client, own = Client(opts.scheduler, timeout="10s"), True
        except (OSError, TimeoutError) as e:
            raise UsageError(f"cannot reach the dask scheduler at {opts.scheduler}: {e}") from None
    else:
        try:
            client = get_client()
        except ValueError:
            raise UsageError("--backend dask needs --scheduler tcp://HOST:PORT") from None
    try:
        yield replace(opts, jobs=max(1, sum(client.nthreads().values())))
    finally:
        if own:
            client.close()


def scan(paths: str | os.PathLike | Sequence[str | os.PathLike], *, num_classes: int | None = None,
         ignore_label: int | None = None, format: str | None = None,
         label_datasets: Sequence[str] = ("label",), jobs: int | None = 1,
         backend: str | None = None, scheduler: str | None = None,
         select: Sequence[str] = (), ignore: Sequence[str] = (),
         progress: Progress | None = None,
         progress_total: Callable[[int | None], None] | None = None,
         config: ScanConfig | None = None,
         label_map: str | os.PathLike | LabelMap | None = None) -> Report:
    """Scan one or more datasets and return the Report (the engine behind `datascan check`).

    Shards run in datascan's process pool (one job too: a worker the storage kills
    costs its page, not this process), or through the joblib `backend` named
    (threading, loky, dask with `scheduler`); backend="inprocess" reads in this
    process, without that protection, for debugging. The report is
    the same for every jobs value and backend. `progress` is called with records as
    they are checked, `progress_total` once with their total (None if unknown).
    `label_map`: SSD's labelmap.prototxt (a path, or a LabelMap) for the box labels.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if isinstance(label_map, (str, os.PathLike)):
        from .caffe.labelmap import read_label_map
        label_map = read_label_map(label_map)
    config = scan_config(config, num_classes=num_classes, ignore_label=ignore_label,
                         format=format, label_datasets=label_datasets, label_map=label_map)
    opts = run_options(jobs=jobs, backend=backend, scheduler=scheduler, progress=progress,
                       progress_total=progress_total)
    started = time.perf_counter()
    with spill_dir(config) as config:      # content logs for the duplicate checks
        try:
            _, merger = run_plans(paths, config, opts)
        except KeyboardInterrupt as e:   # Ctrl-C, or SIGTERM through the CLI (errors.Terminated)
            if getattr(e, "merger", None) is not None:
                e.partial_report = _report(e.merger, select, ignore, started, partial=True)
            raise
        return _report(merger, select, ignore, started)


def run_plans(paths: Sequence[str | os.PathLike], config: ScanConfig,
              opts: RunOptions) -> tuple[list[Plan], Merger]:
    """Plan every path and run its shards into one Merger, which the caller finishes. On an
    interrupt the merger travels on the exception (``merger``), still open, for a partial
    report; on any other failure it is closed. Planning scratch is removed either way."""
    plans: list[Plan] = []
    merger = None
    try:
        with _cluster(opts) as opts:
            plans = plan_sources(paths, config, opts.jobs)
            if opts.progress_total:
                totals = [p.records for p in plans]
                opts.progress_total(None if None in totals else sum(totals))
            shards = [s for p in plans for s in p.shards]
            merger = Merger(plans, content_dir=config.spill_dir, transform=config.transform)   # results merge as they come
            validated = all(p.validated or not p.shards for p in plans)
            for result in _execute(shards, config, opts, merger, validated):
                merger.add(result)
    except KeyboardInterrupt as e:
        e.merger = merger
        raise
    except BaseException:
        if merger is not None:
            merger.close()
        raise
    finally:
        remove_scratch(plans)
    return plans, merger


def _report(merger: Merger, select, ignore, started: float, partial: bool = False) -> Report:
    infos, found = merger.finish(partial, lambda code: keep(code, select, ignore))
    unread = tuple(p.source for p in merger.plans if p.format == UNREAD)
    infos = [i for i in infos if i.format != UNREAD]
    return Report(__version__, tuple(infos), found, time.perf_counter() - started,
                  unread=unread, partial=partial)
