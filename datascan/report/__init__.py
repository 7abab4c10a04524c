"""Report renderers: one module per output format, each ``render(report, view) -> str``,
loaded when a report is rendered (the CLI lists the formats in its --help: naming one must
not load it, nor Jinja2 and the record pictures behind --format html); ``write`` streams
the JSON report (its findings are not held as one string)."""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Callable, TextIO

from ..choices import REPORT_FORMATS
from .view import MAX_FINDINGS, View

if TYPE_CHECKING:
    from ..model import Report


def _lazy(module: str) -> Callable[[Report, View], str]:
    def render(report: Report, view: View) -> str:
        return import_module(f"{__name__}.{module}").render(report, view)
    return render


FORMATS = {name: _lazy(name) for name in REPORT_FORMATS}   # (choices.py: --help lists them)
__all__ = ["FORMATS", "MAX_FINDINGS", "View", "render", "to_dict", "write"]


def render(report: Report, fmt: str, view: View = View()) -> str:
    return FORMATS[fmt](report, view)


def write(report: Report, fmt: str, fh: TextIO, view: View = View(), first_line: str = "") -> None:
    """The report written to ``fh``: the same text as render(), JSON written as it is made."""
    fh.write(first_line)
    if fmt == "json":
        from .json import write as write_json
        write_json(report, fh)
    else:
        fh.write(render(report, fmt, view))


def __getattr__(name: str):
    if name == "to_dict":
        from .json import to_dict
        return to_dict
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
