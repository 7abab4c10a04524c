"""The learning rate as printed (`Iteration N, lr = X`) and a solver that trains nothing (R4)."""
from __future__ import annotations

from ...codes import RUN_LR_BAD, RUN_LR_ZERO, RUN_NOTHING
from ..case import Case
from ..report import DoctorFinding
from .base import Rule, g, it_text


def _policy(case: Case) -> str:
    policy = case.solver_value("lr_policy")
    return f" (lr_policy {policy!r})" if policy else ""


class LearningRate(Rule):
    """lr nan/inf/negative (the policy's formula broke), or 0 on every line (nothing learns)."""
    codes = (RUN_LR_BAD, RUN_LR_ZERO)

    def judge(self, case: Case) -> list[DoctorFinding]:
        f = case.facts
        out = []
        if f.lr_bad is not None:
            b = f.lr_bad
            why = "poly without max_iter (0/0), or pycaffe stepping past max_iter" \
                if case.solver_value("lr_policy") == "poly" else "the lr policy's formula"
            out.append(DoctorFinding.of(
                RUN_LR_BAD, f"lr = {g(b.value)} at iteration {it_text(b.iteration)}"
                f"{_policy(case)}: {why}", iteration=b.iteration, line=b.line, evidence=b.text))
        if f.lr_lines and not f.lr_nonzero:
            first = f.lr_first
            out.append(DoctorFinding.of(
                RUN_LR_ZERO, f"lr = 0 on all {f.lr_lines:,} lr lines{_policy(case)}: no "
                "weight changes (base_lr unset, or gamma 0)", iteration=first.iteration,
                line=first.line))
        return out


class NothingTrained(Rule):
    """The solver ran zero iterations: `caffe train` runs Step(max_iter - iter), and max_iter
    defaults to 0 (poly without max_iter does exactly this, exit 0, no lr line)."""
    codes = (RUN_NOTHING,)

    def judge(self, case: Case) -> list[DoctorFinding]:
        f = case.facts
        if f.crashed or f.solving_line is None or f.lr_lines or f.debug_lines:
            return []
        max_iter = case.solver_value("max_iter") or 0
        start = f.first_iteration or 0
        if not f.done and max_iter > start:
            return []           # cut before the first display: incomplete, not "nothing"
        if max_iter > start:
            return []
        msg = (f"the solver ran zero iterations: max_iter is {max_iter}"
               f"{' (unset)' if case.solver_value('max_iter') is None else ''}, so caffe train "
               f"runs Step({max_iter} - {start}) = nothing and exits 0{_policy(case)}")
        return [DoctorFinding.of(RUN_NOTHING, msg, iteration=start, line=f.solving_line)]
