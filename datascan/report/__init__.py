"""Report renderers: one module per output format, each ``render(report, view) -> str``;
``write`` streams the JSON report (its findings are not held as one string)."""
from __future__ import annotations

from typing import TextIO

from ..model import Report
from . import json, text
from .json import to_dict
from .view import MAX_FINDINGS, View


def _html(report: Report, view: View) -> str:
    from . import html     # Jinja2 and the record pictures: only for --format html
    return html.render(report, view)


FORMATS = {"text": text.render, "json": json.render, "html": _html}
__all__ = ["FORMATS", "MAX_FINDINGS", "View", "render", "to_dict", "write"]


def render(report: Report, fmt: str, view: View = View()) -> str:
    return FORMATS[fmt](report, view)


def write(report: Report, fmt: str, fh: TextIO, view: View = View(), first_line: str = "") -> None:
    """The report written to ``fh``: the same text as render(), JSON written as it is made."""
    fh.write(first_line)
    if fmt == "json":
        json.write(report, fh)
    else:
        fh.write(render(report, fmt, view))
