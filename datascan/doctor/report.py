"""What the doctor says: frozen data. Its JSON and text forms are report/doctor.py's."""
from __future__ import annotations

from dataclasses import dataclass

from ..codes import Code, Severity

VERDICTS = ("nan", "diverging", "stuck", "not_training", "crashed", "healthy", "incomplete")
PHASES = ("forward", "backward", "update", "loss", "lr")


@dataclass(frozen=True)
class DoctorFinding:
    code: str
    severity: Severity
    message: str
    iteration: int | None = None
    layer: str | None = None
    line: int | None = None
    evidence: str | None = None     # the log line quoted (text report only)
    fix: str | None = None          # what to do, when more precise than the code's hint

    @classmethod
    def of(cls, code: Code, message: str, *, iteration: int | None = None,
           layer: str | None = None, line: int | None = None, fix: str | None = None,
           severity: Severity | None = None, evidence: str | None = None) -> DoctorFinding:
        return cls(code.code, severity or code.severity, message, iteration, layer, line,
                   evidence.strip()[:300] if evidence else None, fix)


@dataclass(frozen=True)
class FirstNonFinite:
    iteration: int | None
    phase: str                      # one of PHASES
    layer: str | None
    blob: str | None
    line: int
    since: int | None = None        # the display before it: the NaN lies in (since, iteration]


@dataclass(frozen=True)
class BatchRead:
    """Back to the records: what one data layer read in the iterations of the first non-finite
    value, and the findings on those records (DS300, DS500, ...; or that they are clean)."""
    layer: str
    source: str
    iterations: tuple[int, int]     # first and last iteration looked at
    indices: tuple[int, ...]        # record indices read, in Caffe's order
    note: str                       # one line: what was read and what is bad
    findings: tuple[DoctorFinding, ...] = ()


@dataclass(frozen=True)
class LayerEvidence:
    """One debug_info blob of the train net as the run saw it (mean |x| = asum/count): the
    HTML report's per-layer table."""
    phase: str                      # forward | backward | update
    layer: str
    blob: str                       # e.g. "top data data", "param 0 diff"
    first: float                    # its first value
    displays: int                   # debug displays that printed it
    note: str = ""                  # what stands out: grew, reached 1e8, 0 throughout, non-finite
    line: int | None = None         # the log line of what stands out
    bad: bool = False               # the first non-finite value or a blow-up is here


@dataclass(frozen=True)
class DoctorReport:
    log: str | None
    iterations: int | None
    verdict: str
    headline: str                   # the one verdict line of the text report
    first_nonfinite: FirstNonFinite | None
    findings: tuple[DoctorFinding, ...]
    loss: tuple[tuple[int, float], ...] = ()
    lr: tuple[tuple[int, float], ...] = ()
    runs: int = 0
    run_start: int | None = None    # the line where the judged run starts
    batches: tuple[BatchRead, ...] = ()
    notes: tuple[str, ...] = ()     # what could not be read (text report only)
    layers: tuple[LayerEvidence, ...] = ()   # debug_info blobs, bounded (HTML report only)
    layers_left: int = 0            # blobs past the bound, not in ``layers``

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)
