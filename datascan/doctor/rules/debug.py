"""What debug_info's per-layer numbers (mean |x| of a blob: asum/count) show before any NaN:
blow-up (R3), zero gradients (R8), dead activations (R8)."""
from __future__ import annotations

from ...codes import RUN_BLOWUP, RUN_DEAD, RUN_ZERO_DIFF
from ..case import Case
from ..facts import BIG, GROWTH
from ..report import DoctorFinding
from .base import Rule, g, it_text

ZERO_DISPLAYS = 3      # a blob at exactly 0 this many debug displays in a row, to the last


class BlowUp(Rule):
    """debug_info values reaching 1e8, or a blob's mean |x| growing 1e4x over the run, before
    any NaN: names the first layer where it happens."""
    codes = (RUN_BLOWUP,)

    def judge(self, case: Case) -> list[DoctorFinding]:
        f = case.facts
        spot = f.debug_big
        grown = [t.grew for t in f.tracks.values() if t.grew is not None]
        if spot is None and grown:
            spot = min(grown, key=lambda s: s.line)
        if spot is None:
            return []
        how = f"reaches {g(spot.value)}" if abs(spot.value) >= BIG else \
            f"grew {GROWTH:g}x to {g(spot.value)}"
        msg = (f"gradient blow-up starting at iteration {it_text(spot.iteration)} in layer "
               f"{spot.layer}: its {spot.phase} {spot.blob} (mean |x|) {how}")
        return [DoctorFinding.of(RUN_BLOWUP, msg, iteration=spot.iteration, layer=spot.layer,
                                 line=spot.line, evidence=spot.text)]


class ZeroDiffs(Rule):
    """A param blob's diff exactly 0 on the last 3+ displays (before any NaN): no gradient
    reaches the layer."""
    codes = (RUN_ZERO_DIFF,)

    def judge(self, case: Case) -> list[DoctorFinding]:
        zero = [t.what for t in case.facts.tracks.values()
                if t.what[0] == "backward" and t.what[2] == "param" and t.what[4] == "diff"
                and t.zero_streak >= ZERO_DISPLAYS and t.zero_streak == t.seen]
        if not zero:
            return []
        layers = list(dict.fromkeys(w[1] for w in zero))
        msg = (f"param diffs are 0 on every display in {len(layers)} layer(s): "
               f"{', '.join(layers[:8])}{' ...' if len(layers) > 8 else ''}: no gradient "
               "reaches them")
        return [DoctorFinding.of(RUN_ZERO_DIFF, msg, layer=layers[0])]


class DeadUnits(Rule):
    """A ReLU's top is exactly 0 (every unit dead) on its last 3+ displays."""
    codes = (RUN_DEAD,)

    def judge(self, case: Case) -> list[DoctorFinding]:
        view = case.view
        dead = []
        for t in case.facts.tracks.values():
            phase, layer, kind = t.what[:3]
            if phase != "forward" or kind != "top" or t.zero_streak < ZERO_DISPLAYS:
                continue
            relu = view.type_of(layer) in ("ReLU", "PReLU") if view is not None and \
                view.type_of(layer) else "relu" in layer.lower()
            if relu:
                dead.append(layer)
        if not dead:
            return []
        msg = (f"every unit of {', '.join(dead[:8])}{' ...' if len(dead) > 8 else ''} outputs "
               f"0 on the last {ZERO_DISPLAYS}+ displays: dead ReLUs")
        return [DoctorFinding.of(RUN_DEAD, msg, layer=dead[0])]
