"""Report renderers: one module per output format."""
from __future__ import annotations

from ..model import Report
from . import json, text
from .json import to_dict

FORMATS = {"text": text.render, "json": json.render}
__all__ = ["FORMATS", "render", "to_dict"]


def render(report: Report, fmt: str) -> str:
    return FORMATS[fmt](report)
