"""shards -> workers -> merge: planning, the choice of executor, merging.

How shards run (processes, isolation of a worker that dies, progress) is parallel.py and pool.py."""
from __future__ import annotations

import os
import shutil
from collections import Counter
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from . import parallel, sources
from ._version import __version__
from .checks.dataset import dataset_findings, label_stats
from .checks.content import spill_dir
from .checks.duplicates import ContentIndex, Duplicates
from .codes import CANNOT_OPEN, CHANGED, NO_RECORDS, keep, lookup
from .config import INFO_CAP, ScanConfig, scan_config
from .errors import SourceOpenError, UnrecognizedSource, UsageError
from .model import Finding, Report, Severity, ShapeCounts, SourceInfo
from .run_options import Progress, RunOptions, run_options
from .shard import ShardResult
from .sources.interface import Plan, Shard
from .checks.summary import ShardSummary

SHARDS_PER_JOB = 4          # more shards than workers: balance and a smaller loss when one dies
PARTS_PER_SHARD = 2         # the format splits a source into this many parts per shard (guided)
SHARD_SPAN = 1 << 40        # a ref's position while merging: shard_id * SHARD_SPAN + index in shard
UNREAD = "unread"           # the format of a plan for a path that could not be read
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
    if jobs == 1:
        return module.plan(path, config, 1)
    plan = module.plan(path, config, jobs * SHARDS_PER_JOB * PARTS_PER_SHARD)
    return replace(plan, shards=guided(plan.shards, jobs))


def unread_plan(path: Path, why: str) -> Plan:
    """A path that could not be read at all, among several: a DS100 finding and no records."""
    return Plan(str(path), UNREAD, (), (Finding.of(CANNOT_OPEN, str(path), why),), records=0)


def remove_scratch(plans: Sequence[Plan]) -> None:
    for plan in plans:
        for d in plan.scratch:
            shutil.rmtree(d, ignore_errors=True)


def guided(parts: Sequence[Shard], jobs: int) -> tuple[Shard, ...]:
    """Adjacent parts grouped into shards of decreasing size, a 1/(2 jobs) share of the parts
    left each (guided self-scheduling): big shards first, single parts last, so the workers
    run out of work at nearly the same time even when one of them ran slower (a busy
    machine, records that take longer to check). Equal shards left a worker idle for half a
    shard on average at the end."""
    shards, i = [], 0
    while i < len(parts):
        group = [parts[i]]
        for part in parts[i + 1:i + max(1, round((len(parts) - i) / (2 * jobs)))]:
            last = group[-1]
            if (part.source, part.file) != (last.source, last.file) or part.start != last.stop:
                break
            group.append(part)
        shards.append(replace(group[0], shard_id=len(shards), stop=group[-1].stop))
        i += len(group)
    return tuple(shards)


def _execute(shards: list[Shard], config: ScanConfig, opts: RunOptions) -> Iterator[ShardResult]:
    if opts.backend == IN_PROCESS:
        return parallel.run_in_process(shards, config, opts.progress)
    if opts.backend in LOCAL:
        # One job too reads in a worker process: a page that kills the LMDB library
        # costs that page, not the caller (a notebook kernel, a CI step).
        return parallel.run_local_pool(shards, config, opts.jobs, opts.progress)
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


class Merger:
    """Merges shard results as they come back, in any order, keeping only what the report
    needs: the findings, and per source one summary of bounded size (config.py: at most
    MAX_SHAPE_GROUPS shapes and SHAPE_REFS_TOTAL record references per table). Memory grows
    with neither the number of records nor the number of distinct shapes."""

    def __init__(self, plans: list[Plan], spill_dir: str | None = None):
        self.plans = plans
        self.shards: dict[str, dict[int, tuple[int | None, int, list[Finding]]]] = \
            {p.source: {} for p in plans}
        self.summaries = {p.source: ShardSummary() for p in plans}
        self.number = {p.source: n for n, p in enumerate(plans)}   # command order
        self.shown: dict[tuple[int, int], str] = {}
        self.contents = ContentIndex(spill_dir)   # every source's, for the duplicate checks

    def add(self, r: ShardResult) -> None:
        self.shards[r.shard.source][r.shard.shard_id] = (r.shard.first_index, r.records, r.findings)
        # Refs are placed by (shard, index in shard), i.e. by position in the source, before
        # the shards' offsets are known: each group keeps its first ones, as one shard
        # holding everything would have (the report must not depend on the split).
        self.summaries[r.shard.source].merge(r.summary, lambda i, at=r.shard.shard_id * SHARD_SPAN: at + i,
                                             contents=False)
        src = self.number[r.shard.source]
        self.shown[src, r.shard.shard_id] = r.shard.shown
        try:
            self.contents.add(src, r.shard.shard_id, r.summary.contents)
        finally:
            r.summary.contents.discard()

    def finish(self, partial: bool = False) -> tuple[list[SourceInfo], list[Finding]]:
        """The sources and their findings. ``partial``: some shards never came back (an
        interrupted scan); after the first gap a record's index is unknown, its key is not."""
        infos, findings, bases_of = [], [], {}
        for plan in self.plans:
            findings.extend(plan.findings)
            offset, bases, found_here = 0, {}, []
            known_bases = bases_of[self.number[plan.source]] = {}
            for n, (shard_id, (first, records, found)) in enumerate(sorted(self.shards[plan.source].items())):
                base = bases[shard_id] = first if first is not None else offset
                known = first is not None or n == shard_id
                known_bases[shard_id] = base if known else None
                found_here.extend(f if f.index is None else replace(f, index=f.index + base if known else None)
                                  for f in found)
                offset += records
            summary = self.summaries[plan.source]
            found_here = _once(found_here, CHANGED.code, len(self.shards[plan.source]))
            findings.extend(cap_info(found_here, summary.capped))
            for table in summary.tables():
                for g in table.values():
                    g.moved(lambda p: bases[p // SHARD_SPAN] + p % SHARD_SPAN)
            if summary.mean is not None:
                summary.mean.moved(lambda p: bases[p // SHARD_SPAN] + p % SHARD_SPAN)
            findings.extend(dataset_findings(plan.source, summary))
            if offset == 0 and not partial and plan.format != UNREAD and \
                    not any(f.severity is Severity.ERROR for f in plan.findings):
                findings.append(Finding.of(NO_RECORDS, plan.source, "no records: nothing to train on"))
            infos.append(SourceInfo(plan.source, plan.format, offset, plan.encoding,
                                    label_stats(summary.labels), shape_counts(summary)))
        try:
            findings.extend(Duplicates().find(
                self.contents, lambda src, shard: (self.shown[src, shard], bases_of[src][shard]),
                [p.source for p in self.plans]))
        finally:
            self.contents.close()
        return infos, findings


SHAPES_SHOWN = 20


def shape_counts(summary: ShardSummary) -> tuple[ShapeCounts, ...]:
    """The summary's shape tables as the reports show them (bounded: SHAPES_SHOWN each)."""
    out = []
    for what, table in (("Datum shape (CxHxW)", summary.shapes), ("image size (HxW)", summary.sizes),
                        ("image channels", summary.channels)):
        if not table.records:
            continue
        ranked = sorted(((_shape_text(k), g.count) for k, g in table.items()), key=lambda x: -x[1])
        shown = tuple(ranked[:SHAPES_SHOWN])
        out.append(ShapeCounts(what, shown, table.records - sum(n for _, n in shown)))
    return tuple(out)


def _shape_text(shape) -> str:
    return "x".join(map(str, shape)) if isinstance(shape, tuple) else str(shape)


def _once(findings: list[Finding], code: str, parts: int) -> list[Finding]:
    """One finding of ``code`` per source (the first), saying in how many parts it was found."""
    these = [f for f in findings if f.code == code]
    if len(these) < 2:
        return findings
    first = min(these, key=Finding.sort_key)
    return [f for f in findings if f.code != code] + \
        [replace(first, message=f"{first.message} (seen in {len(these)} of {parts} parts of the scan)")]


def cap_info(findings: list[Finding], capped: Counter) -> list[Finding]:
    """List at most INFO_CAP info findings per file and code, then one line counting the rest."""
    listed: dict[tuple[str, str], int] = {}
    rest: Counter = Counter()
    out = []
    for f in sorted(findings, key=Finding.sort_key):
        if f.severity is Severity.INFO and f.index is not None:
            n = listed[f.path, f.code] = listed.get((f.path, f.code), 0) + 1
            if n > INFO_CAP:
                rest[f.path, f.code] += 1
                continue
        out.append(f)
    rest.update(capped)      # what the workers already left out, per file and code
    out += [Finding.of(lookup(code), path, f"{n} more {code} findings in this file are not listed "
                       f"({INFO_CAP} are)", severity=Severity.INFO) for (path, code), n in rest.items()]
    return out


def merge(plans: list[Plan], results: list[ShardResult]) -> tuple[list[SourceInfo], list[Finding]]:
    merger = Merger(plans)
    for r in results:
        merger.add(r)
    return merger.finish()


def scan(paths: str | os.PathLike | Sequence[str | os.PathLike], *, num_classes: int | None = None,
         ignore_label: int | None = None, format: str | None = None,
         label_datasets: Sequence[str] = ("label",), jobs: int | None = 1,
         backend: str | None = None, scheduler: str | None = None,
         select: Sequence[str] = (), ignore: Sequence[str] = (),
         progress: Progress | None = None,
         progress_total: Callable[[int | None], None] | None = None,
         config: ScanConfig | None = None) -> Report:
    """Scan one or more datasets and return the Report (the engine behind `datascan check`).

    Shards run in datascan's process pool (one job too: a worker the storage kills
    costs its page, not this process), or through the joblib `backend` named
    (threading, loky, dask with `scheduler`); backend="inprocess" reads in this
    process, without that protection, for debugging. The report is
    the same for every jobs value and backend. `progress` is called with records as
    they are checked, `progress_total` once with their total (None if unknown).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    config = scan_config(config, num_classes=num_classes, ignore_label=ignore_label,
                         format=format, label_datasets=label_datasets)
    opts = run_options(jobs=jobs, backend=backend, scheduler=scheduler, progress=progress,
                       progress_total=progress_total)
    started = time.perf_counter()
    plans: list[Plan] = []
    merger = None
    with spill_dir(config) as config:
        try:
            with _cluster(opts) as opts:
                plans = plan_sources(paths, config, opts.jobs)
                if opts.progress_total:
                    totals = [p.records for p in plans]
                    opts.progress_total(None if None in totals else sum(totals))
                shards = [s for p in plans for s in p.shards]
                merger = Merger(plans, config.spill_dir)   # results merge as they come
                for result in _execute(shards, config, opts):
                    merger.add(result)
        except KeyboardInterrupt as e:   # Ctrl-C, or SIGTERM through the CLI (errors.Terminated)
            if merger is not None:
                e.partial_report = _report(merger, select, ignore, started, partial=True)
            raise
        finally:
            remove_scratch(plans)
        return _report(merger, select, ignore, started)


def _report(merger: Merger, select, ignore, started: float, partial: bool = False) -> Report:
    infos, findings = merger.finish(partial)
    findings = [f for f in findings if keep(f.code, select, ignore)]
    findings.sort(key=Finding.sort_key)
    unread = tuple(p.source for p in merger.plans if p.format == UNREAD)
    infos = [i for i in infos if i.format != UNREAD]
    return Report(__version__, tuple(infos), tuple(findings), time.perf_counter() - started,
                  unread=unread, partial=partial)
