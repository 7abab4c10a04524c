"""Command-line wiring only: parse, call the engine, render, map to an exit code."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import bars, exits, sources
from ._version import __version__
from .choices import BACKENDS, REPORT_FORMATS
from .doctor.command import add_parser as add_doctor_parser
from .errors import DatascanError
from .cli_views import (add_listing_options, add_report_parser, add_show_parsers, exit_code,
                        explain_command, report_command, view_from, write_report)
from .cli_checks import config_from, net_config_from, validate
from .cli_options import (OnlyCommand, add_cache_options, add_forward_options,
                          add_label_map_option, add_text_options, add_transform_options,
                          cache_from, forward_from, transform_from)
from .exits import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS
from .cli_mean import add_mean_parser, mean_command

# The rest loads when a command runs: --version and --help stay instant. Importing this
# module loads neither typing nor dataclasses (tests/test_cli.py holds it to that).


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):   # one line, exit 2, like every other failure
        self.exit(EXIT_ERROR, f"datascan: error: {message}\n")


def _codes(text: str) -> tuple[str, ...]:
    return tuple(c.strip().upper() for c in text.split(",") if c.strip())


class _Format(argparse.Action):
    """--format names the report format. A storage format there is the old spelling of
    --source-format: it still works for one release, and main() warns about it."""

    def __init__(self, *args, report_formats: Sequence[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.report_formats = tuple(report_formats)

    def __call__(self, parser, namespace, value, option_string=None):
        if value in self.report_formats:
            namespace.report_format = value
        elif value in sources.names():
            namespace.source_format = namespace.deprecated_format = value
        else:
            hint = f"choose from {', '.join(self.report_formats)}" if self.report_formats else \
                f"--source-format names the storage format: {', '.join(sources.names())}"
            parser.error(f"argument --format: invalid choice: {value!r} ({hint})")


def _add_format(p: argparse.ArgumentParser, report_formats: Sequence[str]) -> None:
    p.set_defaults(deprecated_format=None)
    p.add_argument("--format", action=_Format, report_formats=report_formats,
                   default=argparse.SUPPRESS, metavar="{" + ",".join(report_formats) + "}",
                   help="the report format" if report_formats else argparse.SUPPRESS)


def _deprecation(args: argparse.Namespace) -> str | None:
    name = args.deprecated_format
    return None if name is None else (
        f"datascan: warning: --format {name} names a storage format; use --source-format {name} "
        "(--format will mean only the report format)")


def add_scan_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH", help="LMDB, LevelDB, HDF5 file or HDF5 list, an image list "
                   "(ImageData's source: `path label` lines), a text-recognition or SSD LMDB")
    add_check_options(p)


def add_check_options(p: argparse.ArgumentParser) -> None:
    """The options that say how records are checked (shared by check and clean)."""
    p.add_argument("--num-classes", type=int, help="labels must lie in [0, N)")
    p.add_argument("--ignore-label", type=int, help="a label value that is never checked")
    add_text_options(p)
    p.add_argument("--source-format", choices=sources.names(),
                   help="the storage format (default: detected)")
    p.add_argument("--label-dataset", action="append", dest="label_datasets", metavar="NAME",
                   help="HDF5 dataset(s) holding labels (default: label)")
    p.add_argument("--root", metavar="ROOT",
                   help="image list: ImageData's root_folder, prepended to each path as a plain "
                        "string (no path join: give the trailing /)")
    add_label_map_option(p)
    p.add_argument("--jobs", type=int, default=None,
                   help="worker processes (default: all cores)")
    p.add_argument("--backend", default=None, choices=BACKENDS,
                   help="where shards run: datascan's process pool (local, the default), "
                        "inprocess (no isolation: debugging only) or a joblib backend")
    p.add_argument("--scheduler", default=None,
                   help="with --backend dask: the scheduler address, tcp://HOST:PORT")
    p.add_argument("--select", type=_codes, default=(), help="only codes with these prefixes")
    p.add_argument("--ignore", type=_codes, default=(), help="drop codes with these prefixes")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser; given a ``command``, the others are named but not built (OnlyCommand)."""
    parser = _Parser(prog="datascan", description="Find the records that poison a training run.")
    parser.add_argument("--version", action="version", version=f"datascan {__version__}")
    sub = OnlyCommand(parser.add_subparsers(dest="command", required=True, parser_class=_Parser), command)
    check = sub.add_parser("check", help="scan datasets and report bad records")
    add_scan_options(check)
    _add_format(check, REPORT_FORMATS)
    check.add_argument("--output-format", "--report", dest="report_format",
                       choices=sorted(REPORT_FORMATS), help=argparse.SUPPRESS)   # older spellings
    check.set_defaults(report_format="text")
    check.add_argument("--output", "-o", help="write the report here instead of stdout")
    add_listing_options(check)
    check.add_argument("--fail-on", choices=("error", "warning"), default="error",
                       help="exit 1 when a finding is at least this severe (default: error)")
    add_cache_options(check)
    add_transform_options(check)
    add_forward_options(check)
    add_clean_parser(sub)
    add_report_parser(sub)
    add_show_parsers(sub, lambda p: (add_check_options(p), add_transform_options(p)))
    add_doctor_parser(sub)
    add_mean_parser(sub, add_check_options)
    return parser


def add_clean_parser(sub) -> None:
    clean = sub.add_parser("clean", help="write a verified copy of a dataset without its bad records")
    clean.add_argument("src", metavar="SRC", help="the dataset to clean (never modified)")
    clean.add_argument("dst", metavar="DST", help="the cleaned copy (a directory for an HDF5 list)")
    add_check_options(clean)
    add_transform_options(clean)
    _add_format(clean, ())        # no report here: only the old spelling of --source-format
    clean.add_argument("--drop", choices=("error", "warning"), default="error",
                       help="drop records with findings at least this severe (default: error)")
    clean.add_argument("--quarantine", metavar="QDIR", help="write the dropped records here")
    clean.add_argument("--from-report", metavar="REPORT.json",
                       help="drop the records this JSON report of SRC lists instead of scanning")
    clean.add_argument("--drop-files", action="store_true",
                       help="HDF5 list: leave out files that cannot be cleaned row-wise")
    clean.add_argument("--force", action="store_true", help="replace an existing DST / QDIR")
    clean.add_argument("--mean", metavar="FILE",
                       help="also write the cleaned copy's mean.binaryproto (what `datascan mean "
                            "DST FILE` writes), from the verification scan")


def _progress(args: argparse.Namespace):
    if not bars.shown(not args.quiet):
        return None, None
    bar = bars.records_bar()
    return bar, bar.update


def _bar_total(bar):
    """Give the bar its total once the scan is planned: then it shows an ETA."""
    if bar is None:
        return None

    def total(n: int | None) -> None:   # --net scans its sources one after the other
        bar.total = None if n is None else bar.n + n
        bar.refresh()
    return total


def request_from(args: argparse.Namespace, tick=None, total=None):
    """The engine's CheckRequest for `datascan check`'s arguments."""
    from .engine import CheckRequest, NetSource   # the scan, its formats and the dummy net
    from .run_options import RunOptions, default_jobs
    from .structs import replace
    run = RunOptions(jobs=args.jobs or default_jobs(), backend=args.backend,
                     scheduler=args.scheduler, progress=tick, progress_total=total)
    common = dict(paths=tuple(args.paths), run=run, select=args.select, ignore=args.ignore)
    if args.net:
        transform_from(args)          # refuses --crop-size / --force-* with --net
        return CheckRequest(net=NetSource(args.net, args.phase, args.forward, args.precision,
                                          net_config_from(args)), **common)
    request = CheckRequest(config=config_from(args), **common)   # no PATH: refused first
    return replace(request, forward=forward_from(args), cache=cache_from(args))


def _check(args: argparse.Namespace) -> int:
    from .engine import run
    bar, tick = _progress(args)
    try:
        report = run(request_from(args, tick, _bar_total(bar)))
    except KeyboardInterrupt as e:     # a partial report, when one was asked for in a file
        if args.output and getattr(e, "partial_report", None) is not None:
            _write_report(e.partial_report, args)
        raise
    finally:
        if bar is not None:
            bar.close()
    _write_report(report, args)
    if report.unread:                  # a path named could not be read: the run is not whole
        return EXIT_ERROR
    return exit_code(report, args.fail_on)


def _write_report(report, args: argparse.Namespace) -> None:
    from . import report as reports
    first = "PARTIAL REPORT: the scan was interrupted; records not read are not in it\n" \
        if report.partial and args.report_format == "text" else ""
    view = view_from(args)
    write_report(lambda fh: reports.write(report, args.report_format, fh, view, first), args.output)


def _show(args: argparse.Namespace) -> int:
    from .show import show
    sys.stdout.write(show(args.src, args.record, config_from(args), args.output))
    return EXIT_CLEAN


def _clean(args: argparse.Namespace) -> int:
    from .clean import clean
    from .clean.render import progress_bars, summary
    from .run_options import default_jobs
    progress, close = progress_bars(not args.quiet)
    try:
        result = clean(args.src, args.dst, config=config_from(args), drop=args.drop,
                       quarantine=args.quarantine, from_report=args.from_report, force=args.force,
                       drop_files=args.drop_files, jobs=args.jobs or default_jobs(),
                       backend=args.backend, select=args.select, ignore=args.ignore,
                       progress=progress, warn=lambda m: print(f"datascan: warning: {m}",
                                                               file=sys.stderr),
                       mean=args.mean)
    finally:
        close()
    sys.stdout.write(summary(result))
    if result.mean_problem is not None:     # asked for and not written: the run is not whole
        print(f"datascan: error: --mean {args.mean}: {result.mean_problem}", file=sys.stderr)
        return EXIT_ERROR if result.ok else EXIT_FINDINGS
    return EXIT_CLEAN if result.ok else EXIT_FINDINGS


def _command(argv: Sequence[str]) -> str:
    """The subcommand argv names ("" for none: --version, --help): the top level takes no
    option with a value, so it is the first word that is not an option."""
    return next((a for a in argv if not a.startswith("-")), "")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:       # `datascan` alone: what it does and its commands, not a terse error
        sys.stderr.write(build_parser("").format_help())
        return EXIT_ERROR
    try:
        args = build_parser(_command(argv)).parse_args(argv)
        args.argv = tuple(argv)
    except SystemExit as e:   # --help, --version, or a usage error already printed in one line
        return int(e.code or 0)
    if (warning := _deprecation(args) if hasattr(args, "deprecated_format") else None) is not None:
        print(warning, file=sys.stderr)
    with exits.signals():
        try:
            validate(args)
            return {"check": _check, "clean": _clean, "report": report_command, "show": _show,
                    "explain": explain_command, "doctor": getattr(args, "run", None),
                    "mean": mean_command}[args.command](args)
        except DatascanError as e:
            return exits.fail(str(e))
        except KeyboardInterrupt as e:   # SIGINT -> 130, SIGTERM/SIGHUP -> 128 + signal
            return exits.interrupted(e)
        except BrokenPipeError:          # `| head`, `| true`, quitting less: end quietly
            return exits.broken_pipe()
        except Exception as e:           # one line, never exit 1 (that means findings)
            return exits.unexpected(e)
