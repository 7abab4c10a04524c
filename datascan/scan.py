"""shards -> workers -> merge. The only module that knows about parallelism."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from . import __version__, sources
from .checks.dataset import dataset_findings, label_stats, merge_summaries
from .codes import matches
from .config import ScanConfig
from .model import Finding, Report, SourceInfo
from .sources.interface import Plan, Shard, ShardResult

SHARDS_PER_JOB = 4          # more shards than workers: balance and a smoother progress bar
MIN_SHARD_RECORDS = 2_000   # below this, splitting costs more than it gains


@dataclass(frozen=True)
class RunOptions:
    jobs: int = 1
    backend: str | None = None        # joblib backend name: loky (default), dask, ray, threading
    progress: Callable[[int], None] | None = None   # called with records done per shard


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def plan_sources(paths: Sequence[str | os.PathLike], config: ScanConfig, jobs: int) -> list[Plan]:
    plans = []
    for p in paths:
        path = Path(p)
        module = sources.detect(path, config.format)
        plans.append(module.plan(path, config, max(1, jobs * SHARDS_PER_JOB) if jobs > 1 else 1))
    return plans


def run_shard(shard: Shard, config: ScanConfig) -> ShardResult:
    """The worker: opens the source itself, so it runs in any process or on any machine."""
    return sources.get(shard.format).run(shard, config)


def _execute(shards: list[Shard], config: ScanConfig, opts: RunOptions) -> Iterable[ShardResult]:
    if opts.jobs == 1 and opts.backend is None:
        return (run_shard(s, config) for s in shards)
    from joblib import Parallel, delayed
    parallel = Parallel(n_jobs=opts.jobs, backend=opts.backend, return_as="generator_unordered")
    return parallel(delayed(run_shard)(s, config) for s in shards)


def merge(plans: list[Plan], results: list[ShardResult]) -> tuple[list[SourceInfo], list[Finding]]:
    by_source: dict[str, list[ShardResult]] = {}
    for r in results:
        by_source.setdefault(r.shard.source, []).append(r)
    infos, findings = [], []
    for plan in plans:
        done = sorted(by_source.get(plan.source, []), key=lambda r: r.shard.shard_id)
        findings.extend(plan.findings)
        offset, parts = 0, []
        for r in done:
            base = r.shard.first_index if r.shard.first_index is not None else offset
            findings.extend(f if f.index is None else replace(f, index=f.index + base)
                            for f in r.findings)
            parts.append((base, r.summary))
            offset += r.records
        summary = merge_summaries(parts)
        findings.extend(dataset_findings(plan.source, summary))
        records = sum(r.records for r in done)
        infos.append(SourceInfo(plan.source, plan.format, records, plan.encoding,
                                label_stats(summary.labels)))
    return infos, findings


def scan(paths: str | os.PathLike | Sequence[str | os.PathLike], *, num_classes: int | None = None,
         ignore_label: int | None = None, format: str | None = None,
         label_datasets: Sequence[str] = ("label",), jobs: int | None = 1,
         backend: str | None = None, select: Sequence[str] = (), ignore: Sequence[str] = (),
         progress: Callable[[int], None] | None = None, config: ScanConfig | None = None) -> Report:
    """Scan one or more datasets and return the Report (the engine behind `datascan check`)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    config = config or ScanConfig(num_classes=num_classes, ignore_label=ignore_label,
                                  format=format, label_datasets=tuple(label_datasets))
    opts = RunOptions(jobs=jobs or default_jobs(), backend=backend, progress=progress)
    started = time.perf_counter()
    plans = plan_sources(paths, config, opts.jobs)
    shards = [s for p in plans for s in p.shards]
    results = []
    for r in _execute(shards, config, opts):
        results.append(r)
        if opts.progress:
            opts.progress(r.records)
    infos, findings = merge(plans, results)
    findings = [f for f in findings
                if (not select or matches(f.code, tuple(select))) and not matches(f.code, tuple(ignore))]
    findings.sort(key=Finding.sort_key)
    return Report(__version__, tuple(infos), tuple(findings), time.perf_counter() - started)
