"""The dummy net: one fixed-seed InnerProduct and Caffe's loss, forward and backward in numpy.

For every record it measures the loss and the size of the gradient the record sends
into the InnerProduct weights (the first layer, where a bad input hits hardest).
The measurement is per record and vectorised over the batch; judging it against the
thresholds is judge.py's job.

Precision:
  fp32  everything in float32, as Caffe computes.
  fp16  values are rounded to float16 at every layer boundary (input, weights, logits,
        gradients), so anything past 65504 becomes inf as in half-precision training;
        the GEMM accumulates in float32 and the softmax/loss run in float32, as cuBLAS
        tensor cores and mixed-precision loss layers do.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UsageError

FLT_MIN = np.float32(np.finfo(np.float32).tiny)           # 1.17549435e-38
LOSS_CLAMP = float(-np.log(FLT_MIN))                      # 87.33654: "loss = 87.3365"
WEIGHT_STD = 0.01                                         # gaussian filler of the caffe-ref nets
SEED = 1                                                  # the caffe-ref solvers' random_seed
MAX_WEIGHT_ELEMENTS = 1 << 22                             # 16 MiB of float32 weights, see _weights
INT_MIN = -(1 << 31)
PRECISIONS = ("fp32", "fp16")
LOSSES = ("softmax", "euclidean")
NORMALIZATIONS = ("VALID", "FULL", "BATCH_SIZE", "NONE")


def caffe_int_labels(labels: np.ndarray) -> np.ndarray:
    """static_cast<int>(float): truncation toward zero. NaN, inf and values outside int32
    are undefined in C++; x86 (cvttss2si) gives INT_MIN, which is what a real run sees."""
    f = np.asarray(labels, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(f) & (f > INT_MIN - 1.0) & (f < -(INT_MIN) * 1.0)
        return np.where(ok, np.trunc(np.where(ok, f, 0.0)), INT_MIN).astype(np.int64)


@dataclass(frozen=True)
class BatchOutcome:
    """Per record (length B) and per batch measurements of one forward/backward pass."""
    loss: np.ndarray            # float64 loss of each record (0 where ignored); nan/inf kept
    grad: np.ndarray            # float64 L2 norm of the record's share of dL/dW (see DummyNet)
    grad_overflow: np.ndarray   # bool: an element of that share is inf/nan in working precision
    x_max: np.ndarray           # float64 max |x| as the net sees it (inf if it overflowed)
    x_norm: np.ndarray          # float64 L2 norm of the record as the net sees it
    x_nonfinite: np.ndarray     # int: NaN/inf values in the record as the net sees it
    labels: np.ndarray | None   # int64 labels after static_cast<int> (softmax) else None
    ignored: np.ndarray         # bool: label == ignore_label (softmax)
    out_of_range: np.ndarray    # bool: label outside [0, num_outputs) and not ignored (softmax)
    batch_loss: float           # Caffe's top[0] for the batch (its normalisation)


def _row_norms(x: np.ndarray, x_max: np.ndarray) -> np.ndarray:
    """L2 norm of each row in float64 without a float64 copy of the batch: a float32 dot
    first, redone in float64 only for finite rows whose float32 sum overflowed."""
    norms = np.sqrt(np.einsum("ij,ij->i", x, x).astype(np.float64))
    redo = ~np.isfinite(norms) & np.isfinite(x_max)
    if redo.any():
        norms[redo] = np.linalg.norm(x[redo].astype(np.float64), axis=1)
    return norms


class DummyNet:
    """InnerProduct(num_outputs, gaussian std 0.01, bias 0) + SoftmaxWithLoss or EuclideanLoss.

    The gradient a record i sends into the weights is outer(dL/dy_i, x_i); its L2
    (Frobenius) norm is |dL/dy_i| * |x_i|, computed in float64 from the working-precision
    values so the measurement itself never overflows. dL/dy_i includes Caffe's
    1/normaliser, i.e. it is exactly the record's term of the weight diff Caffe
    accumulates. ``grad_overflow`` says whether any element of that outer product is
    inf/nan in the working precision (max|dL/dy_i| * max|x_i| is its largest element).
    """

    def __init__(self, num_inputs: int, num_outputs: int, *, loss: str = "softmax",
                 ignore_label: int | None = None, normalization: str = "VALID",
                 precision: str = "fp32", seed: int = SEED, std: float = WEIGHT_STD) -> None:
        if precision not in PRECISIONS:
            raise UsageError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        if loss not in LOSSES:
            raise UsageError(f"loss must be one of {', '.join(LOSSES)}, not {loss!r}")
        if normalization not in NORMALIZATIONS:
            raise UsageError(f"normalization must be one of {', '.join(NORMALIZATIONS)}")
        if num_outputs < 1 or num_inputs < 1:
            raise UsageError(f"the dummy net needs at least one input and one output "
                             f"({num_inputs} inputs, {num_outputs} outputs)")
        self.num_inputs, self.num_outputs = int(num_inputs), int(num_outputs)
        self.loss, self.ignore_label, self.normalization = loss, ignore_label, normalization
        self.precision = precision
        self.dtype = np.float16 if precision == "fp16" else np.float32
        self._w = self._weights(seed, std)

    def _weights(self, seed: int, std: float) -> np.ndarray:
        """(num_outputs, block) float32 gaussian weights. For wide inputs the block repeats
        along the input axis so memory stays under MAX_WEIGHT_ELEMENTS (an ImageNet-size
        1000 x 154587 matrix would be 600 MB); every logit is still a gaussian-weighted sum
        of every input value, which is all the measurement needs."""
        block = min(self.num_inputs, max(1, MAX_WEIGHT_ELEMENTS // self.num_outputs))
        rng = np.random.default_rng(seed)
        w = rng.standard_normal((self.num_outputs, block), dtype=np.float32) * np.float32(std)
        return w.astype(self.dtype).astype(np.float32)   # fp16: weights stored in half

    # ------------------------------------------------------------------ forward/backward

    def run(self, x: np.ndarray, labels: np.ndarray) -> BatchOutcome:
        """One batch: x (B, ...) float32 after the transform, labels (B,) or (B, k)."""
        b = x.shape[0]
        x = np.asarray(x, dtype=np.float32).reshape(b, -1)
        if x.shape[1] != self.num_inputs:
            raise UsageError(f"Check failed: K_ == new_K ({self.num_inputs} vs. {x.shape[1]}) "
                             "Input size incompatible with inner product parameters.")
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # fp16: > 65504 becomes inf here; xf holds the working values as float32.
            xw = x if self.dtype is np.float32 else x.astype(self.dtype)
            xf = x if xw is x else xw.astype(np.float32)
            y = self._inner_product(xf)
            if self.loss == "softmax":
                loss, dy, extra = self._softmax_loss(y, labels, b)
            else:
                loss, dy, extra = self._euclidean_loss(y, labels, b)
            dyw = dy.astype(self.dtype)
            x_max = np.maximum(xw.max(axis=1), -xw.min(axis=1))   # max |x|; NaN propagates
            elem = (np.abs(dyw).max(axis=1) * x_max).astype(self.dtype)
            overflow = ~np.isfinite(elem)
            x_norm = _row_norms(xf, x_max)
            grad = np.linalg.norm(dyw.astype(np.float64), axis=1) * x_norm
            grad = np.where(overflow, np.where(np.isnan(elem) | np.isnan(grad), np.nan, np.inf),
                            grad)
            nonfinite = np.zeros(b, np.int64)
            bad = ~np.isfinite(x_max)
            nonfinite[bad] = (~np.isfinite(xw[bad])).sum(axis=1)
        return BatchOutcome(loss=loss, grad=grad, grad_overflow=overflow,
                            x_max=x_max.astype(np.float64), x_norm=x_norm,
                            x_nonfinite=nonfinite, **extra)

    def _inner_product(self, x: np.ndarray) -> np.ndarray:
        """x @ W.T with W tiled from the weight block; bias 0 (constant filler).

        With a tiled W, x @ W.T equals (sum of x's block-wide slices) @ W0.T, so a wide
        input costs one small GEMM instead of D/block of them. The sum runs in float64 so
        it cannot overflow where Caffe's GEMM would not; the logits are then rounded to
        float32 (inf past 3.4e38, as Caffe's) and, for fp16, to half."""
        block = self._w.shape[1]
        if x.shape[1] == block:
            folded = x.astype(np.float64)
        else:
            folded = np.zeros((x.shape[0], block), dtype=np.float64)
            for start in range(0, x.shape[1], block):
                part = x[:, start:start + block]
                folded[:, :part.shape[1]] += part
        y = (folded @ self._w.T.astype(np.float64)).astype(np.float32)
        return y.astype(self.dtype).astype(np.float32)    # fp16: logits stored in half

    def _normaliser(self, batch: int, valid: int) -> float:
        n = {"VALID": valid, "FULL": batch, "BATCH_SIZE": batch, "NONE": 1}[self.normalization]
        return float(max(1, n))

    def _softmax_loss(self, y: np.ndarray, labels: np.ndarray, b: int):
        lab = np.asarray(labels)
        if lab.size != b:
            raise UsageError(f"Number of labels must match number of predictions; e.g., if "
                             f"softmax axis == 1 and prediction shape is (N, C, H, W), label count "
                             f"(number of labels) must be N*H*W, with integer values in "
                             f"{{0, 1, ..., C-1}}. ({lab.size} labels for {b} predictions)")
        ints = caffe_int_labels(lab.reshape(b))
        ignored = (ints == self.ignore_label) if self.ignore_label is not None \
            else np.zeros(b, bool)
        in_range = (ints >= 0) & (ints < self.num_outputs)
        out_of_range = ~ignored & ~in_range
        # Caffe's Softmax: subtract the row max, exp, divide by the sum.
        e = np.exp(y - y.max(axis=1, keepdims=True))
        prob = e / e.sum(axis=1, keepdims=True)
        rows = np.arange(b)
        # Caffe indexes prob[i*C + label] unchecked. A label past the row lands on another
        # record's probability inside the batch (silent garbage, as caffe-ref's label-12 run
        # shows) or past the batch's output (an out-of-bounds read: treated as probability 0,
        # the clamp; caffe-ref's debug loss 23.5876 = (87.3365 + 3 x 2.34) / 4 agrees).
        flat = rows * self.num_outputs + ints
        inside = ~ignored & (flat >= 0) & (flat < b * self.num_outputs)
        p = np.where(inside, prob.reshape(-1)[np.where(inside, flat, 0)], np.float32(0))
        p = np.where(np.isfinite(prob).all(axis=1), p, np.nan).astype(np.float32)
        loss = -np.log(np.maximum(p, FLT_MIN))              # max(nan, FLT_MIN) stays nan, as in C++
        loss = np.where(ignored, np.float32(0), loss)
        valid = int((~ignored).sum())
        norm = self._normaliser(b, valid)
        dy = prob.copy()
        np.subtract.at(dy.reshape(-1), flat[inside], np.float32(1))   # where Caffe's -1 lands
        dy[ignored] = 0
        dy *= np.float32(1.0 / norm)
        batch_loss = float(loss.sum(dtype=np.float32) / np.float32(norm))
        return loss.astype(np.float64), dy, {
            "labels": ints, "ignored": ignored, "out_of_range": out_of_range,
            "batch_loss": batch_loss}

    def _euclidean_loss(self, y: np.ndarray, labels: np.ndarray, b: int):
        t = np.asarray(labels, dtype=np.float32).reshape(b, -1)
        if t.shape[1] != self.num_outputs:
            raise UsageError(f"Inputs must have the same dimension. (EuclideanLoss: "
                             f"{self.num_outputs} outputs vs. {t.shape[1]} label values per "
                             "record)")
        diff = (y.astype(self.dtype) - t.astype(self.dtype)).astype(np.float32)
        loss = np.float32(0.5) * (diff * diff).sum(axis=1, dtype=np.float32)
        dy = diff / np.float32(b)                            # Caffe divides by num, not count
        batch_loss = float(loss.sum(dtype=np.float32) / np.float32(b))
        none = np.zeros(b, bool)
        return loss.astype(np.float64), dy, {
            "labels": None, "ignored": none, "out_of_range": none, "batch_loss": batch_loss}
