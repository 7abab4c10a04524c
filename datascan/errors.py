"""Errors that stop a run. A bad *record* is a Finding, never one of these."""
from __future__ import annotations


class DatascanError(Exception):
    """The run cannot go on: printed as one line by the CLI, exit code 2."""


class UnrecognizedSource(DatascanError):
    """The path is not a dataset datascan knows how to read."""


class SourceOpenError(DatascanError):
    """The dataset was recognised but cannot be opened at all."""


class UsageError(DatascanError):
    """Options that contradict each other or the data."""


class BackendMissing(DatascanError):
    """The dataset's format is known but the library that reads it is not installed."""


class WorkerStartError(DatascanError):
    """A scan worker could not start (this machine, not the data): no record was read."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (or SIGHUP), raised in the main thread by the CLI's handler so that every
    ``finally`` runs as for Ctrl-C: workers stopped, snapshots and temporaries removed.
    A KeyboardInterrupt, so whatever cleans up after Ctrl-C cleans up after it too."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
