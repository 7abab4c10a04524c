"""--net: every data layer's source of a Caffe net, scanned as that layer reads it (engine.run).

Each layer's options come from the net: its transform_param (ImageData: is_color and
new_height/new_width), the num_output feeding its loss (SSD: MultiBoxLoss num_classes),
ignore_label, root_folder, AnnotatedData's label_map_file. Options given with the net
(``given``: --num-classes, --ignore-label, --label-map, --alphabet, --max-label-length)
apply to every layer and win over the net's. What Caffe would stop at is a finding:

- a layer whose source does not exist: DS100 (Caffe aborts at that layer's setup);
- two layers reading one source with different transforms: the source is scanned once per
  distinct transform, and the later scans add the findings that transform alone has (the
  TEST layer's aborts are not hidden behind the TRAIN layer's force_color / crop_size);
- a layer whose type cannot read its source's format: one line, exit 2, with the fix.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from . import findings as found, sources
from ._version import __version__
from .codes import CANNOT_OPEN, LIST_ROOT
from .config import ScanConfig, Transform, scan_config
from .errors import DatascanError, UsageError
from .model import Finding, ForwardBlock, NetBlock, NetLayer, Report

# The layer that reads each format, and how it names its source.
_READER = {"lmdb": "a Data layer with backend: LMDB (data_param { source backend })",
           "leveldb": "a Data layer with backend: LEVELDB (data_param { source backend })",
           "imagelist": "an ImageData layer (image_data_param { source root_folder })",
           "hdf5": "an HDF5Data layer (hdf5_data_param { source })"}


def _stored_as(path: Path) -> str | None:
    """The format the dataset at `path` is stored in, None when it is not one datascan knows."""
    try:
        return sources.detect(path).name
    except DatascanError:
        return None


def wrong_layer(net: str, t, path: str, actual: str) -> UsageError:
    """A layer whose type (or backend) cannot read what its source is: the fix to make."""
    if t.type in ("Data", "AnnotatedData") and actual in ("lmdb", "leveldb"):
        fix = (f"{'; '.join(t.notes) or 'its data_param says so'}; set `backend: "
               f"{actual.upper()}` in its data_param")
    elif actual == "imagelist":
        fix = f"an image list is read by {_READER[actual]}"
    elif t.type == "ImageData" and actual in ("lmdb", "leveldb"):
        fix = f"use {_READER[actual]}"
    else:
        fix = f"{actual} is read by {_READER.get(actual, 'another layer type')}"
    return UsageError(f"{net}: {t.type} layer {t.layer!r} reads {path} as {t.format} but it is "
                      f"{actual}: Caffe cannot read it so: {fix}")


def layer_config(net: str, t, transform: Transform, given: ScanConfig) -> ScanConfig:
    """The scan options of one layer: the net's, overridden by those given with --net."""
    o = t.options
    label_map = given.label_map
    if label_map is None and t.label_map is not None:
        from .caffe.labelmap import read_label_map
        try:
            label_map = read_label_map(t.label_map)
        except UsageError as e:
            raise UsageError(f"{net}: layer {t.layer!r}'s label_map_file: {e}") from None
    return scan_config(
        num_classes=o.num_classes if given.num_classes is None else given.num_classes,
        ignore_label=o.ignore_label if given.ignore_label is None else given.ignore_label,
        format=t.format, label_datasets=(o.label_top,), root=t.root, transform=transform,
        label_map=label_map, alphabet=given.alphabet, max_label_length=given.max_label_length)


def _transform(t) -> Transform:
    o = t.options
    return Transform(o.crop_size, o.force_color, o.force_gray, origin=f"layer {t.layer}",
                     resize=t.resize, layer="ImageData" if t.type == "ImageData" else "Data")


def _net_words(f: Finding) -> Finding:
    """A finding worded for --net: the net's root_folder, not --root, places a list's files."""
    if f.code == LIST_ROOT.code and "--root " in f.message:
        return replace(f, message=f.message.replace(
            "(pass --root ", "(set image_data_param root_folder: ").replace("--root ", "root_folder "))
    return f


def check_net(net, opts, check_paths: Callable, given: ScanConfig | None = None) -> Report:
    """``net``: engine.NetSource; ``check_paths(paths, config, forward, opts)``: the plain scan."""
    from .caffe.netspec import load_net
    from .forward.api import net_targets
    given = given or ScanConfig()
    spec = load_net(Path(net.path))
    targets = [t for t in net_targets(spec, precision=net.precision)
               if net.phase is None or net.phase.upper() in t.phases]
    reports: list[Report] = []
    layers: list[NetLayer] = []
    extra: list[Finding] = []          # DS100 of missing sources, findings of later transforms
    blocks: list[ForwardBlock] = []
    seen: dict[tuple[str, str], list[tuple[str, Transform, Report]]] = {}
    for t in targets:
        path = os.path.normpath(t.path) if t.path else None
        readable = t.format is not None and t.path is not None and t.options is not None
        missing = readable and not Path(path).exists()
        notes = t.notes + (("source not found",) if missing else ())
        if missing:
            extra.append(Finding.of(CANNOT_OPEN, path, f"layer {t.layer!r} ({'/'.join(t.phases)}) "
                                    f"reads {path}, which does not exist: Caffe aborts at this "
                                    "layer's setup"))
        if not readable or missing:
            layers.append(NetLayer(t.layer, t.phases, path, t.format, notes))
            continue
        actual = _stored_as(Path(path))
        if actual is not None and actual != t.format:
            raise wrong_layer(str(net.path), t, path, actual)
        transform = _transform(t)
        config = layer_config(str(net.path), t, transform, given)
        judged = None if t.format == "hdf5" else transform.settings()   # HDF5Data: no transform
        if t.resize:
            notes += (f"new_height/new_width: every image is resized to {t.resize[0]}x"
                      f"{t.resize[1]} before the transform",)
        earlier = seen.setdefault((path, t.format), [])
        same = next((e for e in earlier if e[1].settings() == transform.settings()
                     and e[1].resize == transform.resize), None)
        if same is not None:           # scanned already, as this layer reads it
            layers.append(NetLayer(t.layer, t.phases, path, t.format, notes, judged))
            continue
        forward = t.options if net.forward and not earlier and not t.resize else None
        report = check_paths([path], config, forward, opts)
        if earlier:                    # the same records, another transform: what it adds
            first = earlier[0]
            notes += (f"reads the same source as layer {first[0]} with another transform_param: "
                      "its records were judged with each",)
            had = {(f.code, f.path, f.key, f.index) for e in earlier for f in e[2].findings}
            extra += [f for f in report.findings if (f.code, f.path, f.key, f.index) not in had]
        else:
            reports.append(report)
        if net.forward and t.resize and not earlier:
            blocks.append(ForwardBlock(path, not_run=f"layer {t.layer!r} resizes every image to "
                                       f"{t.resize[0]}x{t.resize[1]} (new_height/new_width): the "
                                       "forward pass does not resize, so it is not run here"))
        earlier.append((t.layer, transform, report))
        layers.append(NetLayer(t.layer, t.phases, path, t.format, notes, judged))
    if not reports and not extra:
        raise UsageError(f"{net.path}: no data layer source datascan can read "
                         f"({'; '.join(n for x in layers for n in x.notes) or 'none found'})")
    findings = found.collect(_net_words(f) for f in found.merged(
        *(r.findings for r in reports), sorted(extra, key=Finding.sort_key)))
    forward = tuple(b for r in reports for b in r.forward or ()) + tuple(blocks) \
        if net.forward else None
    return Report(__version__, tuple(s for r in reports for s in r.sources), findings,
                  sum(r.seconds for r in reports), forward=forward,
                  net=NetBlock(str(net.path), tuple(layers)))
