"""`datascan clean SRC DST`: a verified copy of a dataset without its bad records.

The flow: refuse what is unsafe (outputs touching the source, an existing DST
without --force, too little space) → decide the records to drop (a scan of SRC, or
an earlier JSON report) → copy every other record, byte for byte and in order, into
a temporary sibling of DST (the dropped ones into one of QDIR) → fsync → re-scan the
copy with the same checks and account for every source record → write the manifest
→ rename the quarantine, the manifest and finally DST into place. Until that last
rename there is no DST; a crash leaves only hidden ``.NAME.datascan-tmp-*`` siblings.
"""
from __future__ import annotations

import os
import time
import warnings as python_warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .. import sources
from .._version import __version__
from ..codes import STORAGE_CORRUPT, TRUNCATED
from ..config import ScanConfig, scan_config
from ..errors import DatascanError, UsageError
from ..model import Finding, Options, Report, Severity
from ..report.json import options_dict
from ..mean import describe, scan_and_mean, write_blob
from ..run_options import default_jobs, run_options
from ..scan import scan
from ..sources.interface import KEYED
from . import atomic, manifest
from .mean_out import check_mean
from .drops import (Drop, Selection, check_count, filtered, load_report, net_report_config,
                    options_differ, select as select_drops)
from .errors import CleanRefused
from .targets import KVTarget, RowsFileTarget, RowsListTarget
from .verify import Verification, verify

__all__ = ["clean", "CleanResult", "CleanRefused", "Verification", "Drop", "FAILED_SUFFIX"]

FAILED_SUFFIX = ".failed-verification"   # where a DST whose verification failed is left

Progress = Callable[[str, "int | None"], Callable[[int], None]]


@dataclass(frozen=True)
class CleanResult:
    source: str
    destination: str
    format: str                          # lmdb | leveldb | hdf5 | hdf5-list (a list of files)
    threshold: Severity
    source_records: int
    kept: int
    dropped: tuple[Drop, ...]
    dropped_files: tuple[dict, ...]      # HDF5 list entries left out (--drop-files)
    quarantine: str | None
    quarantined: frozenset               # (real path, index) of the dropped records in QDIR
    manifest: str
    from_report: str | None
    unfixed: tuple[Finding, ...]         # dataset-wide findings at the dropped severity
    verification: Verification
    seconds: float
    requested: str | None = None         # DST as asked for; destination differs when not verified
    warnings: tuple[str, ...] = ()       # said on the way (a report made with other options)
    mean: str | None = None              # --mean: the mean.binaryproto written (of what was kept)
    mean_text: str | None = None         # what `datascan mean` prints for it
    mean_problem: str | None = None      # --mean asked for but not written: why

    @property
    def ok(self) -> bool:
        return self.verification.ok


def _silent(phase: str, total: int | None) -> Callable[[int], None]:
    return lambda n: None


def _target(src: Path, config: ScanConfig, drop_files: bool):
    fmt = sources.detect(src, config.format)
    if fmt.records == KEYED and fmt.write is not None:
        return KVTarget(fmt, src)
    if fmt.copy_rows is not None:
        members = fmt.members(src) if fmt.members is not None else None
        return RowsFileTarget(fmt, src) if members is None \
            else RowsListTarget(fmt, src, members, drop_files)
    raise CleanRefused(f"{src}: clean cannot write {fmt.name} datasets")


def _check_outputs(target, outputs: list[tuple[str, Path]], force: bool) -> None:
    for what, out in outputs:
        for inp in target.inputs:
            if atomic.is_within(out, inp):
                raise CleanRefused(f"{what} {out} is {'' if atomic.is_within(inp, out) else 'inside '}"
                                   f"the source {inp}: write it somewhere else")
            if atomic.is_within(inp, out):
                raise CleanRefused(f"the source {inp} lies inside {what} {out}: write it somewhere else")
        if not out.parent.is_dir():
            raise CleanRefused(f"{what}'s directory {out.parent} does not exist")
        if out.exists() or out.is_symlink():
            if not force:
                raise CleanRefused(f"{what} {out} exists; use --force to replace it")
            empty = out.is_dir() and not any(out.iterdir())
            if not (empty or target.replaceable(out)):
                raise CleanRefused(f"{what} {out} exists and is not a {target.kind} dataset: "
                                   "not replacing it, even with --force")
    if len(outputs) == 2 and (atomic.is_within(outputs[0][1], outputs[1][1])
                              or atomic.is_within(outputs[1][1], outputs[0][1])):
        raise CleanRefused("DST and QDIR must be separate paths, neither inside the other")
    mpath = manifest.path_for(outputs[0][1])
    if mpath.is_dir():
        raise CleanRefused(f"{mpath} is a directory; the manifest is written there")
    failed = failed_path(outputs[0][1])
    if (failed.exists() or failed.is_symlink()) and not \
            ((failed.is_dir() and not any(failed.iterdir())) or target.replaceable(failed)):
        raise CleanRefused(f"{failed} exists and is not a {target.kind} dataset: a copy that "
                           "fails verification is left there; move it away")


def failed_path(dst: Path) -> Path:
    """Where a DST whose verification failed is left: beside DST, under a name no training
    script reads by mistake (DST itself is never installed then)."""
    return dst.parent / (dst.name + FAILED_SUFFIX)


def clean(src: str | os.PathLike, dst: str | os.PathLike, *, num_classes: int | None = None,
          ignore_label: int | None = None, format: str | None = None,
          label_datasets: Sequence[str] = ("label",), drop: str = "error",
          quarantine: str | os.PathLike | None = None, from_report: str | os.PathLike | None = None,
          force: bool = False, drop_files: bool = False, jobs: int | None = 1,
          backend: str | None = None, select: Sequence[str] = (), ignore: Sequence[str] = (),
          progress: Progress | None = None, config: ScanConfig | None = None,
          warn: Callable[[str], None] | None = None,
          mean: str | os.PathLike | None = None) -> CleanResult:
    """Write a copy of ``src`` at ``dst`` without its bad records, verify it, and say what went.

    Records with findings at or above ``drop`` ("error", or "warning" for both) are
    dropped; with ``from_report`` (a JSON report of ``src``) the records it lists are.
    Raises DatascanError (CleanRefused) when it will not or cannot run. A DST whose
    verification fails is left at DST.failed-verification, never at DST. ``warn`` is told
    what deserves a warning (default: Python's warnings), e.g. a report made with other options.
    ``mean``: also write the cleaned copy's mean.binaryproto there (what `datascan mean DST`
    writes), from the verification scan: the mean of the records kept, not of ``src``.
    """
    started = time.perf_counter()
    if drop not in ("error", "warning"):
        raise UsageError(f"--drop must be error or warning, not {drop!r}")
    threshold = Severity(drop)
    config = scan_config(config, num_classes=num_classes, ignore_label=ignore_label,
                         format=format, label_datasets=label_datasets)
    jobs = jobs or default_jobs()
    progress = progress or _silent
    src = Path(src)
    dst = Path(os.path.abspath(dst))
    qdir = Path(os.path.abspath(quarantine)) if quarantine is not None else None
    target = _target(src, config, drop_files)
    outputs = [("DST", dst)] + ([("QDIR", qdir)] if qdir is not None else [])
    _check_outputs(target, outputs, force)
    mean_out = check_mean(target, mean, [out for _, out in outputs])
    target.precheck()
    for out in [out for _, out in outputs] + [manifest.path_for(dst)]:
        for stale in atomic.leftovers(out):   # temporaries of a run that was killed
            atomic.remove(stale)
    atomic.check_space([out for _, out in outputs], sum(atomic.allocated(p) for p in target.inputs))

    scan_opts = {"config": config, "jobs": jobs, "backend": backend, "select": select, "ignore": ignore}
    said: list[str] = []
    if from_report is not None:
        fmt = getattr(target, "fmt", None)
        if fmt is not None and fmt.bind is not None:   # no scan plans it: an image list's --root
            fmt.bind(src, config)
        theirs = load_report(Path(from_report), src, getattr(target, "files", ()))
        config, line = net_report_config(Path(from_report), theirs, src, config)
        if line is not None:
            said.append(line)
            (warn or (lambda m: python_warnings.warn(m, stacklevel=3)))(line)
        scan_opts["config"] = config
        mine = options_dict(Options(config.num_classes, config.ignore_label,
                                    tuple(config.label_datasets), config.format,
                                    tuple(select), tuple(ignore), root=config.root,
                                    label_map=config.label_map and config.label_map.path,
                                    transform=config.transform.options()))
        if (line := options_differ(Path(from_report), theirs.options, mine)) is not None:
            said.append(line)
            (warn or (lambda m: python_warnings.warn(m, stacklevel=3)))(line)
        known = target.records()
        if known is not None:
            check_count(Path(from_report), theirs.records, known)
        _refuse_storage_damage(src, target, theirs.findings)
        sel = select_drops(filtered(theirs.findings, select, ignore), threshold, theirs.records)
    else:
        report = scan(src, progress=progress("scan", target.records()), **scan_opts)
        _refuse_storage_damage(src, target, report.findings)
        sel = select_drops(report.findings, threshold, report.records)
    return _write(target, src, dst, qdir, sel, threshold, scan_opts, progress,
                  str(from_report) if from_report is not None else None, started, tuple(said),
                  mean_out)


def _refuse_storage_damage(src: Path, target, findings: Sequence[Finding]) -> None:
    """The copy walks the source in this process: a truncated file or a damaged page
    would kill it (SIGBUS, SIGABRT) where the scan's isolated workers only reported it.
    A format that locates damaged pages (its ``damage`` capability) is one whose library
    can die on them; its DS101 without a key is such a page."""
    for f in findings:
        truncated = f.code == TRUNCATED.code
        damaged_page = f.code == STORAGE_CORRUPT.code and isinstance(target, KVTarget) and \
            target.fmt.damage is not None and f.key is None
        if truncated or damaged_page:
            raise CleanRefused(f"{src}: {f.code} {f.message.split(':')[0]}: storage damage that "
                               "clean will not read in-process; restore or rebuild the dataset")


def _write(target, src: Path, dst: Path, qdir: Path | None, sel: Selection, threshold: Severity,
           scan_opts: dict, progress: Progress, from_report: str | None, started: float,
           said: tuple[str, ...] = (), mean_out: Path | None = None) -> CleanResult:
    temps: list[Path] = []

    def temp(out: Path) -> Path:
        temps.append(atomic.temp_dir(out) if target.dst_is_dir else atomic.temp_file(out))
        return temps[-1]

    try:
        tmp = temp(dst)
        qtmp = temp(qdir) if qdir is not None else None
        finals = {"final": dst, "qfinal": qdir} if isinstance(target, RowsListTarget) else {}
        outcome = target.write(tmp, qtmp, sel, progress, **finals)
        if from_report is not None:
            check_count(Path(from_report), sel.source_records, outcome.records)
        for t in (tmp, qtmp):
            if t is not None:
                atomic.fsync_tree(t)
        source_records = sel.source_records if sel.source_records is not None else outcome.records
        dropped = len(outcome.drops) + sum(f["records"] for f in outcome.dropped_files)
        averaged = why_not = None
        if not outcome.scan:
            recheck = Report(__version__, (), (), 0.0)
        elif mean_out is not None:    # the verification scan sums the pixels as it checks
            recheck, averaged, why_not = scan_and_mean(
                outcome.scan, scan_opts["config"], run_options(
                    jobs=scan_opts["jobs"], backend=scan_opts["backend"],
                    progress=progress("verify", outcome.kept)),
                select=scan_opts["select"], ignore=scan_opts["ignore"], shown=str(dst))
        else:
            recheck = scan(outcome.scan, progress=progress("verify", outcome.kept), **scan_opts)
        def verified(final: Path) -> Verification:
            return verify(recheck, kept=outcome.kept, dropped=dropped,
                          source_records=source_records, walked=outcome.records,
                          threshold=threshold, source_whole=sel.whole,
                          shown_path=lambda p: p.replace(str(tmp), str(final), 1))
        verification = verified(dst)
        final = dst
        if not verification.ok:     # never installed as DST: a script would train on it
            final = failed_path(dst)
            verification = verified(final)
        mpath = manifest.path_for(final)
        if mean_out is not None and not verification.ok:
            averaged, why_not = None, "not written: the copy failed verification"
        mean_said = {} if mean_out is None else {
            "mean": str(mean_out) if averaged is not None else None,
            "mean_problem": why_not,
            "mean_text": None if averaged is None else
            describe(replace(averaged, path=str(final)), str(mean_out))}
        result = CleanResult(
            str(src), str(final), target.kind, threshold, source_records, outcome.kept,
            tuple(outcome.drops), tuple(outcome.dropped_files),
            str(qdir) if qdir is not None else None, frozenset(outcome.quarantined), str(mpath),
            from_report, tuple(sel.whole), verification, time.perf_counter() - started,
            requested=str(dst), warnings=said, **mean_said)
        temps.append(atomic.temp_file(mpath))
        manifest.write(temps[-1], manifest.build(result))
        # Install: anything replaced moves aside first, DST is renamed last.
        olds = [atomic.move_aside(p) for p in (final, qdir) if p is not None]
        if qdir is not None:
            atomic.install(qtmp, qdir)
        atomic.install(temps[-1], mpath)
        atomic.install(tmp, final)
        temps.clear()
        if averaged is not None:      # DST is in place: its mean beside it
            write_blob(averaged, mean_out)
        for old in olds:
            if old is not None:
                atomic.remove(old)
        return result
    except DatascanError:
        raise
    except Exception as e:    # the writers' own errors: disk full, I/O errors
        library = target.fmt.errors if isinstance(target, KVTarget) else ()
        if not isinstance(e, (OSError, *library)):
            raise
        raise DatascanError(f"writing {dst} failed: {e}") from None
    finally:
        for t in temps:
            atomic.remove(t)
