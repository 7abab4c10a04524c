"""What the doctor's page shows, built from a DoctorReport: plain data for
templates/doctor.html.j2. The loss and lr curves are inline SVG (no script needed), nan/inf
points drawn as markers at the top edge, the first non-finite iteration as a line."""
from __future__ import annotations

import math
import time
from types import SimpleNamespace as NS

from .._version import __version__
from ..codes import Severity, lookup
from ..doctor.report import DoctorFinding, DoctorReport
from .words import plural

WIDTH, HEIGHT = 540, 190
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 16, 30      # the plot area's margins
LOG_SCALE = 1e3        # a positive curve spanning this many times its smallest value: log y


def doctor_page(report: DoctorReport) -> NS:
    first = report.first_nonfinite
    at = first.iteration if first is not None else None
    warnings = sum(f.severity is Severity.WARNING for f in report.findings)
    run = [_finding(f) for f in report.findings if not f.code.startswith("DS9")]
    lint = [_finding(f) for f in report.findings if f.code.startswith("DS9")]
    meta = [("log", report.log or "(none: lint only)"),
            ("iterations up to", "?" if report.iterations is None else f"{report.iterations:,}"),
            ("datascan", __version__), ("rendered", time.strftime("%Y-%m-%d %H:%M"))]
    if report.runs > 1:
        meta.insert(2, ("runs", f"{report.runs}, the last judged (from line {report.run_start})"))
    cards = [(report.verdict.replace("_", " "), "verdict", "" if report.verdict == "healthy"
              else "err"),
             ("?" if report.iterations is None else f"{report.iterations:,}", "iterations", ""),
             ("none" if first is None else ("?" if at is None else f"{at:,}"),
              "first NaN/inf iteration", "err" if first is not None else ""),
             (f"{report.errors:,}", "error findings", "err" if report.errors else ""),
             (f"{warnings:,}", "warning findings", "warn" if warnings else "")]
    return NS(
        title=report.log or "lint", headline=report.headline, cards=cards, meta=meta,
        verdict=NS(passed=report.verdict == "healthy", text=report.verdict.replace("_", " ")),
        first=None if first is None else NS(
            iteration="?" if at is None else f"{at:,}", phase=first.phase, layer=first.layer or "",
            blob=first.blob or "", line=first.line),
        curves=[c for c in (_curve("loss (headline, a running mean)", report.loss, at),
                            _curve("learning rate", report.lr, at)) if c is not None],
        findings=run, lint=lint,
        batches=[NS(layer=b.layer, note=b.note, findings=[_finding(f) for f in b.findings])
                 for b in report.batches],
        layers=[NS(phase=x.phase, layer=x.layer, blob=x.blob, first=f"{x.first:.4g}",
                   displays=f"{x.displays:,}", note=x.note, line=x.line or "", bad=x.bad)
                for x in report.layers],
        layers_more=f"and {report.layers_left:,} more blobs not listed (the table keeps "
                    f"{len(report.layers)}: those that stand out first)" if report.layers_left
        else "",
        notes=list(report.notes))


def _finding(f: DoctorFinding) -> NS:
    row = lookup(f.code)
    where = [f"iteration {f.iteration:,}" if f.iteration is not None else None,
             f"layer {f.layer}" if f.layer else None, f"line {f.line}" if f.line else None]
    return NS(code=f.code, severity=f.severity.value, title=row.title, message=f.message,
              where=", ".join(w for w in where if w), evidence=f.evidence or "",
              fix=(f.fix or row.hint) if f.severity.rank else "")


def _nice(lo: float, hi: float, count: int) -> list[float]:
    """About ``count`` round ticks (1, 2, 5 x 10^k apart) inside [lo, hi]."""
    raw = (hi - lo) / max(count, 1)
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if step * m >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def _tick(x: float, step: float) -> str:
    if abs(x) < step * 1e-6:
        return "0"
    if 1e-3 <= abs(x) < 1e5:
        return f"{x:.{max(0, -math.floor(math.log10(step)))}f}"
    return f"{x:.{max(0, math.floor(math.log10(abs(x))) - math.floor(math.log10(step)))}e}"


def _curve(title: str, points, marked: int | None) -> NS | None:
    if not points:
        return None
    xs = [i for i, _ in points]
    good = [v for _, v in points if math.isfinite(v)]
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x1 = x0 + 1
    log = bool(good) and min(good) > 0 and max(good) / min(good) >= LOG_SCALE
    f = (lambda v: math.log10(v)) if log else (lambda v: v)
    lo, hi = (min(map(f, good)), max(map(f, good))) if good else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - (abs(lo) or 1) * 0.1, hi + (abs(hi) or 1) * 0.1
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(i: int) -> float:
        return LEFT + (i - x0) / (x1 - x0) * pw

    def py(v: float) -> float:
        return TOP + (1 - (f(v) - lo) / (hi - lo)) * ph

    lines, run, bad = [], [], []
    for i, v in points:
        if math.isfinite(v):
            run.append(f"{px(i):.1f},{py(v):.1f}")
            continue
        if run:
            lines.append(" ".join(run))
            run = []
        bad.append(NS(x=f"{px(i):.1f}", y=f"{TOP - 4:.1f}",
                      title=f"iteration {i:,}: {'nan' if math.isnan(v) else v}"))
    if run:
        lines.append(" ".join(run))
    dots = [NS(x=p.split(",")[0], y=p.split(",")[1]) for p in lines if " " not in p]
    if log:
        y_ticks = [NS(y=f"{TOP + (1 - (e - lo) / (hi - lo)) * ph:.1f}", text=f"1e{e:d}")
                   for e in range(math.ceil(lo), math.floor(hi) + 1)]
    else:
        ys = _nice(lo, hi, 4)
        step = ys[1] - ys[0] if len(ys) > 1 else (hi - lo)
        y_ticks = [NS(y=f"{py(v):.1f}", text=_tick(v, step)) for v in ys]
    x_ticks = [NS(x=f"{px(x):.1f}", text=f"{round(x):,}")
               for x in _nice(x0, x1, 5) if x == round(x)]
    mark = None
    if marked is not None and x0 <= marked <= max(xs):
        mark = NS(x=f"{px(marked):.1f}", text=f"first NaN/inf: iteration {marked:,}",
                  anchor="end" if px(marked) > WIDTH / 2 else "start")
    caption = f"{plural(len(points), 'point')}" + (", log scale" if log else "") + (
        f", {len(bad):,} nan/inf (×)" if bad else "")
    return NS(title=title, width=WIDTH, height=HEIGHT, left=LEFT, right=WIDTH - RIGHT, top=TOP,
              bottom=HEIGHT - BOTTOM, lines=lines, dots=dots, bad=bad, x_ticks=x_ticks,
              y_ticks=y_ticks, mark=mark, caption=caption)
