"""The per-layer evidence of a run: its debug_info blobs (train net) in the order the log
first printed them, each with what stands out (the first NaN, a blow-up, 0 throughout),
bounded to MAX_LAYERS rows (what stands out first)."""
from __future__ import annotations

from .facts import BIG, RunFacts
from .report import LayerEvidence
from .rules.debug import ZERO_DISPLAYS

MAX_LAYERS = 120


def layers_of(facts: RunFacts) -> tuple[tuple[LayerEvidence, ...], int]:
    """The rows, and how many were left out."""
    bad = facts.debug_nonfinite
    big = facts.debug_big
    rows: list[LayerEvidence] = []
    placed = False
    for t in facts.tracks.values():
        phase, layer, kind, blob, fld = t.what
        name = f"{kind} {blob} {fld}"      # as a Spot names it
        note, line, flagged = "", None, False
        if bad is not None and (bad.phase, bad.layer, bad.blob) == (phase, layer, name):
            note, line, flagged, placed = (f"first non-finite value: {bad.value:.6g} at iteration "
                                           f"{_it(bad.iteration)}", bad.line, True, True)
        elif big is not None and (big.phase, big.layer, big.blob) == (phase, layer, name):
            note, line, flagged = (f"reaches {big.value:.6g} (>= {BIG:g}) at iteration "
                                   f"{_it(big.iteration)}", big.line, True)
        elif t.grew is not None:
            note, line, flagged = (f"grew to {t.grew.value:.6g} at iteration "
                                   f"{_it(t.grew.iteration)}", t.grew.line, True)
        elif t.zero_streak >= ZERO_DISPLAYS:
            note = f"0 on the last {t.zero_streak} displays"
        rows.append(LayerEvidence(phase, layer, name, t.first, t.seen, note, line, flagged))
    if bad is not None and not placed and bad.layer is not None:
        rows.insert(0, LayerEvidence(bad.phase or "", bad.layer, bad.blob or "", bad.value, 1,
                                     f"first non-finite value: {bad.value:.6g} at iteration "
                                     f"{_it(bad.iteration)}", bad.line, True))
    left = max(0, len(rows) - MAX_LAYERS)
    if left:                          # keep what stands out, then the first in log order
        keep = {id(r) for r in sorted(rows, key=lambda r: (not r.bad, not r.note))[:MAX_LAYERS]}
        rows = [r for r in rows if id(r) in keep]
    return tuple(rows), left


def _it(i: int | None) -> str:
    return "?" if i is None else f"{i:,}"
