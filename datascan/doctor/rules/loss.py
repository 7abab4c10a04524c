"""The loss curve: the SoftmaxWithLoss clamp (R5), instability and divergence without NaN
(R3, R17), a loss stuck at chance or not moving (R7), and the BatchNorm iteration-0 test (R6)."""
from __future__ import annotations

from ...codes import LINT_BASE_LR, RUN_BN_TEST0, RUN_CLAMP, RUN_STUCK, RUN_UNSTABLE
from ..case import Case
from ..facts import clamp_of, finite
from ..report import DoctorFinding
from .base import Rule, g, it_text

# Stuck: the healthy SGD CaffeNet of DIAGNOSES R7 sits at ln(1000) for 200-400 iterations and
# is 1.7% below it at 800; the dead runs stay within 0.2% for 1000+. So: within 1% of ln(C),
# for at least 10 displays and 1000 iterations, up to the end of the run.
CHANCE_TOLERANCE = 0.01
STUCK_DISPLAYS = 10
STUCK_ITERATIONS = 1000
FLAT_TOLERANCE = 1e-3       # not moving at all: the same loss to 0.1%, for STUCK_DISPLAYS
AFTER_SPIKE = 500
HIGH = 3.0                  # raw losses this many times ln(C) on 10%+ of the displays: unstable
HIGH_SHARE = 0.1            # (a dead net spikes on ~4% of them: ducha's Adam log)
SPIKE = 2.0                 # a loss this many times ln(C) is a spike (87.3365 is ~12x ln 1000)


def _loss_heads(case: Case):
    return [h for h in case.facts.heads.values() if h.weight]


class LossClamp(Rule):
    """A loss head sitting at 87.3365 (SoftmaxWithLoss: -ln FLT_MIN) or 46.0517 (Infogain) up
    to the end of the run. Heads that branch earlier and stay finite localise the break."""
    codes = (RUN_CLAMP,)

    def judge(self, case: Case) -> list[DoctorFinding]:
        out = []
        heads = _loss_heads(case)
        for h in heads:
            if h.first_clamp is None or h.trailing_clamps < 2:
                continue
            c = h.first_clamp
            fine = [o.name for o in heads if o is not h and o.first_clamp is None
                    and finite(o.last.value)]
            msg = (f"{h.name} = {g(c.value)} from iteration {it_text(c.iteration)} "
                   f"({h.trailing_clamps} displays, to the end of the log): the true class's "
                   "probability underflowed to 0 for every sample (on GPU this is what NaN "
                   "logits print)")
            if fine:
                msg += f"; {', '.join(fine)} stay finite, so the break is after their branch"
            out.append(DoctorFinding.of(RUN_CLAMP, msg, iteration=c.iteration,
                                        layer=_layer(case, h.name), line=c.line,
                                        evidence=c.text))
        return out


def _layer(case: Case, blob: str) -> str:
    return case.view.producer.get(blob, blob) if case.view is not None else blob


class Unstable(Rule):
    """The loss grows display after display (3+ displays to 2x and above where it started),
    or raw losses spike to the clamp / far above chance and come back: lr too high. Then
    names base_lr (DS909) when the solver is known.""" 
    codes = (RUN_UNSTABLE, LINT_BASE_LR)

    def judge(self, case: Case) -> list[DoctorFinding]:
        f = case.facts
        out = []
        rise = (f.raw_rise if f.raw.points else f.headline_rise).found
        if rise is not None:
            a, b = rise
            out.append(DoctorFinding.of(
                RUN_UNSTABLE, f"loss grows from {g(a.value)} at iteration {it_text(a.iteration)} "
                f"to {g(b.value)} at {it_text(b.iteration)}: diverging", iteration=a.iteration,
                line=b.line, evidence=b.text))
        chance = case.chance
        for h in _loss_heads(case):
            if h.first_clamp is not None and h.recovered_after_clamp and h.clamps >= 2:
                c = h.first_clamp
                out.append(DoctorFinding.of(
                    RUN_UNSTABLE, f"{h.name} hits the {g(c.value)} clamp {h.clamps} times from "
                    f"iteration {it_text(c.iteration)} and comes back: unstable training, lr too "
                    "high for this solver", iteration=c.iteration, layer=_layer(case, h.name),
                    line=c.line, evidence=c.text))
                break
        stuck_at_clamp = any(h.trailing_clamps >= 2 for h in _loss_heads(case))
        if not out and chance and not stuck_at_clamp:
            curve = f.raw if f.raw.points else f.headline
            points = [(i, v) for i, v in curve.final() if finite(v)]
            high = [(i, v) for i, v in points if v > HIGH * chance]
            if len(high) >= max(2, HIGH_SHARE * len(points)):
                out.append(DoctorFinding.of(
                    RUN_UNSTABLE, f"the loss is above {HIGH:g}x chance (ln {case.num_classes} = "
                    f"{g(chance)}) at {len(high)} of {len(points)} displays from iteration "
                    f"{it_text(high[0][0])}",
                    iteration=high[0][0]))
        lr = case.base_lr
        if out and lr:
            out.append(DoctorFinding.of(
                LINT_BASE_LR, f"base_lr {g(lr)} diverges here: try {g(lr / 10)} "
                "(or clip_gradients)", iteration=out[0].iteration))
        return out


class Stuck(Rule):
    """The loss pinned at ln(num_classes), chance level (R7): after a spike for 500+
    iterations, else for 1000+, its median within 1% of ln C and never 2% below it; or not
    moving at all for 10+ displays. Judged on the raw train outputs (the headline is a
    running mean that hides spikes). A flat ln C early in a healthy run is normal: R7 names
    a healthy CaffeNet at ln 1000 for 400 iterations, 1.7% below it at 800."""
    codes = (RUN_STUCK,)

    def judge(self, case: Case) -> list[DoctorFinding]:
        f = case.facts
        curve = f.raw if f.raw.points else f.headline
        points = [(i, v) for i, v in curve.final() if finite(v)]
        if f.headline_nonfinite is not None or len(points) < STUCK_DISPLAYS:
            return []
        chance = case.chance
        if chance:
            head = [(i, v) for i, v in f.headline.final() if finite(v)]
            spike = min((i for i, v in head + points if v >= SPIKE * chance), default=None)
            window = [(i, v) for i, v in points if spike is None or i > spike][1:]
            span = window[-1][0] - window[0][0] if window else 0
            values = sorted(v for _, v in window)
            if (len(window) >= STUCK_DISPLAYS and span >= (AFTER_SPIKE if spike is not None
                                                          else STUCK_ITERATIONS)
                    and abs(values[len(values) // 2] - chance) <= CHANCE_TOLERANCE * chance
                    and values[0] >= (1 - 2 * CHANCE_TOLERANCE) * chance):
                i0 = window[0][0]
                after = f" after a spike at iteration {it_text(spike)}" if spike is not None \
                    else ""
                return [DoctorFinding.of(
                    RUN_STUCK, f"loss stays at chance, ln {case.num_classes} = {g(chance)}, "
                    f"from iteration {it_text(i0)} to {it_text(window[-1][0])}{after} "
                    f"(median {g(values[len(values) // 2])}): the net is not learning",
                    iteration=i0)]
        ref = points[-1][1]
        k = len(points)
        while k > 0 and abs(points[k - 1][1] - ref) <= FLAT_TOLERANCE * max(abs(ref), 1e-12):
            k -= 1
        if len(points) - k >= STUCK_DISPLAYS and clamp_of(ref) is None:
            i0 = points[k][0]
            return [DoctorFinding.of(
                RUN_STUCK, f"loss {g(ref)} does not move from iteration {it_text(i0)} to "
                f"{it_text(points[-1][0])}", iteration=i0)]
        return []


class BatchNormTest0(Rule):
    """The iteration-0 test of a BatchNorm net prints 87.3365 or a huge loss: its global
    statistics are still 0. Later tests recover; not a failure (R6)."""
    codes = (RUN_BN_TEST0,)

    def judge(self, case: Case) -> list[DoctorFinding]:
        f = case.facts
        if case.view is None or not case.view.has("BatchNorm"):
            return []
        for h in f.test_heads.values():
            first, last = h.first, h.last
            if (h.weight and first.iteration == f.first_iteration and h.displays > 1
                    and finite(first.value) and (clamp_of(first.value) or first.value > 10 *
                                                  max(last.value, 1e-6))
                    and finite(last.value) and last.value < first.value):
                return [DoctorFinding.of(
                    RUN_BN_TEST0, f"test {h.name} = {g(first.value)} at iteration "
                    f"{it_text(first.iteration)}, {g(last.value)} later: BatchNorm's global "
                    "statistics are 0 before training (expected)", iteration=first.iteration,
                    line=first.line)]
        return []
