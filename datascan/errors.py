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
