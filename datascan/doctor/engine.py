"""The doctor's one entry: a log (and/or a solver and net) -> DoctorReport.

One pass over the log: the dialect's events go to the current run's facts; a new run
(another "Initializing solver") closes the previous one, judged and kept as one line. The
last run is judged in full: rules (rules/), lint of its solver and net (caffe/lint.py),
and back to the records when the first NaN names a batch (records.py).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..errors import UsageError
from .case import Case, build
from .events import RunStart
from .facts import RunFacts
from .report import DoctorFinding, DoctorReport
from .rules import RULES
from .rules.nonfinite import first_nonfinite
from .verdict import headline, verdict

MAX_EARLIER = 100


def doctor(log: str | Path | None = None, *, solver: str | Path | None = None,
           net: str | Path | None = None, data: bool | None = None,
           cwd: str | Path | None = None) -> DoctorReport:
    """Read a Caffe training log (a path, `-` for stdin, gzip or not) and say why the run
    went wrong. ``solver``/``net`` replace what the log printed (or, without a log, are only
    linted). ``data``: go back to the records of the first non-finite batch (None: when the
    net's sources exist)."""
    if log is None and solver is None and net is None:
        raise UsageError("doctor needs a LOG, or --solver/--net to lint")
    cwd = Path(cwd) if cwd is not None else Path.cwd()
    solver_path = Path(solver) if solver is not None else None
    net_path = Path(net) if net is not None else None
    if log is None:
        facts = RunFacts(0)
        case = build(facts, solver_path=solver_path, net_path=net_path)
        return _report(None, case, data=False, runs=0, cwd=cwd, log_path=None)
    facts, earlier, runs = _read(log, solver_path, net_path)
    log_path = None if str(log) == "-" else Path(log)
    case = build(facts, solver_path=solver_path, net_path=net_path, log_path=log_path)
    case = replace(case, earlier=tuple(earlier))
    return _report(str(log), case, data=data, runs=runs, cwd=cwd, log_path=log_path)


def _read(log, solver_path, net_path):
    from .caffe_glog import Reader
    from .logfile import LogLines
    lines = LogLines(log)
    reader = Reader(lines)
    facts = RunFacts(1, quote=reader.current)
    earlier: list[tuple[int, str]] = []
    runs = 0
    seen = False
    for ev in reader:
        if type(ev) is RunStart:
            if seen:
                runs += 1
                if len(earlier) < MAX_EARLIER:
                    earlier.append((facts.start_line, _summary(facts, solver_path, net_path)))
            facts, seen = RunFacts(ev.line, quote=reader.current), True
            continue
        seen = True
        facts.feed(ev)
    if not seen:
        raise UsageError(f"{log}: no Caffe log lines (glog `I0101 00:00:00.000000 1 file.cpp:1] "
                         "...`) in it")
    facts.cut = lines.cut
    return facts, earlier, runs + 1


def _summary(facts: RunFacts, solver_path, net_path) -> str:
    """How an earlier run ended, in a few words (it is judged like the last, then dropped)."""
    facts.finish(None)
    case = build(facts, solver_path=solver_path, net_path=net_path)
    findings = [x for rule in RULES for x in rule().judge(case)]
    name = verdict(case, findings)
    lead = next((x.message for x in findings if x.severity.rank >= 1), None)
    return f"{name}" + (f" ({lead[:160]})" if lead else "")


def _report(log: str | None, case: Case, *, data: bool | None, runs: int, cwd: Path,
            log_path: Path | None) -> DoctorReport:
    from ..caffe.lint import lint
    f = case.facts
    f.finish(case.display)
    findings: list[DoctorFinding] = []
    for rule in RULES:
        findings += rule().judge(case)
    base = (log_path.parent if log_path is not None else cwd)
    for code, message, layer in lint(case.solver, case.net, base=base, cwd=cwd):
        findings.append(DoctorFinding.of(code, message, layer=layer))
    name = verdict(case, findings) if log is not None else "incomplete"
    first = first_nonfinite(case)
    line = headline(name, case, findings, first) if log is not None else \
        f"Lint only: {len(findings)} finding(s) in the solver/net"
    notes = list(case.problems)
    if f.cut:
        notes.append("the gzip stream is cut short: the log ends early")
    batches = ()
    if log is not None and first is not None and data is not False:
        from .records import batches_read
        batches = batches_read(case, first, required=bool(data))
        findings += [x for b in batches for x in b.findings]
    from .evidence import layers_of
    layers, left = layers_of(f)
    return DoctorReport(log=log, iterations=f.last_iteration, verdict=name, headline=line,
                        first_nonfinite=first, findings=tuple(findings),
                        loss=f.headline.final(), lr=f.lr.final(), runs=runs,
                        run_start=f.start_line if log is not None else None,
                        batches=tuple(batches), notes=tuple(notes), layers=layers,
                        layers_left=left)
