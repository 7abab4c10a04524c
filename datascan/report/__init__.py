"""Report renderers: one module per output format, loaded when a report is rendered."""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ..model import Report


def _lazy(module: str) -> Callable[[Report], str]:
    # The CLI lists the formats in its --help: naming one must not load it (instant start).
    def render(report: Report) -> str:
        return import_module(f"{__name__}.{module}").render(report)
    return render


FORMATS = {"text": _lazy("text"), "json": _lazy("json")}
__all__ = ["FORMATS", "render", "to_dict"]


def render(report: Report, fmt: str) -> str:
    return FORMATS[fmt](report)


def __getattr__(name: str):
    if name == "to_dict":
        from .json import to_dict
        return to_dict
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
