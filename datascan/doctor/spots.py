"""What the facts are made of: where something was seen (Spot), a net output followed over the
run (Head), a debug_info blob (Track), a loss rising display after display (Rise), and the
thresholds that say what counts."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .series import Downsampled

MAX_HEADS = 64          # train/test net outputs followed per run
MAX_KEYS = 8192         # debug_info blobs followed per run
MAX_NOTES = 8           # fatal/abort/error lines kept per run
BIG = 1e8               # a debug_info mean |x| this large is a blow-up (the "e+8" of the answers)
CLAMPS = (87.3365, 46.0517)   # -ln(FLT_MIN) (SoftmaxWithLoss), -ln(1e-20) (Infogain, Multinomial)


def finite(x: float) -> bool:
    return not (math.isnan(x) or math.isinf(x))


def clamp_of(x: float) -> float | None:
    return next((c for c in CLAMPS if abs(x - c) < 5e-4), None)


@dataclass
class Spot:
    """Where something was seen: the log line, the iteration (None until known) and the
    debug event or output behind it."""
    line: int
    iteration: int | None
    value: float
    layer: str | None = None
    blob: str | None = None
    phase: str | None = None      # forward | backward | update | loss | lr
    kind: str | None = None       # top | bottom | param | input (debug) | output name
    text: str | None = None       # the log line, quoted as evidence


@dataclass
class Head:
    """One net output (a loss head or an accuracy), train or test."""
    name: str
    weight: float | None
    first: Spot
    last: Spot
    displays: int = 0
    first_nonfinite: Spot | None = None
    first_clamp: Spot | None = None
    clamps: int = 0
    trailing_clamps: int = 0      # displays at the clamp, counted back from the last
    recovered_after_clamp: bool = False
    values: Downsampled = field(default_factory=Downsampled)


@dataclass
class Track:
    """One debug_info blob (phase, layer, kind, blob, field), train net only."""
    first: float
    first_iteration: int | None
    what: tuple = ()              # (phase, layer, kind, blob, field)
    zero_streak: int = 0
    seen: int = 0
    grew: Spot | None = None      # first display at >= GROWTH x its first non-zero value


GROWTH = 1e4           # "by orders of magnitude": 4 decades over the run
GROWTH_FLOOR = 1e3     # ... and large in absolute terms, not 1e-9 -> 1e-5


class Rise:
    """The first stretch where the loss rises display after display (3+ displays) to at least
    twice where the stretch began and above the run's first loss, and does not fall back
    (under 1.2x where it began) afterwards: the blow-up before a NaN, not a lone spike."""

    def __init__(self):
        self.rising: list[Spot] = []
        self.start: float | None = None
        self.found: tuple[Spot, Spot] | None = None

    def add(self, spot: Spot) -> None:
        if self.start is None:
            self.start = spot.value
        if self.found is not None:
            if spot.value > 1.2 * self.found[0].value:
                return
            self.found, self.rising = None, []       # it came back: a spike, not a blow-up
        if self.rising and spot.value <= self.rising[-1].value:
            self.rising = []
        self.rising.append(spot)
        first = self.rising[0]
        if len(self.rising) >= 3 and spot.value >= 2 * first.value and spot.value > self.start:
            self.found = (first, spot)
