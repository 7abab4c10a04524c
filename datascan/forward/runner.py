"""Run the dummy net over a dataset in Caffe's batch order and judge every record.

Caffe reads in order: iteration t consumes records t*B .. t*B+B-1. The last batch
of an epoch, when N is not a multiple of B, wraps around to the first records
(the Data layer's cursor and the HDF5 layer's row pointer both restart).
``caffe_batches`` builds exactly those batches, padding the last one with the
first records again; a record is judged once, in the first iteration that holds
it, but padded rows still count in that iteration's loss, as in Caffe.
What a suspect record's outcome means (DS700/DS701) is judge.py's.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..config import EXTREME_MAGNITUDE
from ..errors import UsageError
from ..model import Finding, ForwardBlock
from ..codes import FORWARD_BLOWUP
from .judge import LOSS_CLAMP_THRESHOLD, Locate, judge_record, suspects
from .net import SEED, DummyNet
from .records import NotRun, Record
from .shapes import first_shape, reject, skip_reason
from .spread import Spread, Trip, likely_cause, settle
from .transform import Transformer

SKIP_REASONS = 5           # distinct reasons for skipped records kept in the report

# A batch: record indices, keys, data (B, ...) float32 after the transform, labels (B,) or (B, k).
Batch = tuple[Sequence[int], Sequence["str | None"], np.ndarray, np.ndarray]


@dataclass
class ForwardResult:
    findings: list[Finding] = field(default_factory=list)
    batch_losses: list[float | None] = field(default_factory=list)  # None: batch not run
    skipped: list[tuple[int, str]] = field(default_factory=list)   # (index, why not forwarded)
    batch_size: int | None = None
    precision: str = "fp32"
    loss: str = "softmax"
    input_range: tuple[float, float] | None = None   # finite values as the net saw them
    batch_size_from: str = "given"                  # given | net | default
    not_run: str | None = None                       # why the pass could not run at all

    def block(self, path: str) -> ForwardBlock:
        """What the report says about this pass over ``path``."""
        if self.not_run is not None:
            return ForwardBlock(path, not_run=self.not_run)
        why = Counter(reason for _, reason in self.skipped)
        return ForwardBlock(path, batch_size=self.batch_size, precision=self.precision,
                            loss=self.loss, batch_losses=tuple(self.batch_losses),
                            skipped=len(self.skipped),
                            skipped_reasons=tuple(why.most_common(SKIP_REASONS)),
                            input_range=self.input_range, batch_size_from=self.batch_size_from)


# ---------------------------------------------------------------------------- batching

def _check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise UsageError(f"batch size must be at least 1, not {batch_size}")


def caffe_batch_indices(n: int, batch_size: int) -> list[list[int]]:
    """One epoch of Caffe's batches over n records: in order, the last one wrapping around."""
    _check_batch_size(batch_size)
    if n <= 0:
        return []
    iterations = -(-n // batch_size)
    return [[(t * batch_size + j) % n for j in range(batch_size)] for t in range(iterations)]


def caffe_batches(records: Iterable[Record], batch_size: int) -> Iterator[list[Record]]:
    """Group a stream of (index, key, array, label) into Caffe's batches: batch t holds the
    records whose index is in [t*B, t*B + B). Records the data layer cannot use are absent
    from the stream, so a batch may be short or empty, but every record keeps the
    iteration Caffe meets it in. The last, partial batch is padded with the stream's first
    records (Caffe wraps around), so only the first batch_size records are held back."""
    _check_batch_size(batch_size)
    head: list = []
    batch: list = []
    current = 0
    last = -1
    for rec in records:
        if len(head) < batch_size:
            head.append(rec)
        while int(rec[0]) // batch_size > current:
            yield batch
            batch, current = [], current + 1
        batch.append(rec)
        last = int(rec[0])
    if batch and head:
        want = batch_size - (last % batch_size) - 1       # slots past the end of the epoch
        pad: list = []
        while len(pad) < want:             # a dataset smaller than a batch repeats itself
            pad.extend(head[:want - len(pad)])
        yield batch + pad


# ---------------------------------------------------------------------------- running

def run_forward(records: Iterable[Record], *, batch_size: int,
                transformer: Transformer, num_classes: int | None,
                ignore_label: int | None = None, precision: str = "fp32", path: str,
                loss: str | None = None, normalization: str = "VALID", seed: int = SEED,
                locate: Locate | None = None, from_net: bool = False) -> ForwardResult:
    """The whole --forward pass for one source: raw records (index, key, array as the data
    layer decodes it, label) -> Caffe batches -> transform -> dummy net -> findings.

    A NaN/inf mean gives one DS700 on the mean and no forward pass (every record would be
    NaN). Records the data layer would reject (no pixels, shape differs from the batch's first
    record, or from the mean) are not forwarded; they are listed in ``skipped`` with the CHECK
    Caffe fails, and their iteration's loss is None (Caffe aborts there; the batch's other
    records are still judged). A transform that does not fit the *first* record is NotRun.
    """
    kind = _loss_kind(loss, num_classes)
    mean_finding = transformer.mean_finding()
    if mean_finding is not None:
        return ForwardResult([mean_finding], [], [], batch_size, precision, kind)
    skipped: list[tuple[int, str]] = []
    aborts: set[int] = set()      # iterations whose batch holds a record Caffe aborts on

    def transformed() -> Iterator[Batch]:
        checked = False
        for iteration, batch in enumerate(caffe_batches(records, batch_size)):
            first = first_shape(batch)
            if first is not None and not checked:
                try:                          # wrong mean/crop for this data: no pass at all
                    transformer.check(first)
                except NotRun:
                    raise
                except UsageError as e:
                    raise NotRun(f"{e} (at iteration {iteration})") from None
                checked = True
            before = len(skipped)
            yield _transform_batch(batch, transformer, skipped)
            if len(skipped) > before:
                aborts.add(iteration)

    spread = Spread()
    findings, losses = forward_findings(
        transformed(), num_classes=num_classes, ignore_label=ignore_label, precision=precision,
        path=path, loss=loss, normalization=normalization, seed=seed, locate=locate,
        skipped=skipped, transformer=transformer, spread=spread, from_net=from_net)
    for iteration in aborts:      # Caffe never completes them; their other records are judged
        losses[iteration] = None
    first_why: dict[int, str] = {}       # padding repeats records: one may be skipped twice
    for index, why in skipped:
        first_why.setdefault(index, why)
    seen = (spread.lo, spread.hi) if spread.n and np.isfinite(spread.lo) else None
    return ForwardResult(findings, losses, list(first_why.items()), batch_size, precision, kind,
                         input_range=seen)


def _transform_batch(batch: list[Record], transformer: Transformer,
                     skipped: list[tuple[int, str]]) -> Batch:
    """One Caffe batch as the net sees it: records the data layer would reject go to
    ``skipped``, the others are transformed (records of one shape at a time). A batch with
    nothing usable keeps its iteration number but has no records."""
    first = first_shape(batch)
    keep, groups, arrays = [], {}, {}
    for pos, rec in enumerate(batch):
        if rec[2] is None:                        # the layer cannot feed it: label slot says why
            skipped.append((rec[0], skip_reason(str(rec[3]), not arrays, first, transformer)))
            continue
        arr = arrays[pos] = np.asarray(rec[2])
        why = reject(arr.shape, first, transformer, rec[4] if len(rec) > 4 else None)
        if why:
            skipped.append((rec[0], why))
        else:
            keep.append(pos)
            groups.setdefault(arr.shape, []).append(pos)
    if not keep:
        return [], [], np.empty((0,), np.float32), np.empty((0,))
    out: dict[int, np.ndarray] = {}
    for positions in groups.values():
        out.update(zip(positions, transformer(np.stack([arrays[p] for p in positions]))))
    return ([batch[p][0] for p in keep], [batch[p][1] for p in keep],
            np.stack([out[p] for p in keep]), np.asarray([batch[p][3] for p in keep]))


def _loss_kind(loss: str | None, num_classes: int | None) -> str:
    return loss or ("softmax" if num_classes is not None else "euclidean")


def forward_findings(batches: Iterable[Batch], *, num_classes: int | None,
                     ignore_label: int | None = None, precision: str = "fp32", path: str,
                     loss: str | None = None, normalization: str = "VALID", seed: int = SEED,
                     locate: Locate | None = None, skipped: list[tuple[int, str]] | None = None,
                     transformer: Transformer | None = None, spread: Spread | None = None,
                     from_net: bool = False) -> tuple[list[Finding], list[float | None]]:
    """Judge every record of already-transformed batches; the n-th batch is iteration n.
    A batch whose record size differs from the first batch's is not run (Caffe's
    InnerProduct aborts there): its loss is None and its records go to ``skipped``.

    ``loss`` defaults to softmax when num_classes is given, else euclidean (labels as
    regression targets, one output per label value). ``locate`` maps a record index to
    (path, index within that path), e.g. a row of one file of an HDF5 list; by default
    findings carry ``path`` and the index as given. Each record is judged once, in the
    first iteration that holds it. A loss at the clamp or a gradient of 1e8 is named on the
    record only when the record stands out from the rest (spread.py); the others are one
    DS702 naming the likely cause, in terms of ``transformer`` (None: the data as given).
    ``spread`` collects the input sizes and range (one is made when not given).
    """
    kind = _loss_kind(loss, num_classes)
    if kind == "softmax" and num_classes is None:
        raise UsageError("--forward with a softmax loss needs --num-classes (or --net)")
    net: DummyNet | None = None
    findings: list[Finding] = []
    trips: list[Trip] = []
    losses: list[float] = []
    spread = spread if spread is not None else Spread()
    targets = Spread() if kind == "euclidean" else None
    # Batches come in Caffe's order, indexes rising, but for the records the last batch
    # wraps around to: a record is judged already iff it is at or below the highest index of
    # an earlier batch, or earlier in this batch (a batch may wrap onto itself). So memory
    # holds one batch's indexes, not the dataset's.
    high = -1
    for iteration, (indices, keys, data, labels) in enumerate(batches):
        if len(indices) == 0:
            losses.append(None)
            continue
        data = np.asarray(data, dtype=np.float32)
        labels = np.asarray(labels)
        width = int(np.prod(data.shape[1:], dtype=np.int64))
        if net is None:
            outputs = num_classes if kind == "softmax" else \
                int(np.prod(labels.shape[1:], dtype=np.int64))
            net = DummyNet(width, outputs, loss=kind, ignore_label=ignore_label,
                           normalization=normalization, precision=precision, seed=seed)
        if width != net.num_inputs:
            # Caffe reshapes each batch; the InnerProduct then aborts. Not this batch's records'
            # values: the shape checks (DS600) name them. Go on with the next batch.
            why = (f"Check failed: K_ == new_K ({net.num_inputs} vs. {width}) Input size "
                   "incompatible with inner product parameters.")
            if skipped is not None:
                skipped.extend((int(i), why) for i in indices)
            losses.append(None)
            continue
        outcome = net.run(data, labels)
        losses.append(outcome.batch_loss)
        fresh = _fresh(indices, high)
        every = len(fresh) == len(indices)        # the usual batch: no copy of it
        spread.add(outcome.x_norm[fresh], data if every else data[fresh])
        if targets is not None:
            target_norms = np.linalg.norm(labels.reshape(len(indices), -1).astype(np.float64),
                                          axis=1)
            targets.add(target_norms[fresh])
        first_here = set(fresh)
        for pos in suspects(outcome, clamp=kind == "softmax"):
            if pos not in first_here:
                continue
            finding = judge_record(outcome, pos, iteration, indices, keys, data, labels, net,
                                   path, locate)
            if finding is None:
                continue
            if finding.code == FORWARD_BLOWUP.code and not outcome.out_of_range[pos]:
                trips.append(Trip(
                    finding, iteration, float(outcome.x_norm[pos]),
                    float(target_norms[pos]) if targets is not None else None,
                    clamp=kind == "softmax" and outcome.loss[pos] >= LOSS_CLAMP_THRESHOLD,
                    blowup=bool(outcome.grad[pos] >= EXTREME_MAGNITUDE)))
            else:
                findings.append(finding)
        high = max(high, max(int(i) for i in indices))
    if trips:
        cause = likely_cause(spread, scale=1.0 if transformer is None else float(transformer.scale),
                             mean=None if transformer is None else transformer.mean_name,
                             width=net.num_inputs, from_net=from_net)
        findings += settle(trips, spread, targets, path=path, cause=cause)
        findings.sort(key=Finding.sort_key)
    return findings, losses


def _fresh(indices: Sequence[int], high: int) -> list[int]:
    """Positions of the records this batch is the first to hold."""
    seen: set[int] = set()
    out = []
    for pos, i in enumerate(indices):
        i = int(i)
        if i > high and i not in seen:
            seen.add(i)
            out.append(pos)
    return out
