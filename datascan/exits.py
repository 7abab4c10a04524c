"""How a command ends when it does not end well: one line on stderr and an exit code.

    0 clean · 1 findings · 2 could not run (or not all of it) · 128+N killed by signal N

SIGTERM and SIGHUP become errors.Terminated (a KeyboardInterrupt) in the main thread, so
the cleanup that runs after Ctrl-C runs after them too: workers stopped, snapshots and
temporaries removed, no partial DST. A reader that went away (`| head`, quitting less)
ends the command quietly. Anything else unexpected is one line and exit 2, never 1.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import Terminated

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
CAUGHT = (signal.SIGTERM, signal.SIGHUP)


def fail(message: str) -> int:
    try:
        print(f"datascan: error: {message}", file=sys.stderr)
    except OSError:     # stderr gone too
        pass
    return EXIT_ERROR


def interrupted(e: KeyboardInterrupt) -> int:
    """SIGINT -> 130, SIGTERM -> 143, SIGHUP -> 129, as shells report a process they killed."""
    signum = e.signum if isinstance(e, Terminated) else signal.SIGINT
    try:
        print(f"datascan: interrupted by {signal.Signals(signum).name}", file=sys.stderr)
    except OSError:
        pass
    return 128 + signum


def broken_pipe() -> int:
    """The reader of stdout went away. Point stdout at /dev/null so that the interpreter's
    own flush at exit does not raise again; exit 2: the report was not delivered whole."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return EXIT_ERROR


def unexpected(e: Exception) -> int:
    if isinstance(e, OSError):      # the system said no: name the file
        return fail(f"{e.filename}: {e.strerror}" if e.filename else str(e))
    return fail(f"internal error: {type(e).__name__}: {e} (please report it)")


@contextmanager
def signals() -> Iterator[None]:
    """While the command runs, SIGTERM and SIGHUP raise Terminated in the main thread."""
    def terminate(signum, frame):
        raise Terminated(signum)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, terminate) for s in CAUGHT}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
