"""Why clean stops before writing anything that could be mistaken for a cleaned dataset."""
from __future__ import annotations

from ..errors import DatascanError


class CleanRefused(DatascanError):
    """Clean will not run (exit 2, one line): the outputs, the report or the source forbid it."""
