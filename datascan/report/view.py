"""How a report is to be shown, beyond the report itself: what the run was asked (the
gate, the options), and the text report's limits. Every renderer takes one; JSON ignores it."""
from __future__ import annotations

from ..choices import MAX_FINDINGS   # text: findings listed per code unless --max-findings / --all
from ..structs import dataclass


@dataclass(frozen=True)
class View:
    fail_on: str = "error"                 # the gate: exit 1 at findings this severe
    options: tuple[str, ...] = ()          # the command line's options, as given; () unknown
    num_classes: int | None = None         # --num-classes, when the run was given it
    max_findings: int | None = MAX_FINDINGS   # per code; None: all (--all)
    color: bool = False                    # ANSI colour (a terminal, no NO_COLOR)
    pictures: bool = True                  # html: read the records again to draw them
    options_known: bool = True             # False for a report re-rendered from JSON
