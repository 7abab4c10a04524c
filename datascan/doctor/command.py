"""`datascan doctor`: its arguments and its run, wired into cli.py's parser."""
from __future__ import annotations

import argparse
import sys

FAIL_ON = ("error", "warning", "info")


def add_parser(sub) -> None:
    p = sub.add_parser("doctor", help="read a Caffe training log: why and where the run went NaN")
    p.add_argument("log", nargs="?", metavar="LOG",
                   help="the glog output of `caffe train` (gzip ok; - for stdin); leave out "
                        "to only lint --solver/--net")
    p.add_argument("--solver", help="the solver prototxt (default: the one printed in the log)")
    p.add_argument("--net", help="the train net prototxt (default: the one printed in the log)")
    data = p.add_mutually_exclusive_group()
    data.add_argument("--data", dest="data", action="store_true", default=None,
                      help="scan the records the first non-finite iteration read (default: "
                           "when the net's sources exist)")
    data.add_argument("--no-data", dest="data", action="store_false",
                      help="do not go back to the records")
    p.add_argument("--format", dest="report_format", choices=("text", "json", "html"),
                   default="text", help="the report format (html: one self-contained page)")
    p.add_argument("--output", "-o", help="write the report here instead of stdout")
    p.add_argument("--instrument", metavar="NET",
                   help="write a copy of NET (with -o) with datascan's check layer in place "
                        "after every layer, and datascan_check.py beside it (no LOG)")
    p.add_argument("--after", metavar="LAYER,...",
                   help="with --instrument: check only after these layers")
    p.add_argument("--fail-on", choices=FAIL_ON, default="error",
                   help="exit 1 when a finding is at least this severe (default: error)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..codes import Severity
    from ..errors import UsageError
    if args.instrument or args.after:
        if not args.instrument or not args.output or args.log or args.solver or args.net:
            raise UsageError("--instrument NET -o OUT [--after LAYER,...] (no LOG, --solver, "
                             "--net)")
        from .instrument import write
        after = [x.strip() for x in args.after.split(",") if x.strip()] if args.after else None
        print(write(args.instrument, args.output, after), file=sys.stderr)
        return 0
    from ..report.doctor import FORMATS
    from .engine import doctor
    report = doctor(args.log, solver=args.solver, net=args.net, data=args.data)
    text = FORMATS[args.report_format](report)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    threshold = Severity(args.fail_on).rank
    return 1 if any(f.severity.rank >= threshold for f in report.findings) else 0
