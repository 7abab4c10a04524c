"""Back to the records: the first non-finite iteration names a batch; which records did
Caffe read in it, and which of them is bad?

Caffe's order is forward/'s (runner.caffe_batch_indices): iteration t of a net with
iter_size k reads batches t*k .. t*k+k-1, batch b holding records b*B .. b*B+B-1 of the
source, wrapping around at its end (no shuffle, no rand_skip). Only the TRAIN phase's data
layers; each record is judged by the plain checks' rules (values DS300, label range DS500).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..codes import LABEL_OUTSIDE, NON_FINITE, RUN_NONFINITE, Severity
from ..errors import DatascanError
from .case import Case
from .report import BatchRead, DoctorFinding, FirstNonFinite

MAX_ITERATIONS = 64      # iterations of the window (since, first] looked at
MAX_FINDINGS = 20


def batches_read(case: Case, first: FirstNonFinite, *, required: bool) -> list[BatchRead]:
    """One BatchRead per readable TRAIN data layer; [] when there is nothing to read (then,
    with ``required``, a note says why)."""
    spec = case.spec
    train = spec.phases.get("TRAIN") if spec is not None else None
    if train is None or first.iteration is None:
        return [_note("the net (with its data layers) is not known: give --net")] \
            if required else []
    hi = first.iteration
    lo = max(first.since + 1 if first.since is not None else hi, hi - MAX_ITERATIONS + 1)
    iter_size = case.solver_value("iter_size") or 1
    out = []
    for d in train.data_layers:
        fmt = {"Data": d.backend, "AnnotatedData": d.backend, "HDF5Data": "hdf5"}.get(d.type)
        if fmt is None or d.source is None or not d.source.exists():
            if required:
                out.append(_note(f"layer {d.name}: source {d.source_text or '(none)'} not found "
                                 "or not readable by datascan", d.name))
            continue
        if d.shuffle or d.rand_skip:
            out.append(_note(f"layer {d.name}: shuffle/rand_skip: the order Caffe read is "
                             "random, the batch cannot be named", d.name))
            continue
        try:
            out.append(_read(case, d, fmt, lo, hi, iter_size))
        except DatascanError as e:
            out.append(_note(f"layer {d.name}: {e}", d.name))
    return out


def _note(text: str, layer: str = "") -> BatchRead:
    return BatchRead(layer, "", (0, 0), (), text)


def _records(d, fmt: str):
    from .. import sources
    from ..forward.records import kv_records
    source = sources.get(fmt)
    if source.caffe_rows is not None:
        return source.caffe_rows(d.source, data=d.tops[0] if d.tops else "data",
                                 label=d.label_top or "label")
    from ..decode.datum import DATUM
    return kv_records(d.source, source, DATUM), None


def _read(case: Case, d, fmt: str, lo: int, hi: int, iter_size: int) -> BatchRead:
    b = max(1, d.batch_size)
    raw = [(t * iter_size + k) * b + j for t in range(lo, hi + 1) for k in range(iter_size)
           for j in range(b)]
    records, locate = _records(d, fmt)
    wanted, kept, n = set(raw), {}, 0
    for index, key, array, label in records:
        n = index + 1
        if index in wanted:
            kept[index] = (key, array, label)
    if n == 0:
        return _note(f"layer {d.name}: {d.source_text} holds no record Caffe can read", d.name)
    order = [i % n for i in raw]
    missing = {i for i in order if i not in kept}
    if missing:                      # the window wrapped past the end: read the start again
        records, _ = _records(d, fmt)
        for index, key, array, label in records:
            if index in missing:
                kept[index] = (key, array, label)
    findings = _judge(case, d, order, kept, locate, lo)
    span = _span(order, locate)
    its = f"iteration {hi}" if lo == hi else f"iterations {lo}..{hi}"
    if findings:
        note = f"{its} read {span} ({d.source_text}); " + "; ".join(
            f.message.split(" read ", 1)[-1].replace(", which holds", " holds")
            .replace(", whose label", ": label") for f in findings[:3])
    else:
        note = f"{its} read {span} ({d.source_text}): all clean, so the cause is not the input"
        findings = [DoctorFinding.of(RUN_NONFINITE, note, iteration=hi, layer=d.name,
                                     severity=Severity.INFO)]
    return BatchRead(d.name, str(d.source), (lo, hi), tuple(order), note, tuple(findings))


def _where(index: int, key, locate) -> str:
    if locate is not None:
        path, row = locate(index)
        return f"row {row} of {Path(path).name}"
    return f"record #{index} (key {key})" if key is not None else f"record #{index}"


def _span(order: list[int], locate) -> str:
    a, z = order[0], order[-1]
    if locate is not None:
        (pa, ra), (pz, rz) = locate(a), locate(z)
        if pa == pz:
            return f"rows {ra}..{rz} of {Path(pa).name}"
        return f"rows {ra} of {Path(pa).name} .. {rz} of {Path(pz).name}"
    return f"records #{a}..#{z}"


def _judge(case: Case, d, order, kept, locate, lo) -> list[DoctorFinding]:
    from ..checks.labels import LabelRange
    rule = LabelRange(case.num_classes, case.spec.phase("TRAIN").ignore_label)
    out: list[DoctorFinding] = []
    for index in dict.fromkeys(order):
        key, array, label = kept[index]
        iteration = lo + order.index(index) // max(1, d.batch_size)
        values = np.asarray(array, dtype=np.float64)
        bad = int(np.count_nonzero(~np.isfinite(values)))
        if bad:
            out.append(DoctorFinding.of(
                NON_FINITE, f"iteration {iteration} read {_where(index, key, locate)}, which "
                f"holds {bad} NaN/inf value(s) ({NON_FINITE.code})", iteration=iteration,
                layer=d.name))
        lab = np.asarray(label)
        if case.num_classes is not None and lab.size == 1 and float(lab) == int(lab) and \
                bool(rule.outside(int(lab))):
            out.append(DoctorFinding.of(
                LABEL_OUTSIDE, f"iteration {iteration} read {_where(index, key, locate)}, whose "
                f"label {int(lab)} is outside [0, {case.num_classes}) ({LABEL_OUTSIDE.code})",
                iteration=iteration, layer=d.name))
        if len(out) >= MAX_FINDINGS:
            break
    return out
