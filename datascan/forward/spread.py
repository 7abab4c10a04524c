"""Which of the forward pass's trips are a record's, and which the whole dataset's.

A record trips when its loss reaches the 87.3365 clamp or its weight gradient 1e8 (judge.py).
Both grow with the size of the input the dummy net sees: a record whose input is far larger
than the others' trips by itself, and is named (DS701); records that trip without standing
out trip because every input is that large (0..255 pixels fed without the net's scale), and
one finding for the dataset (DS702) names the likely cause instead of blaming them.
NaN/inf (DS700) and labels past the net's outputs (DS701) are always the record's own.

Stand out: the log10 of the record's input L2 norm (for a regression loss, or of its target's)
lies at least STAND_OUT_DECADES and at least STAND_OUT_SIGMAS robust standard deviations
(1.4826 x the MAD of log10 norms) above the median of every record forwarded. The median and
the MAD come from a histogram of log10 norms in BIN-decade bins (bounded memory, 1/40 of a
decade's precision is plenty for "10x the median"); the trips wait in memory until the end.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..codes import FORWARD_DATASET
from ..model import Finding

STAND_OUT_DECADES = 1.0      # at least 10x the median norm ...
STAND_OUT_SIGMAS = 5.0       # ... and at least 5 robust sigmas above it
BIN = 0.025                  # histogram bin, in decades
LOW, HIGH = -45.0, 45.0      # log10 norms outside land in the first / last bin
NBINS = int(round((HIGH - LOW) / BIN))
EXAMPLES = 5                 # records named in the DS702 message


class Spread:
    """The distribution of one per-record size (log10 of an L2 norm), and the value range."""

    def __init__(self) -> None:
        self.counts = np.zeros(NBINS + 2, np.int64)   # [0]: 0 or below LOW; [-1]: past HIGH, inf
        self.lo, self.hi = math.inf, -math.inf        # finite values seen (inputs only)

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def add(self, norms: np.ndarray, values: np.ndarray | None = None) -> None:
        norms = np.asarray(norms, np.float64).reshape(-1)
        norms = norms[~np.isnan(norms)]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            logs = np.log10(np.where(norms > 0, norms, 1.0))
            bins = np.clip(np.floor((logs - LOW) / BIN), -1, NBINS) + 1
        bins = np.where(norms > 0, bins, 0).astype(np.int64)
        self.counts += np.bincount(bins, minlength=NBINS + 2)
        if values is not None and values.size:
            lo, hi = float(values.min()), float(values.max())
            if not (math.isfinite(lo) and math.isfinite(hi)):   # NaN/inf there: the rest's range
                finite = values[np.isfinite(values)]
                if not finite.size:
                    return
                lo, hi = float(finite.min()), float(finite.max())
            self.lo, self.hi = min(self.lo, lo), max(self.hi, hi)

    def _centres(self) -> np.ndarray:
        c = LOW + (np.arange(NBINS + 2) - 0.5) * BIN
        return c

    @staticmethod
    def _weighted_median(values: np.ndarray, counts: np.ndarray) -> float:
        order = np.argsort(values, kind="stable")
        cum = np.cumsum(counts[order])
        return float(values[order][np.searchsorted(cum, (cum[-1] + 1) // 2)])

    def median(self) -> float | None:
        """The median log10 norm, None before any record."""
        return None if self.n == 0 else self._weighted_median(self._centres(), self.counts)

    def threshold(self) -> float | None:
        """The log10 norm above which a record stands out."""
        med = self.median()
        if med is None:
            return None
        mad = self._weighted_median(np.abs(self._centres() - med), self.counts)
        return med + max(STAND_OUT_DECADES, STAND_OUT_SIGMAS * 1.4826 * mad)

    def stands_out(self, norm: float) -> bool:
        limit = self.threshold()
        if limit is None or math.isnan(norm):
            return False
        return norm == math.inf or (norm > 0 and math.log10(norm) > limit)


@dataclass(frozen=True)
class Trip:
    """A record whose loss or gradient tripped, waiting to be judged against the rest."""
    finding: Finding              # its DS701, as judge.py words it
    iteration: int
    norm: float                   # L2 norm of its input as the net sees it
    target: float | None          # L2 norm of its regression target (euclidean loss)
    clamp: bool                   # loss at the clamp
    blowup: bool                  # gradient >= 1e8


def settle(trips: list[Trip], inputs: Spread, targets: Spread | None, *, path: str,
           cause: str) -> list[Finding]:
    """The DS701 of every trip that stands out (its message saying by how much), and one
    DS702 for the rest, naming ``cause``."""
    if not trips:
        return []
    out: list[Finding] = []
    rest: list[Trip] = []
    med = inputs.median()
    for t in trips:
        if inputs.stands_out(t.norm):
            times = t.norm / 10 ** med if med is not None else math.inf
            out.append(replace(t.finding, message=(
                f"{t.finding.message}; its input's L2 norm {t.norm:.3g} is {times:.3g}x the "
                f"median of the {inputs.n:,} records forwarded ({10 ** med:.3g}): it stands out")))
        elif targets is not None and t.target is not None and targets.stands_out(t.target):
            tmed = targets.median()
            out.append(replace(t.finding, message=(
                f"{t.finding.message}; its target's L2 norm {t.target:.3g} is "
                f"{t.target / 10 ** tmed:.3g}x the median ({10 ** tmed:.3g}): it stands out")))
        else:
            rest.append(t)
    if rest:
        out.append(_dataset_finding(rest, inputs, path, cause))
    return out


def _dataset_finding(rest: list[Trip], inputs: Spread, path: str, cause: str) -> Finding:
    clamp = sum(t.clamp for t in rest)
    blowup = sum(t.blowup for t in rest)
    what = ", ".join(x for x in (f"{clamp:,} with the loss at the 87.3365 clamp" if clamp else "",
                                 f"{blowup:,} with a weight gradient >= 1e8" if blowup else "")
                     if x)
    norms = [t.norm for t in rest]
    med = 10 ** inputs.median()
    limit = 10 ** inputs.threshold()
    first = rest[0]
    shown = ", ".join(f"#{t.finding.index}" for t in rest[:EXAMPLES])
    more = ", ..." if len(rest) > EXAMPLES else ""
    return Finding.of(FORWARD_DATASET, path, (
        f"{len(rest):,} of {inputs.n:,} records trip the dummy net together ({what}; "
        f"{shown}{more}, the first in iteration {first.iteration}) and none stands out from the "
        f"rest: their input L2 norms are {min(norms):.3g}..{max(norms):.3g}, the median of "
        f"every record {med:.3g} (a record stands out past {limit:.3g}). Likely cause: {cause}"))


def likely_cause(inputs: Spread, *, scale: float, mean: str | None, width: int,
                 from_net: bool = False) -> str:
    """What makes every input too large, in the words of the options that would fix it.
    ``from_net``: the transform is a net's data layer's own, so the fix is in the net."""
    lo, hi = inputs.lo, inputs.hi
    size = (f"the dummy net (one InnerProduct with N(0, 0.01) weights over {width:,} values) "
            "saturates on inputs this large")
    if not math.isfinite(lo):
        return "no finite input values"
    if from_net:
        done = ", ".join(x for x in (f"{mean} subtracted" if mean else "",
                                     f"scale {scale:g}" if scale != 1 else "") if x)
        span = f"{lo:g}..{hi:g}" if lo >= 0 and 1 < hi <= 255 else f"{lo:.3g}..{hi:.3g}"
        return (f"the net's own transform_param ({done or 'no scale, no mean'}) leaves inputs "
                f"spanning {span}: if the net feeds them to a layer as large as this one, set "
                "its scale (0.00390625 = 1/256 for 0..255 pixels) or mean; " + size +
                ". A net whose first layer is a convolution sees far smaller sums, so this "
                "says little about the records")
    if scale == 1 and mean is None:
        if lo >= 0 and 1 < hi <= 255:
            return (f"inputs span {lo:g}..{hi:g} and no scale or mean was given: pass the net's "
                    "transform_param (--net NET.prototxt), or --scale (0.00390625 = 1/256 for "
                    "0..255 pixels) and the mean its data layer uses (--mean-file, "
                    f"--mean-value); {size}")
        return (f"inputs span {lo:.3g}..{hi:.3g} and no scale or mean was given: pass the net's "
                f"transform_param (--net NET.prototxt) or a --scale that brings them near "
                f"[-1, 1]; {size}")
    done = ", ".join(x for x in (f"{mean} subtracted" if mean else "",
                                 f"scale {scale:g}" if scale != 1 else "") if x)
    return (f"after the transform ({done}) inputs still span {lo:.3g}..{hi:.3g}: check the "
            f"scale against the net's transform_param; {size}. A net whose first layer is a "
            "convolution sees far smaller sums, so this says little about the records")
