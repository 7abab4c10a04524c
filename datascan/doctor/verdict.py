"""From findings to one verdict and the one line the text report leads with."""
from __future__ import annotations

from .case import Case
from .report import DoctorFinding, FirstNonFinite

# DIAGNOSES.md's order: crash > first non-finite > clamp > divergence > no learning; but the
# check layer's stop (DS814) is a NaN found, not a crash.
ORDER = (("DS814", "nan"), ("DS809", "crashed"), ("DS800", "nan"), ("DS805", "stuck"),
         ("DS811", "diverging"), ("DS801", "diverging"), ("DS806", "stuck"),
         ("DS804", "not_training"), ("DS803", "not_training"))


def verdict(case: Case, findings: list[DoctorFinding]) -> str:
    codes = {f.code for f in findings}
    for code, name in ORDER:
        if code in codes:
            return name
    return "healthy" if case.facts.trained else "incomplete"


def headline(name: str, case: Case, findings: list[DoctorFinding],
             first: FirstNonFinite | None) -> str:
    f = case.facts
    by = {}
    for x in findings:
        by.setdefault(x.code, x)
    lr = f" base_lr {case.base_lr:.6g}" if case.base_lr else ""
    if name == "nan" and first is not None:
        where = _where(first)
        text = f"NaN at iteration {_it(first.iteration)}, first {where}"
        if "DS801" in by:
            b = by["DS801"]
            text += f"; gradient blow-up starting at iteration {_it(b.iteration)} in {b.layer}"
        elif "DS811" in by:
            text += f"; loss growing before it (from iteration {_it(by['DS811'].iteration)})"
        return text + (f";{lr}" if lr else "")
    if name == "crashed":
        return "Crashed: " + by["DS809"].message.removeprefix("Caffe aborted ")
    if name in ("stuck", "diverging", "not_training"):
        code = next(c for c, v in ORDER if v == name and c in by)
        return f"{name.replace('_', ' ').capitalize()}: {by[code].message}" + \
            (f";{lr}" if lr and name == "diverging" else "")
    if name == "healthy":
        pts = [p for p in f.headline.final()]
        trend = f", loss {pts[0][1]:.4g} -> {pts[-1][1]:.4g}" if len(pts) > 1 else ""
        return f"Healthy: iterations {_it(f.first_iteration)}..{_it(f.last_iteration)}{trend}" \
            f"{'' if f.done else ' (the log ends before Optimization Done)'}"
    return "Incomplete: the log ends before the first training iteration" \
        if f.solver_text is not None or f.solving_line is not None else \
        "Incomplete: no Caffe training run in this log"


def _where(first: FirstNonFinite) -> str:
    if first.phase == "lr":
        return "in the learning rate"
    if first.phase == "loss":
        return f"in the loss output {first.blob}" if first.blob else "in the loss"
    return f"in layer {first.layer}'s {first.phase} {first.blob}"


def _it(i: int | None) -> str:
    return "?" if i is None else f"{i:,}"
