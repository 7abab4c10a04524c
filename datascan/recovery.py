"""Recovery when a worker dies: a shard as a job that yields tasks and gets their outcomes.

A shard's job first asks for the shard to be run. If the worker dies, the job re-runs it in
*forensic* mode (every key reported before it is checked), keeps what was read before the
damage, turns the damaged LMDB page(s) into one DS101 naming their key range (from the
format's ``damage()``), and goes on after it. Row-range shards (HDF5) are halved instead,
down to 1/MIN_SPLIT of the shard. The local pool (pool.py) drives these jobs.
"""
from __future__ import annotations

import signal
from collections.abc import Generator
from dataclasses import dataclass, replace

from . import sources
from .checks.summary import ShardSummary
from .codes import STORAGE_CORRUPT
from .model import Finding, key_text
from .shard import ShardResult
from .sources import kv
from .sources.interface import KEYED, Shard

MIN_SPLIT = 64             # a dead row-range shard is halved down to 1/MIN_SPLIT of its rows

@dataclass
class Outcome:
    """What became of one task: its result, or how the worker died and where it was."""
    result: ShardResult | None = None
    exitcode: int | None = None
    last: bytes | None = None        # last key fully checked in this task
    reading: bytes | None = None     # key read but not yet checked when the worker died

    def cause(self) -> str:
        code = self.exitcode or 0
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exited with status {code}"


# How a task reads: FAST in batches; CAREFUL one record at a time (a batch reads ahead, and
# a range that ends just before a page that kills the reader must not step onto it);
# FORENSIC one record at a time, each key reported before it is checked.
FAST, CAREFUL, FORENSIC = "fast", "careful", "forensic"
Task = tuple[Shard, str]                        # (shard or part of one, how to read it)
Job = Generator[Task, Outcome, ShardResult]     # yields tasks, returns the shard's result



# -------------------------------------------------------------------------- shard jobs

def shard_job(shard: Shard) -> Job:
    """Run a shard; if its worker dies, recover what can be read around the damage."""
    out = yield shard, FAST
    if out.result is not None:
        return out.result
    fmt = sources.get(shard.format)
    if isinstance(shard.start, int) and isinstance(shard.stop, int):   # rows, lines of a list
        return (yield from _recover_rows(shard, out))
    if fmt.records == KEYED:
        return (yield from _recover_keys(shard, fmt.damage, out))
    return _combine(shard, [(None, _loss(shard, f"the worker reading {_range(shard)} died "
                                        f"({out.cause()}): not scanned"), 0)])


def _sub(shard: Shard, start, stop) -> Shard:
    first = None if shard.first_index is None else shard.first_index + (start - shard.start)
    return replace(shard, start=start, stop=stop, first_index=first)


def _recover_keys(shard: Shard, damage, died: Outcome) -> Job:
    """Walk the shard again one record at a time; keep every record that can be read."""
    parts: list = []
    lo = shard.start
    for _ in range(10_000):          # each round passes at least one record or page
        out = yield _sub(shard, lo, shard.stop), FORENSIC
        if out.result is not None:
            parts.append((None, out.result, 0))
            break
        stop_at = out.reading if out.reading is not None else \
            (kv.after(out.last) if out.last is not None else None)
        if stop_at is not None and stop_at != lo:
            before = yield _sub(shard, lo, stop_at), CAREFUL
            if before.result is None:   # not reproducible: give the rest up, do not loop
                parts.append((None, _loss(shard, f"the worker died twice reading {_range(shard)} "
                                          f"({out.cause()}, {before.cause()}); the rest is not "
                                          "scanned"), 0))
                break
            parts.append((None, before.result, 0))
        if out.reading is not None:
            # The record was read and killed the process that checked it.
            parts.append((None, Finding.of(STORAGE_CORRUPT, shard.source, "checking this record "
                                           f"killed the worker ({out.cause()})", key=out.reading), 1))
            lo = kv.after(out.reading)
            continue
        if damage is not None:
            message, resume = kv.step_over(shard, damage(shard, out.last, lo), out.last, lo)
            if message is None:
                break     # the page after this range killed it: the next shard reports it
        else:
            where = f"after key {key_text(out.last)!r}" if out.last is not None else \
                f"at the start of {_range(shard)}"
            message, resume = (f"the reader died ({out.cause()}) {where}; the rest of "
                               f"{_range(shard)} is not scanned"), None
        parts.append((None, _loss(shard, message), 0))
        if resume is None:
            break
        lo = resume
    return _combine(shard, parts)


def _recover_rows(shard: Shard, died: Outcome) -> Job:
    """Halve a dead row range until the pieces read, or are 1/MIN_SPLIT of the shard."""
    start, stop = shard.start, shard.stop
    smallest = max(1, (stop - start) // MIN_SPLIT)
    parts, todo = [], [(start, stop, died)]
    while todo:
        a, b, out = todo.pop()
        if out is None:
            out = yield _sub(shard, a, b), FORENSIC
        if out.result is not None:
            parts.append((a - start, out.result, 0))
        elif b - a <= smallest:
            parts.append((a - start, _loss(shard, f"rows {a}..{b - 1} could not be read: "
                                           f"the worker reading them died ({out.cause()})"), b - a))
        else:
            mid = (a + b) // 2
            todo += [(mid, b, None), (a, mid, None)]
    return _combine(shard, parts)


def _loss(shard: Shard, message: str) -> Finding:
    return Finding.of(STORAGE_CORRUPT, shard.file or shard.source, message)


def _range(shard: Shard) -> str:
    if shard.start is None and shard.stop is None:
        return "the whole source"
    if isinstance(shard.start, int):
        return f"rows {shard.start}..{shard.stop - 1}"
    lo = repr(key_text(shard.start)) if shard.start is not None else "start"
    hi = repr(key_text(shard.stop)) if shard.stop is not None else "end"
    return f"keys [{lo}, {hi})"


def _combine(shard: Shard, parts: list) -> ShardResult:
    """One result from the pieces of a recovered shard: (offset or None = after the
    previous piece, ShardResult or Finding, records the Finding stands for)."""
    findings, summaries, n, total, nbytes = [], [], 0, 0, 0
    for offset, item, count in parts:
        base = n if offset is None else offset
        if isinstance(item, ShardResult):
            findings += [f if f.index is None else replace(f, index=f.index + base)
                         for f in item.every_finding()]
            summaries.append((base, item.summary))
            count, nbytes = item.records, nbytes + item.bytes_read
        else:
            findings.append(replace(item, index=base))
        n, total = base + count, total + count
    return ShardResult(shard, total, findings, ShardSummary.merged(summaries), nbytes)
