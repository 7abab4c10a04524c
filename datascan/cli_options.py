"""The options of `check` for the forward pass, for remembered verdicts, SSD's label map,
text-recognition labels and the data layer's transform, and how they become the engine's
ForwardOptions, Cache, LabelMap and Transform (cli.py wires them); the parser built for the
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


def add_label_map_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--label-map", metavar="FILE",
                   help="SSD labelmap.prototxt: box labels must be among its items")


def label_map_from(args: argparse.Namespace):
    """The LabelMap --label-map names, read now (an unreadable or invalid one: exit 2)."""
    if not getattr(args, "label_map", None):
        return None
    from .caffe.labelmap import read_label_map
    return read_label_map(args.label_map)


def add_forward_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("forward pass (the dummy-loss net) and net-driven scans")
    g.add_argument("--forward", action="store_true",
                   help="run a dummy InnerProduct+loss net over every batch, as Caffe feeds it")
    g.add_argument("--batch-size", type=int,
                   help="the data layer's batch_size (names iterations; default: a net's, "
                        "else 64, said in the report)")
    g.add_argument("--scale", type=float, default=1.0, help="transform_param scale")
    mean = g.add_mutually_exclusive_group()
    mean.add_argument("--mean-file", help="transform_param mean_file (mean.binaryproto)")
    mean.add_argument("--mean-value", type=float, action="append", default=[],
                      help="transform_param mean_value (once, or once per channel)")
    g.add_argument("--precision", choices=("fp32", "fp16"), default="fp32",
                   help="arithmetic of the dummy net (fp16 finds half-precision overflow)")
    g.add_argument("--net", help="a Caffe net prototxt: scan every data layer's source as it reads it")
    g.add_argument("--phase", choices=("train", "test"), help="with --net: only this phase's layers")


def add_transform_options(p: argparse.ArgumentParser) -> None:
    """The data layer's transform_param settings that decide whether it aborts on a record
    (DS403, DS600); the forward pass uses them too. --net reads them from each layer."""
    g = p.add_argument_group("the data layer's transform_param (what Caffe aborts on)")
    g.add_argument("--crop-size", type=int, default=0,
                   help="transform_param crop_size: records of several sizes batch together, "
                        "a side below it aborts (the forward pass crops the centre)")
    g.add_argument("--force-color", action="store_true",
                   help="transform_param force_color: encoded images decode to 3 channels of 8 bits")
    g.add_argument("--force-gray", action="store_true",
                   help="transform_param force_gray: encoded images decode to 1 channel of 8 bits")


def transform_from(args: argparse.Namespace):
    """The transform the records are judged with: the options given, else Caffe's defaults."""
    from .config import Transform
    crop = getattr(args, "crop_size", 0) or 0
    color, gray = getattr(args, "force_color", False), getattr(args, "force_gray", False)
    if crop < 0:
        raise UsageError(f"--crop-size must be at least 0, not {crop}")
    if color and gray:
        raise UsageError("--force-color with --force-gray: Caffe aborts with \"cannot set both "
                         "force_color and force_gray\"; give the one your net sets")
    if getattr(args, "net", None) and (crop or color or gray):
        raise UsageError("--net reads each data layer's transform_param: drop --crop-size, "
                         "--force-color and --force-gray")
    if not (crop or color or gray):
        return Transform()
    return Transform(crop, color, gray, origin="options")


def forward_from(args: argparse.Namespace):
    if not args.forward:
        return None
    from pathlib import Path

    from .forward.api import ForwardOptions   # numpy and the dummy net: only for --forward
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, not {args.batch_size}")
    return ForwardOptions(batch_size=args.batch_size, num_classes=args.num_classes,
                          ignore_label=args.ignore_label, scale=args.scale,
                          mean_file=Path(args.mean_file) if args.mean_file else None,
                          mean_value=tuple(args.mean_value), crop_size=args.crop_size,
                          force_color=args.force_color, force_gray=args.force_gray,
                          precision=args.precision)


def add_text_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("text-recognition LMDBs (num-samples, image-N, label-N)")
    g.add_argument("--alphabet", metavar="CHARS|@FILE",
                   help="the characters the recogniser knows, or @FILE (or a path with a /) "
                        "for a file holding them (line breaks are not characters): labels with "
                        "others are DS512")
    g.add_argument("--max-label-length", type=int, metavar="N",
                   help="labels longer than N characters are DS513 (no check without it; "
                        "deep-text-recognition-benchmark trains with batch_max_length 25 by "
                        "default)")


def text_options(args: argparse.Namespace) -> dict:
    """ScanConfig's alphabet and max_label_length from --alphabet and --max-label-length."""
    import os
    alphabet, length = getattr(args, "alphabet", None), getattr(args, "max_label_length", None)
    if length is not None and length < 1:
        raise UsageError(f"--max-label-length must be at least 1, not {length}")
    if alphabet is not None:
        alphabet = _alphabet(alphabet)
    if alphabet == "":
        raise UsageError("--alphabet is empty")
    return {"alphabet": alphabet, "max_label_length": length}


def _alphabet(value: str) -> str:
    """--alphabet's characters: the value itself, or a file's text for `@FILE` or a path with
    a separator that names a file (`./keys.txt`). A bare name is characters even when a file
    of that name exists: a warning says how to read it instead."""
    import os
    name = value[1:] if value.startswith("@") and len(value) > 1 else None
    if name is None and os.sep in value and os.path.isfile(value):
        name = value
    if name is None:
        if os.path.isfile(value):
            sys.stderr.write(f"datascan: warning: --alphabet {value!r} is taken as its "
                             f"{len(set(value))} characters, not as the file of that name "
                             f"(--alphabet @{value} reads the file)\n")
        return value
    try:
        with open(name, encoding="utf-8") as f:
            return f.read().replace("\r", "").replace("\n", "")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"--alphabet {value}: cannot read {name} as UTF-8 text: "
                         f"{getattr(e, 'strerror', None) or e}") from None


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
