"""Several runs in one file: the verdict is the last run's; the earlier ones are named."""
from __future__ import annotations

from ...codes import RUN_SEVERAL
from ..case import Case
from ..report import DoctorFinding
from .base import Rule


class SeveralRuns(Rule):
    """The log holds more than one run (a failed start, a resume appended)."""
    codes = (RUN_SEVERAL,)

    def judge(self, case: Case) -> list[DoctorFinding]:
        if not case.earlier:
            return []
        said = "; ".join(f"line {line}: {how}" for line, how in case.earlier[:5])
        more = f" (and {len(case.earlier) - 5} more)" if len(case.earlier) > 5 else ""
        msg = (f"{len(case.earlier) + 1} runs in this log; judged: the last, from line "
               f"{case.facts.start_line}. Earlier: {said}{more}")
        return [DoctorFinding.of(RUN_SEVERAL, msg, line=case.facts.start_line)]
