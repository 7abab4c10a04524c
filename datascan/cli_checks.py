"""What `datascan check`, `clean`, `show` and `mean` were asked for, checked before anything
runs: the ScanConfig of the options (with --net: the options every layer takes) and the
options that parse but cannot be meant (one clear line, exit 2, instead of a surprise later)."""
from __future__ import annotations

import argparse
import os

from .cli_options import label_map_from, text_options, transform_from
from .errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .config import ScanConfig


def config_from(args: argparse.Namespace) -> ScanConfig:
    """The checks `check` and `clean` were asked for."""
    from .config import scan_config
    return scan_config(num_classes=args.num_classes, ignore_label=args.ignore_label,
                       format=args.source_format, label_datasets=args.label_datasets or ("label",),
                       root=args.root, label_map=label_map_from(args), **text_options(args),
                       transform=transform_from(args))


def net_config_from(args: argparse.Namespace) -> ScanConfig:
    """The options `check --net` applies to every layer (they win over the net's); those
    the net alone decides are refused in one line."""
    from .config import scan_config
    for flag, value, net_has in (("--root", args.root, "each ImageData layer's root_folder"),
                                 ("--label-dataset", args.label_datasets, "each layer's tops"),
                                 ("--source-format", args.source_format,
                                  "each layer's type and backend")):
        if value:
            raise UsageError(f"{flag} does not go with --net: the net sets it ({net_has})")
    return scan_config(num_classes=args.num_classes, ignore_label=args.ignore_label,
                       label_map=label_map_from(args), **text_options(args))


def validate(args: argparse.Namespace) -> None:
    """Options that parse but cannot be meant: one clear line now, not a surprise later."""
    if args.command in ("check", "clean", "show", "mean"):
        validate_scan(args)
    if getattr(args, "max_findings", None) is not None and args.max_findings < 0:
        raise UsageError(f"--max-findings must be at least 0, not {args.max_findings} "
                         "(--all lists every finding)")
    output = getattr(args, "output", None)
    if output:
        parent = os.path.dirname(os.path.abspath(output))
        if os.path.isdir(output) or not os.path.isdir(parent) or not os.access(parent, os.W_OK):
            raise UsageError(f"--output {output}: cannot write a report there")


def validate_scan(args: argparse.Namespace) -> None:
    from .codes import CODES
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {args.jobs} (leave it out for all cores)")
    if getattr(args, "num_classes", None) is not None and args.num_classes < 1:
        raise UsageError(f"--num-classes must be at least 1, not {args.num_classes}")
    if getattr(args, "scheduler", None) and args.backend != "dask":
        raise UsageError("--scheduler is for --backend dask")
    for flag, prefixes in (("--select", getattr(args, "select", ())),
                           ("--ignore", getattr(args, "ignore", ()))):
        unknown = [p for p in prefixes if not any(code.startswith(p) for code in CODES)]
        if unknown:
            raise UsageError(f"{flag} {','.join(unknown)} matches no finding code "
                             f"({min(CODES)}..{max(CODES)})")
