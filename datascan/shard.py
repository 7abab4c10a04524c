"""Run one shard: the format reads, the checks judge, this composes them.

    run_shard(shard, config) -> ShardResult

The same in any executor (in-process, datascan's pool, a joblib backend, a dask worker):
the worker opens the source itself through the format's ``read`` (sources/interface.py),
hands each batch of records or row block to the checker for that kind of record
(checks.checker_for), turns what could not be read (StorageDamage) into DS1xx findings,
and returns the findings with shard-local indexes and the shard's summary for the
dataset-wide checks. A Ticker, when given, counts records as they are checked.
"""
from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from pathlib import Path

from . import findings as spill, sources
from .checks import checker_for
from .checks.summary import ShardSummary
from .codes import CANNOT_OPEN, CHANGED, STORAGE_CORRUPT
from .config import ScanConfig
from .model import Finding, Severity
from .sources import kv
from .sources.interface import Changed, LineFacts, Shard, StorageDamage
from .structs import dataclass, field

TICK = 256                 # at least this many records between progress messages ...
TICK_SECONDS = 0.05        # ... and at least this long (forensic runs: every record)
_VALUE = itemgetter(1)
FLUSH = 20_000             # findings a worker holds before it writes them to the spill directory


@dataclass
class ShardResult:
    shard: Shard
    records: int
    findings: list[Finding]
    summary: ShardSummary = field(default_factory=ShardSummary)
    bytes_read: int = 0
    spilled: str | None = None   # more of its findings, in a file (JSON lines) the parent owns

    def every_finding(self) -> list[Finding]:
        """The findings, those spilled to a file included (read back into memory)."""
        if self.spilled is None:
            return self.findings
        return list(spill.read(Path(self.spilled))) + self.findings


class _Spilling(list):
    """A worker's findings: past FLUSH, written to a file in ``spill_dir`` (a directory of
    the parent's, on this machine) so that neither the worker nor the result it sends grows
    with the number of findings."""

    def __init__(self, spill_dir: str | None):
        super().__init__()
        self.dir, self.path, self.fh = spill_dir, None, None

    def flush_if_full(self) -> None:
        if self.dir is None or len(self) < FLUSH:
            return
        if self.fh is None:
            fd, self.path = tempfile.mkstemp(prefix="worker-", suffix=".jsonl", dir=self.dir)
            self.fh = os.fdopen(fd, "w", encoding="utf-8")
        self.fh.writelines(spill.encode(f) for f in self)
        self.clear()

    def close(self) -> str | None:
        if self.fh is not None:
            self.fh.close()
        return self.path


def _nbytes(item) -> int:
    """Bytes of the values of a batch (summed by the reader when it could) or a row block."""
    if isinstance(item, kv.Batch):
        return item.nbytes
    return sum(map(len, map(_VALUE, item))) if isinstance(item, list) else item.values.nbytes


def _count(item) -> int:
    """Records an item of a reader stands for (a batch, a row block, damage)."""
    return len(item) if isinstance(item, list) else getattr(item, "done", 0)


class Ticker:
    """Counts records through a reader's items and reports them, at most every
    TICK_SECONDS: a message per batch would cost the parent a wakeup per millisecond on
    small records. Forensic mode reports every key, twice: the reader yields batches of one
    record, each checked before the next is read."""

    def __init__(self, emit: Callable[[tuple], None], forensic: bool = False):
        self.emit, self.forensic = emit, forensic

    def wrap(self, items: Iterable) -> Iterator:
        n, key, due = 0, None, time.monotonic() + TICK_SECONDS
        for item in items:
            if isinstance(item, list):
                key = item[-1][0]
                if self.forensic:
                    self.emit(("read", key))
            yield item               # the consumer checks it before asking for the next one
            n += _count(item)
            if self.forensic or (n >= TICK and time.monotonic() >= due):
                self.emit(("tick", n, key))
                n, due = 0, time.monotonic() + TICK_SECONDS
        if n:
            self.emit(("tick", n, key))


def _damage(shard: Shard, d: StorageDamage, n: int) -> list[Finding]:
    if not d.opened:
        return [Finding.of(CANNOT_OPEN, shard.shown, d.message)]
    if d.rows is not None:
        base = int(shard.start or 0)
        return [Finding.of(STORAGE_CORRUPT, shard.shown, d.message, index=r - base) for r in d.rows]
    # A record that could not be read (it has a key) still counts as a record of the
    # source; a range that could not be walked has none.
    return [Finding.of(STORAGE_CORRUPT, shard.shown, d.message, key=d.key, index=n)]


def _line(shard: Shard, facts: LineFacts, n: int) -> list[Finding]:
    from .checks.imagelist import ListLines
    return [Finding.of(code, shard.shown, message, key=facts.key, index=n)
            for code, message in ListLines().judge(facts)]


def run_shard(shard: Shard, config: ScanConfig, ticker: Ticker | None = None,
              batch: int = kv.BATCH, spill_dir: str | None = None) -> ShardResult:
    """Read the shard and check what was read (see the module doc). ``spill_dir``: where
    findings past FLUSH go (datascan's own pool; joblib and dask send them all back)."""
    fmt = sources.get(shard.format)
    summary = ShardSummary()
    checker = checker_for(fmt.records).for_shard(shard, config, summary)
    items = fmt.read(shard, config, batch)
    findings = _Spilling(spill_dir)
    n = nbytes = 0
    changed = False
    for item in ticker.wrap(items) if ticker is not None else items:
        if isinstance(item, Changed):       # said once per shard
            if not changed:
                findings.append(Finding.of(CHANGED, shard.source, item.message))
            changed = True
            continue
        if isinstance(item, StorageDamage):
            findings += _damage(shard, item, n)
        elif isinstance(item, LineFacts):
            line = _line(shard, item, n)
            findings += line
            if any(f.severity is Severity.ERROR for f in line):
                checker.leave_out(n)     # `datascan mean`: its record is bad (DS540, DS541)
        else:
            findings += checker.check_batch(item, n)
            nbytes += _nbytes(item)
        n += _count(item)
        findings.flush_if_full()
    checker.finish()
    spilled = findings.close()
    return ShardResult(shard, n, list(findings), summary, nbytes, spilled)
