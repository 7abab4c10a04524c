"""`datascan mean SRC OUT.binaryproto`: its arguments (the work is mean.py's)."""
from __future__ import annotations

import argparse
import sys


def add_mean_parser(sub, add_check_options) -> None:
    p = sub.add_parser("mean", help="write the mean.binaryproto Caffe's compute_image_mean would")
    p.add_argument("src", metavar="SRC", help="the dataset (LMDB or LevelDB of Datums)")
    p.add_argument("out", metavar="OUT.binaryproto", help="the mean file to write")
    p.add_argument("--include-bad", action="store_true",
                   help="average the records with error findings too (compute_image_mean does)")
    add_check_options(p)
    p.set_defaults(paths=(), deprecated_format=None)


def mean_command(args: argparse.Namespace) -> int:
    from .cli_options import label_map_from
    from .config import scan_config
    from .mean import mean_command as run_mean
    from .run_options import RunOptions, default_jobs
    run = RunOptions(jobs=args.jobs or default_jobs(), backend=args.backend, scheduler=args.scheduler)
    config = scan_config(num_classes=args.num_classes, ignore_label=args.ignore_label,
                         format=args.source_format, label_datasets=args.label_datasets or ("label",),
                         root=args.root, label_map=label_map_from(args))
    sys.stdout.write(run_mean(args.src, args.out, config, args.include_bad, run))
    return 0
