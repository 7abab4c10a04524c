"""The CLI's reading side: how a report is shown (text limits, colour, the gate), and the
commands that read rather than scan: `report`, `explain` (and `show`'s parser)."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from .choices import MAX_FINDINGS, REPORT_FORMATS
from .exits import EXIT_CLEAN, EXIT_FINDINGS

TYPE_CHECKING = False   # (typing, the report and its renderers load when a command runs)
if TYPE_CHECKING:
    from typing import TextIO

    from .model import Report
    from .report import View


def exit_code(report: Report, fail_on: str) -> int:
    from .codes import Severity
    worst = report.worst()
    return EXIT_FINDINGS if worst is not None and worst.rank >= Severity(fail_on).rank else EXIT_CLEAN


def add_report_parser(sub) -> None:
    rep = sub.add_parser("report", help="render a saved JSON report (as HTML by default)")
    rep.add_argument("json_report", metavar="REPORT.json", help="a report written by --format json")
    rep.add_argument("--format", dest="report_format", choices=sorted(REPORT_FORMATS),
                     default="html", help="the report format (default: html)")
    rep.add_argument("--output", "-o", help="write the report here instead of stdout")
    rep.add_argument("--fail-on", choices=("error", "warning"), default="error",
                     help="the gate the page's verdict is for (default: error)")
    rep.add_argument("--no-pictures", action="store_true",
                     help="do not read the records again from their sources")
    add_listing_options(rep)
    rep.set_defaults(deprecated_format=None)


def add_listing_options(p: argparse.ArgumentParser) -> None:
    """How many findings the text report lists."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--max-findings", type=int, default=MAX_FINDINGS, metavar="N",
                   help=f"text report: list at most N findings per code "
                        f"(default {MAX_FINDINGS})")
    g.add_argument("--all", dest="max_findings", action="store_const", const=None,
                   help="text report: list every finding")


def add_show_parsers(sub, add_check_options) -> None:
    show = sub.add_parser("show", help="what datascan knows about one record, and its picture")
    show.add_argument("src", metavar="SRC", help="the dataset")
    show.add_argument("record", metavar="KEY|#INDEX", help="the record's key, or #position")
    show.add_argument("--output", "-o", metavar="FILE",
                      help="write its picture here (PNG, as decoded) and the image as stored "
                           "beside it (FILE.stored.jpg, ...)")
    add_check_options(show)
    explain = sub.add_parser("explain", help="what a finding code means and what to do")
    explain.add_argument("code", nargs="?", metavar="CODE", help="e.g. DS303 (none: list them)")
    for p in (show, explain):
        p.set_defaults(deprecated_format=None)


def explain_command(args: argparse.Namespace) -> int:
    from .show import explain, explain_all
    sys.stdout.write(explain(args.code) if args.code else explain_all())
    return EXIT_CLEAN


def view_from(args: argparse.Namespace, **known) -> View:
    """How the report is shown: the gate, and the options the run was given."""
    from . import report as reports
    argv = getattr(args, "argv", ())
    paths = set(getattr(args, "paths", ()))
    options = tuple(a for a in argv[1:] if a not in paths)
    colour = not args.output and sys.stdout.isatty() and not os.environ.get("NO_COLOR") \
        and os.environ.get("TERM") != "dumb"
    return reports.View(fail_on=args.fail_on, options=options, max_findings=args.max_findings,
                        num_classes=getattr(args, "num_classes", None), color=colour, **known)


def write_report(text: str | Callable[[TextIO], None], output: str | None) -> None:
    """``text``, or what writes it to a file handle (the JSON report, streamed)."""
    emit = text if callable(text) else (lambda fh: fh.write(text))
    if output:
        # Written beside, then renamed: an interrupted write never leaves half a report.
        tmp = f"{output}.datascan-tmp-{os.getpid()}"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                emit(fh)
            os.replace(tmp, output)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    else:
        emit(sys.stdout)
        sys.stdout.flush()


def report_command(args: argparse.Namespace) -> int:
    from .report.load import load
    from . import report as reports
    report = load(args.json_report)
    view = view_from(args, options_known=False, pictures=not args.no_pictures)
    write_report(lambda fh: reports.write(report, args.report_format, fh, view), args.output)
    return exit_code(report, args.fail_on)


