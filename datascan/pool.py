"""datascan's own process pool: N worker processes, one pipe each, and what a worker runs.

Workers are forked, or started from a forkserver when this process has other threads.
A worker runs one shard at a time (shard.run_shard) and ticks its record count back
(shard.Ticker: at most every TICK_SECONDS), so the progress bar moves with the records and
the parent holds nothing but finished results. When a worker dies (SIGSEGV, SIGBUS,
SIGABRT, os._exit) only its shard is affected: recovery.py re-runs it one record at a
time in *forensic* mode, which reports every key before and after checking it, so the
parent learns the last record read. The records before it are kept, the damaged page
becomes one DS101 naming its key range (the format's ``damage`` capability, from the branch
pages above it) and the walk goes on after it. Shards without keys (HDF5 row ranges)
are halved instead. Other workers never notice.

Code using the pool from a script needs the usual ``if __name__ == "__main__":`` guard
when this process has threads (the forkserver imports the main module).
"""
from __future__ import annotations

import faulthandler
import gc
import multiprocessing as mp
import os
import signal
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import wait

from . import sources
from .config import ScanConfig
from .errors import WorkerStartError
from .recovery import FAST, FORENSIC, Job, Outcome, Task, shard_job
from .shard import ShardResult, Ticker, run_shard
from .sources import kv
from .sources.interface import Shard

# The forkserver imports these once (and every format's module), so that a worker starts
# with them loaded; one that cannot be imported is skipped by the forkserver.
_PRELOAD = ["datascan.pool", "datascan.shard", "datascan.checks.record", "datascan.checks.rows",
            "datascan.decode.image"]

Progress = Callable[[int], None]


# ----------------------------------------------------------------------------- the worker

def _start_worker(err_path: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)    # not the CLI's handler, inherited by fork
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    _die_with_parent()
    fd = os.open(err_path, os.O_WRONLY | os.O_APPEND)  # stderr, C libraries' included: see _Worker
    os.dup2(fd, 2)
    os.close(fd)
    if faulthandler.is_enabled():   # PYTHONFAULTHANDLER, pytest: its dump of a death goes there too
        faulthandler.enable(file=2)  # (fd 2: sys.stderr may be a stand-in without a file number)


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when its parent dies, however it died (SIGKILL
    included): an orphaned worker would hold the parent's stdout open, and a pipeline or
    a CI step reading it would hang."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker_main(conn, err_path: str, spill_dir: str | None = None) -> None:
    try:
        _start_worker(err_path)
    except Exception as e:    # this machine, not the data: the parent stops with this one line
        try:
            conn.send(("error", WorkerStartError(f"a scan worker could not start: {type(e).__name__}: {e}")))
        except Exception:
            pass
        return
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        shard, config, mode = task
        try:
            result = run_shard(shard, config, Ticker(conn.send, mode == FORENSIC),
                               kv.BATCH if mode == FAST else 1, spill_dir)
        except Exception as e:   # a bug or a source that cannot be opened: the parent raises it
            try:
                conn.send(("error", e))
            except Exception:    # not picklable
                conn.send(("error", RuntimeError(f"{type(e).__name__}: {e}")))
            continue
        conn.send(("done", result))


# ------------------------------------------------------------------------------- the pool

class _Worker:
    """One worker process. Its stderr goes to a file, passed on when the worker ends,
    dropped when a signal killed it: the C library's last words ("Assertion failed",
    twice, as recovery re-reads the page) would only garble the progress bar, and the
    DS101 finding says what happened."""

    def __init__(self, ctx, spill_dir: str | None = None):
        fd, self.err_path = tempfile.mkstemp(prefix="datascan-worker-", suffix=".stderr")
        os.close(fd)
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, self.err_path, spill_dir),
                                daemon=True)
        # A forked worker shares this process's objects until it writes to them; frozen, the
        # collector in the worker leaves them alone, so the worker copies fewer pages of
        # them (about 2,000 fewer page faults, 10-20 ms of its first shard).
        gc.freeze()
        try:
            self.proc.start()
        finally:
            gc.unfreeze()
        child.close()
        self.job: Job | None = None
        self.top: Shard | None = None         # the shard the job belongs to
        self.forensic = False
        self.last = self.reading = None

    def send(self, job: Job, top: Shard, task: Task, config: ScanConfig) -> None:
        self.job, self.top, self.forensic = job, top, task[1] == FORENSIC
        self.last = self.reading = None
        self.conn.send((task[0], config, task[1]))

    def quit(self) -> None:
        """Ask an idle worker to end (stop() waits for it)."""
        try:
            self.conn.send(None)
        except OSError:
            pass

    def stop(self, now: bool = False) -> None:
        """Wait for the worker to end after quit(), or kill it (an error or Ctrl-C in the parent)."""
        if not now:
            self.proc.join(timeout=2)
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()
        try:
            with open(self.err_path, errors="replace") as fh:
                text = fh.read()
            os.unlink(self.err_path)
        except OSError:
            text = ""
        if text and (self.proc.exitcode or 0) >= 0:
            sys.stderr.write(text)


def _main_importable() -> bool:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return path is None or os.path.isfile(path)   # no file (-c, Jupyter): nothing is re-imported


def _context():
    """fork while this process has a single thread (a worker is up in milliseconds and
    imports nothing); otherwise a forkserver, since forking a process whose other threads
    may hold locks (a dask client, a progress-bar monitor) is not safe."""
    if sys.platform == "linux" and (threading.active_count() == 1 or not _main_importable()):
        # A forkserver re-imports __main__ from its file: with none (python -, a REPL
        # reading stdin) its workers could not start at all, so fork as CPython does.
        return mp.get_context("fork")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD + [e.module for e in sources.REGISTRY.values()])
    return ctx


def run_local_pool(shards: Sequence[Shard], config: ScanConfig, jobs: int,
                   progress: Progress | None, spill_dir: str | None = None) -> Iterator[ShardResult]:
    """datascan's own process pool: per-shard isolation, record-level progress. Workers
    write findings past shard.FLUSH to files in ``spill_dir`` (the caller's, removed by it)."""
    ctx = _context()
    ready: deque[tuple[Job, Shard, Task]] = deque()
    for s in shards:
        job = shard_job(s)
        ready.append((job, s, next(job)))
    ticked: dict[tuple, int] = {}      # records ticked by a shard's first run
    recovering: set[tuple] = set()     # shards whose first run died: their re-runs do not tick
    workers = [_Worker(ctx, spill_dir) for _ in range(min(jobs, len(ready)))]
    idle = list(workers)
    results: list[ShardResult] = []      # handed on once the idle workers have work again
    finished = False
    try:
        while ready or len(idle) < len(workers):
            while ready and idle:
                w = idle.pop()
                if not w.proc.is_alive():         # a dead worker is replaced, never reused
                    workers.remove(w)
                    w.stop()
                    w = _Worker(ctx, spill_dir)
                    workers.append(w)
                try:
                    w.send(*ready.popleft(), config)
                except OSError:                   # it ended before it took a shard: why
                    raise _start_failure(w) from None
            yield from results                    # the consumer merges while workers work
            results.clear()
            busy = [w for w in workers if w not in idle]
            handles = {}
            for w in busy:
                handles[w.conn] = w
                handles[w.proc.sentinel] = w
            for h in wait(list(handles)):
                w = handles[h]
                if w.job is None:
                    continue                      # finished through its other handle
                outcome = _poll(w, progress if (w.top.source, w.top.shard_id) not in recovering
                                else None, ticked)
                if outcome is None:
                    continue
                if outcome.result is None:
                    recovering.add((w.top.source, w.top.shard_id))
                job, top = w.job, w.top
                w.job = w.top = None
                idle.append(w)
                try:
                    task = job.send(outcome)
                except StopIteration as done:
                    result = done.value
                    key = (top.source, top.shard_id)
                    recovering.discard(key)
                    if progress:
                        progress(result.records - ticked.pop(key, 0))
                    results.append(result)
                else:
                    ready.appendleft((job, top, task))   # recovery first: it is short
        yield from results
        finished = True
    finally:
        if finished:
            for w in workers:     # all at once: each takes a few ms to exit
                w.quit()
        for w in workers:
            w.stop(now=not finished)


def _start_failure(w: _Worker) -> Exception:
    """What a worker that ended before its first shard said (_worker_main), else its exit."""
    try:
        if w.conn.poll(1):
            msg = w.conn.recv()
            if msg[0] == "error":
                return msg[1]
    except (EOFError, OSError):
        pass
    w.proc.join()
    return WorkerStartError(f"a scan worker ended before it took a shard (exit code {w.proc.exitcode})")


def _poll(w: _Worker, progress: Progress | None, ticked: dict) -> Outcome | None:
    """Read what the worker sent; an Outcome once its task ended (done or dead)."""
    while True:
        try:
            if not w.conn.poll():
                if w.proc.is_alive():
                    return None
                w.proc.join()
                return Outcome(exitcode=w.proc.exitcode, last=w.last, reading=w.reading)
            msg = w.conn.recv()
        except (EOFError, OSError):
            w.proc.join()
            return Outcome(exitcode=w.proc.exitcode, last=w.last, reading=w.reading)
        kind = msg[0]
        if kind == "tick":
            w.last, w.reading = msg[2], None
            if progress and not w.forensic:
                key = (w.top.source, w.top.shard_id)
                ticked[key] = ticked.get(key, 0) + msg[1]
                progress(msg[1])
        elif kind == "read":
            w.reading = msg[1]
        elif kind == "done":
            return Outcome(result=msg[1])
        elif kind == "error":
            raise msg[1]
