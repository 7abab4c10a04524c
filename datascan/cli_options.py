"""The options of `check` for the forward pass and for remembered verdicts, and how they
become the engine's ForwardOptions and Cache (cli.py wires them); the parser built for the
one command that runs (OnlyCommand)."""
from __future__ import annotations

import argparse
import sys

from .errors import UsageError


def add_cache_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("remembered verdicts")
    g.add_argument("--cache-dir", metavar="DIR",
                   help="remember verdicts here (default: $XDG_CACHE_HOME/datascan or "
                        "~/.cache/datascan); an unchanged source is not scanned again")
    g.add_argument("--no-cache", action="store_true",
                   help="scan even when the sources are unchanged, and remember nothing")


def cache_from(args: argparse.Namespace):
    if args.no_cache:
        return None
    from pathlib import Path

    from .cache import Cache, default_dir
    return Cache(Path(args.cache_dir) if args.cache_dir else default_dir(),
                 warn=lambda message: print(f"datascan: warning: {message}", file=sys.stderr))


def add_forward_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("forward pass (the dummy-loss net) and net-driven scans")
    g.add_argument("--forward", action="store_true",
                   help="run a dummy InnerProduct+loss net over every batch, as Caffe feeds it")
    g.add_argument("--batch-size", type=int, help="the data layer's batch_size (names iterations)")
    g.add_argument("--scale", type=float, default=1.0, help="transform_param scale")
    mean = g.add_mutually_exclusive_group()
    mean.add_argument("--mean-file", help="transform_param mean_file (mean.binaryproto)")
    mean.add_argument("--mean-value", type=float, action="append", default=[],
                      help="transform_param mean_value (once, or once per channel)")
    g.add_argument("--crop-size", type=int, default=0, help="transform_param crop_size (centre crop)")
    g.add_argument("--precision", choices=("fp32", "fp16"), default="fp32",
                   help="arithmetic of the dummy net (fp16 finds half-precision overflow)")
    g.add_argument("--net", help="a Caffe net prototxt: scan every data layer's source as it reads it")
    g.add_argument("--phase", choices=("train", "test"), help="with --net: only this phase's layers")


def forward_from(args: argparse.Namespace):
    if not args.forward:
        return None
    from pathlib import Path

    from .forward.api import ForwardOptions   # numpy and the dummy net: only for --forward
    if args.batch_size is None:
        raise UsageError("--forward needs --batch-size (the data layer's batch_size): "
                         "iterations are counted in batches")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, not {args.batch_size}")
    return ForwardOptions(batch_size=args.batch_size, num_classes=args.num_classes,
                          ignore_label=args.ignore_label, scale=args.scale,
                          mean_file=Path(args.mean_file) if args.mean_file else None,
                          mean_value=tuple(args.mean_value), crop_size=args.crop_size,
                          precision=args.precision)


class _Unbuilt:
    """A subcommand's parser that this run does not use: its arguments are not built."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: self


class OnlyCommand:
    """The subparsers as cli.build_parser's add_* functions see them: every command is
    named (with its help line), only the one that runs gets its arguments (building them
    all was a third of `--version`'s own time)."""

    def __init__(self, sub, command: str | None):
        self.sub, self.command = sub, command

    def add_parser(self, name: str, **kwargs):
        if self.command in (None, name):
            return self.sub.add_parser(name, **kwargs)
        self.sub.add_parser(name, add_help=False, **kwargs)
        return _Unbuilt()
