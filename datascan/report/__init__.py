"""Report renderers: one module per output format."""
from __future__ import annotations

from ..model import Report
from . import json, text

FORMATS = {"text": text.render, "json": json.render}


def render(report: Report, fmt: str) -> str:
    return FORMATS[fmt](report)
