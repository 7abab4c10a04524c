"""What a doctor rule is: a check (checks/base.py) that reads a run's facts and the solver and
net it ran with, and says what they show, each finding with its code."""
from __future__ import annotations

from ...checks.base import LOG, Check
from ..case import Case
from ..report import DoctorFinding


class Rule(Check):
    reads = (LOG,)

    def judge(self, case: Case) -> list[DoctorFinding]:
        raise NotImplementedError


def it_text(iteration: int | None) -> str:
    return "?" if iteration is None else f"{iteration:,}"


def g(x: float) -> str:
    """A number as the log prints it (6 significant digits)."""
    return f"{x:.6g}"
