"""`datascan mean SRC OUT.binaryproto`: what Caffe's compute_image_mean writes, from the scan.

The scan runs as `check` runs it (shards, workers, one merge), with each worker also summing
the pixels of the records it judged good (checks/meansum.py): nothing is read twice. The
file is a BlobProto with the legacy num=1, channels, height, width and ``data`` = the per-pixel
mean in CHW, the records' own channel order (BGR for sets convert_imageset built), float32 as
compute_image_mean writes it. Records with an error finding are left out unless
``include_bad``; so are raw Datums whose shape is not the majority's (DS600, an error). Any
other mix of sizes is one line naming the first odd record, where compute_image_mean aborts.
"""
from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import findings as found
from ._version import __version__
from .caffe.proto import message_class
from .codes import keep
from .config import ScanConfig
from .errors import UsageError
from .model import Report, key_text
from .run_options import RunOptions
from .checks.content import spill_dir
from .scan import run_plans


@dataclass(frozen=True)
class MeanResult:
    path: str
    shape: tuple[int, int, int]
    records: int                 # records averaged
    left_out: int                # records of the source not averaged (bad, or another shape)
    mean: np.ndarray             # float32, c*h*w

    @property
    def channel_means(self) -> list[float]:
        c = self.shape[0]
        return [float(x) for x in self.mean.reshape(c, -1).astype(np.float64).mean(axis=1)]


def compute_mean(src: str | os.PathLike, config: ScanConfig = ScanConfig(), *,
                 include_bad: bool = False, run: RunOptions = RunOptions()) -> MeanResult:
    """The mean of SRC's records, as compute_image_mean computes it (module doc)."""
    with spill_dir(replace(config, mean=True, mean_bad=include_bad)) as config:
        plans, merger = run_plans([src], config, run)
        infos, _ = merger.finish()
        return _mean_of(src, plans, infos, merger, include_bad)


def scan_and_mean(src: str | os.PathLike | Sequence[str | os.PathLike], config: ScanConfig,
                  run: RunOptions, *,
                  select: Sequence[str] = (), ignore: Sequence[str] = (),
                  shown: str | None = None,
                  ) -> tuple[Report, MeanResult | None, str | None]:
    """One scan of SRC giving both its report (as scan() gives it) and its mean (as
    compute_mean gives it), or why there is no mean: `clean --mean` verifies its copy and
    averages what it kept in the same pass. ``shown``: the name the reasons give SRC (the
    cleaned copy's DST, not the temporary path it is scanned at)."""
    started = time.perf_counter()
    paths = [src] if isinstance(src, (str, os.PathLike)) else list(src)
    with spill_dir(replace(config, mean=True, mean_bad=False)) as config:
        plans, merger = run_plans(paths, config, run)
        infos, findings = merger.finish()
        try:
            mean = _mean_of(paths[0], plans, infos, merger, False, shown=shown, cleaned=True)
            why = None
        except UsageError as e:
            mean, why = None, str(e)
        kept = found.collect(f for f in findings if keep(f.code, select, ignore))
    report = Report(__version__, tuple(infos), kept, time.perf_counter() - started)
    return report, mean, why


_NOT_DATUMS = ("compute_image_mean reads Datums from an LMDB or LevelDB, and the loaders of "
               "such sets take no mean file: no mean written")


def _mean_of(src, plans, infos, merger, include_bad: bool, *, shown: str | None = None,
             cleaned: bool = False) -> MeanResult:
    (plan,), (info,) = plans, infos
    name = src if shown is None else shown
    if info.encoding not in ("datum", "annotated_datum", "image", "image+text"):
        raise UsageError(f"{name}: {info.format} of {info.encoding} records: compute_image_mean "
                         "reads Datums from an LMDB or LevelDB (HDF5Data takes no mean)")
    summary = merger.summaries[plan.source]
    if info.encoding in ("image", "image+text"):
        what = ("a text-recognition set (image-N files and label-N text, no Datums)"
                if summary.text.recognised else "a set of bare image files, not Datums")
        raise UsageError(f"{name}: {what}: {_NOT_DATUMS}")
    sums = summary.mean
    shapes = dict(sums.sums) if sums is not None else {}
    if not include_bad:    # and the records the dataset-wide findings name (DS403, DS600)
        odd = _named_shapes(plan, summary, merger.transform)
        shapes = {s: v for s, v in shapes.items() if not odd(s)}
    if not shapes:
        why = "no record to average"
        if info.records and not include_bad:
            why += " (every record has an error finding" + ("" if cleaned else
                                                            "; --include-bad adds them") + ")"
        raise UsageError(f"{name}: {why}")
    if len(shapes) > 1 or sums.overflow:
        raise UsageError(_mixed(name, sums, shapes, include_bad))
    (shape, s), = shapes.items()
    mean = (s.total / s.count).astype(np.float32)
    return MeanResult(str(src), tuple(int(x) for x in shape), s.count, info.records - s.count, mean)


def _named_shapes(plan, summary, transform):
    """A test of a summed shape (c, h, w): are its records named by a dataset-wide error
    finding? DS403 and DS600 name every record of a channel count or size that is not the
    majority's (or below crop_size) as the data layer reads it (checks/loader.py), so their
    records are exactly the summed shapes of those channel counts or sizes."""
    from .checks.dataset import Shapes
    from .model import Severity
    named = {f.index for f in Shapes().find(plan.source, summary, plan.encoding, transform)
             if f.severity is Severity.ERROR and f.index is not None}

    def bad(table) -> set:
        return {shape for shape, g in table.items() if g.runs and g.runs[0][0] in named}
    sizes, channels, raw = bad(summary.sizes), bad(summary.channels), bad(summary.shapes)
    return lambda s: s in raw or s[0] in channels or tuple(s[1:]) in sizes


def _mixed(src, sums, shapes, include_bad: bool) -> str:
    """The records kept mix sizes: where compute_image_mean aborts. Without --include-bad
    they are records no finding names (or forced/cropped ones): cleaning would not help."""
    odd = sums.first_odd(set(shapes))
    fix = "resize them" + (", or leave out the bad ones: no --include-bad" if include_bad else "")
    if odd is None:     # more shapes than the sums hold
        return (f"{src}: the records come in more than {len(shapes)} sizes: compute_image_mean "
                f"aborts at the first of another size; a mean needs records of one size ({fix})")
    shape0, (i0, k0), shape1, (i1, k1) = odd
    n0, n1 = (int(np.prod(s)) for s in (shape0, shape1))
    which = "records" if include_bad else "records kept (no error finding)"
    return (f"{src}: the {which} come in several sizes; the first is {_shape(shape0)} "
            f"(#{i0}{_key(k0)}) and record #{i1}{_key(k1)} is {_shape(shape1)}: "
            f"compute_image_mean aborts there (\"Check failed: size_in_datum == data_size "
            f"({n1} vs. {n0}) Incorrect data field size\"; it decodes images as stored, without "
            f"the transform's force_color or crop_size); a mean needs records of one size ({fix})")


def _shape(shape) -> str:
    return "x".join(map(str, shape))


def _key(key) -> str:
    if key is None:
        return ""
    return f", key {key if isinstance(key, str) else key_text(key)}"


def write_blob(result: MeanResult, out: str | os.PathLike) -> None:
    """The BlobProto compute_image_mean writes, renamed into place once whole."""
    c, h, w = result.shape
    blob = message_class("BlobProto")(num=1, channels=c, height=h, width=w)
    blob.data.extend(result.mean.tolist())
    out = Path(out)
    tmp = out.with_name(f".{out.name}.datascan-tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(blob.SerializeToString())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {out}: {e.strerror or e}") from None


def describe(result: MeanResult, out: str, seconds: float | None = None) -> str:
    """What the command prints: the counts, compute_image_mean's per-channel lines and the
    transform_param lines that use them."""
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    lines = [f"{out}: mean of {result.records:,} records of {result.path} "
             f"({_shape(result.shape)}, CHW, the records' channel order){took}; "
             f"{result.left_out:,} left out"]
    means = result.channel_means
    lines += [f"mean_value channel [{i}]: {m:g}" for i, m in enumerate(means)]
    lines.append("transform_param {   # per-channel means, instead of mean_file")
    lines += [f"  mean_value: {m:g}" for m in means]
    lines.append("}")
    return "\n".join(lines) + "\n"


def mean_command(src, out, config: ScanConfig, include_bad: bool, run: RunOptions) -> str:
    started = time.perf_counter()
    result = compute_mean(src, config, include_bad=include_bad, run=run)
    write_blob(result, out)
    return describe(result, str(out), time.perf_counter() - started)

