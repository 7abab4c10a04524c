"""Report renderers: one module per output format, each ``render(report, view) -> str``."""
from __future__ import annotations

from ..model import Report
from . import json, text
from .json import to_dict
from .view import MAX_FINDINGS, View


def _html(report: Report, view: View) -> str:
    from . import html     # Jinja2 and the record pictures: only for --format html
    return html.render(report, view)


FORMATS = {"text": text.render, "json": json.render, "html": _html}
__all__ = ["FORMATS", "MAX_FINDINGS", "View", "render", "to_dict"]


def render(report: Report, fmt: str, view: View = View()) -> str:
    return FORMATS[fmt](report, view)
