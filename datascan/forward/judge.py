"""What one record's share of a batch outcome says: the finding the runner reports for it.

Judging (thresholds in config.py and net.py):
  DS700  loss or weight gradient not finite (NaN/inf input, overflow, NaN label)
  DS701  gradient L2 norm >= 1e8, loss >= 87.3365 (Caffe's clamp), or a label
         outside the net's outputs (Caffe reads past the softmax output)
One finding per record: DS700 when any reason is non-finite, else DS701, the
message listing every reason and the iteration. A DS701 for the loss or the gradient alone
(no label past the outputs) is the runner's to settle against the rest of the dataset
(spread.py): kept when the record stands out, else folded into one DS702.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..codes import FORWARD_BLOWUP, FORWARD_NONFINITE
from ..config import EXTREME_MAGNITUDE, FLOAT16_MAX
from ..model import Finding
from .net import LOSS_CLAMP, BatchOutcome, DummyNet

LOSS_CLAMP_THRESHOLD = 87.3365          # per-record loss at/above this = Caffe's clamp reached
Locate = Callable[[int], tuple[str, int]]   # record index -> (path, index within that path)


def suspects(o: BatchOutcome, *, clamp: bool) -> np.ndarray:
    """Records with anything to report. The loss clamp exists only in SoftmaxWithLoss."""
    with np.errstate(invalid="ignore"):
        bad = (~np.isfinite(o.loss) | ~np.isfinite(o.grad) | o.grad_overflow
               | (o.grad >= EXTREME_MAGNITUDE) | o.out_of_range)
        if clamp:
            bad |= o.loss >= LOSS_CLAMP_THRESHOLD
    return np.flatnonzero(bad)


def judge_record(o: BatchOutcome, pos: int, iteration: int, indices, keys, data: np.ndarray,
                 labels: np.ndarray, net: DummyNet, path: str, locate: Locate | None,
                 ) -> Finding | None:
    """The DS700/DS701 finding for the record at ``pos`` of this batch, or None."""
    reasons, nonfinite = [], False
    loss, grad = float(o.loss[pos]), float(o.grad[pos])
    raw = labels[pos]
    raw64 = np.asarray(raw, dtype=np.float64).reshape(-1)
    if not np.isfinite(raw64).all():
        nonfinite = True
        bad = raw64[~np.isfinite(raw64)][0]
        reasons.append(f"label is {bad}: static_cast<int> gives INT_MIN on x86, far outside "
                       "the softmax output" if o.labels is not None
                       else f"regression target holds {bad}")
    elif o.out_of_range[pos]:
        reasons.append(_label_reason(o, pos, indices, net.num_outputs))
    if o.x_nonfinite[pos]:
        nonfinite = True
        reasons.append(_input_reason(data[pos], int(o.x_nonfinite[pos]), net.precision))
    if not np.isfinite(loss):
        nonfinite = True
        reasons.append(f"loss {loss}")
    elif net.loss == "softmax" and loss >= LOSS_CLAMP_THRESHOLD and not o.out_of_range[pos]:
        reasons.append(f"loss {loss:.4f} reaches Caffe's clamp -log(FLT_MIN) = {LOSS_CLAMP:.4f} "
                       "(the label's softmax probability underflows: \"loss = 87.3365\")")
    if not np.isfinite(grad) or o.grad_overflow[pos]:
        nonfinite = True
        what = "NaN" if np.isnan(grad) else f"inf in {net.precision}"
        note = " (ignored label, but 0 x NaN in the weight-gradient GEMM is still NaN)" \
            if o.ignored[pos] else ""
        reasons.append(f"weight gradient {what}{note}")
    elif grad >= EXTREME_MAGNITUDE:
        reasons.append(f"weight gradient {grad:.3g} (L2 norm of its share, >= "
                       f"{EXTREME_MAGNITUDE:.0e}; max |x| {float(o.x_max[pos]):.3g})")
    if not reasons:
        return None
    b = len(indices)
    where = (f"iteration {iteration} (batch of {b}: records {_span(indices)}, this one at "
             f"position {pos})")
    if nonfinite:
        code, effect = FORWARD_NONFINITE, ("Caffe's loss is nan at this iteration and every "
                                           "weight is NaN after its update")
    else:
        code, effect = FORWARD_BLOWUP, "this record blows up the update of this iteration"
    if o.out_of_range[pos] and not nonfinite and len(reasons) == 1:
        effect = "a Release-build Caffe does not check labels (DCHECK)"
    rec_path, rec_index = locate(int(indices[pos])) if locate else (path, int(indices[pos]))
    message = f"{where}: {'; '.join(reasons)} -> {effect}"
    return Finding.of(code, rec_path, message, key=keys[pos], index=rec_index)


def _span(indices) -> str:
    """8..11 for a run of records; 14, 15, 0, 1 for the batch that wraps around."""
    ix = [int(i) for i in indices]
    if ix == list(range(ix[0], ix[0] + len(ix))):
        return f"{ix[0]}..{ix[-1]}"
    shown = ", ".join(map(str, ix[:8]))
    return shown + (", ..." if len(ix) > 8 else "")


def _input_reason(x: np.ndarray, count: int, precision: str) -> str:
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    nan = int(np.isnan(x).sum())
    inf = int(np.isinf(x).sum())
    if nan or inf:
        return f"{nan} NaN and {inf} inf values in the input after the transform"
    big = float(np.abs(x).max())
    values = f"{count} values" if count > 1 else "1 value"
    return (f"input overflows {precision}: {values} with |x| up to {big:.3g} > {FLOAT16_MAX:g} "
            f"(the float16 maximum) turn{'' if count > 1 else 's'} into inf")


def _label_reason(o: BatchOutcome, pos: int, indices, outputs: int) -> str:
    """What SoftmaxWithLoss does with label l >= C (or < 0): it reads prob[pos*C + l]."""
    label = int(o.labels[pos])
    b = len(indices)
    flat = pos * outputs + label
    head = f"label {label} is outside the net's {outputs} outputs [0, {outputs})"
    if 0 <= flat < b * outputs:
        other, cls = divmod(flat, outputs)
        other_rec = int(indices[other])
        return (f"{head}: Caffe reads prob[{flat}] instead, the class-{cls} probability of "
                f"record {other_rec} (silent garbage loss; backward subtracts 1 from that "
                "record's gradient)")
    return (f"{head}: Caffe reads prob[{flat}], outside the batch's {b * outputs} softmax "
            "outputs (an out-of-bounds read; backward writes there too: heap corruption, "
            "caffe-ref aborted with \"malloc(): invalid size\")")
