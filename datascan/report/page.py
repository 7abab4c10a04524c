"""What the check report's page shows, built from the typed report: plain data for
templates/check.html.j2, bounded whatever the report holds (ROWS_PER_CODE rows of each code,
ROWS_TOTAL in all, pictures as records.py bounds them; the rest summarised and said so)."""
from __future__ import annotations

import base64
import time
from collections import Counter
from types import SimpleNamespace as NS

from ..codes import lookup
from ..findings import Records
from ..model import Finding, LabelStats, Options, Report, Severity
from .records import (PER_CODE, TOTAL, Chosen, Pictures, choose, pictures as read_pictures,
                      record_id)
from .text import Bounded
from .thumbs import THUMB, Picture
from .view import View
from .words import key_shown, net_layer_line, num_classes_of, plural

ROWS_PER_CODE, ROWS_TOTAL = 200, 5_000
PICTURE_BYTES = 5_000_000    # thumbnails' share of the page at most (base64 included)
MESSAGES = 12             # most frequent messages listed per code
BARS = 120                # histogram bars at most (labels are binned past it)


def verdict(report: Report, fail_on: str) -> NS:
    t = report.tally
    failing = t.errors + (t.warnings if Severity(fail_on) is Severity.WARNING else 0)
    if failing:
        return NS(passed=False, text=f"FAIL: {plural(failing, 'finding')} at --fail-on {fail_on} "
                                     "(exit 1)")
    return NS(passed=True, text=f"PASS at --fail-on {fail_on} (exit 0)")


class _Code:
    """What the page shows of one code's findings, gathered in one pass (bounded)."""

    def __init__(self):
        self.count = 0
        self.worst: Severity | None = None
        self.first: list[Finding] = []       # the first ROWS_PER_CODE, for the table
        self.drawn: list[Finding] = []       # those of records with a picture, in order
        self.messages = Bounded()


def _gather(report: Report, pics: Pictures) -> tuple[dict[str, _Code], list]:
    """One pass: per code what _group shows, per source its counts (bad records, findings)."""
    codes: dict[str, _Code] = {}
    in_order = not isinstance(report.findings, (tuple, list))
    per_source = [(s, Records(in_order), Counter()) for s in report.sources]
    for f in report.findings:
        c = codes.get(f.code) or codes.setdefault(f.code, _Code())
        c.count += 1
        if c.worst is None or f.severity.rank > c.worst.rank:
            c.worst = f.severity
        if len(c.first) < ROWS_PER_CODE:
            c.first.append(f)
        if record_id(f) in pics.by_record:
            c.drawn.append(f)
        c.messages.count(f.message)
        for s, bad, n in per_source:
            if f.path == s.path or f.path.startswith(s.path + "/"):
                bad.add(f)
                n["findings"] += 1
    return codes, per_source


def check_page(report: Report, view: View) -> NS:
    pics, chosen = _pictures(report, view)
    codes, per_source = _gather(report, pics)
    first_ds500 = codes["DS500"].first[:1] if "DS500" in codes else []
    num_classes = view.num_classes or num_classes_of(f.message for f in first_ds500)
    info = report.tally.info
    paths = ", ".join(s.path for s in report.sources[:3]) + \
        (f" and {len(report.sources) - 3} more" if len(report.sources) > 3 else "")
    meta = [("datascan", report.version), ("scan time", f"{report.seconds:.1f} s"),
            ("rendered", time.strftime("%Y-%m-%d %H:%M"))]
    meta.append(("options", " ".join(_scan_options(view.options)) or "(none)") if view.options_known else
                ("options", _recorded(report.options)))
    budget = [ROWS_TOTAL, PICTURE_BYTES]
    return NS(
        title=paths or "report", verdict=verdict(report, view.fail_on), meta=meta,
        cards=_samples_card(report) + [(f"{report.records:,}", "records", ""),
               (f"{report.bad_records:,}", "bad records", "err" if report.bad_records else ""),
               (f"{report.errors:,}", "error findings", "err" if report.errors else ""),
               (f"{report.warnings:,}", "warning findings", "warn" if report.warnings else ""),
               (f"{info:,}", "info findings", "info" if info else "")],
        clean_text=f"{plural(report.records, 'record')} in "
                   f"{plural(len(report.sources), 'source')}: nothing to fix.",
        sources=[_source(s, bad.count, n["findings"], num_classes) for s, bad, n in per_source],
        notes=pics.problems and [f"Pictures of records are not shown for {p}"
                                 for p in pics.problems] or [],
        groups=[_group(code, c, pics, chosen, budget) for code, c in sorted(codes.items())],
        net=report.net and NS(path=report.net.path, layers=[
            NS(line=net_layer_line(x), notes=list(x.notes)) for x in report.net.layers]),
    )


def _samples_card(report: Report) -> list[tuple[str, str, str]]:
    """Text-recognition sets count samples (an image-N and a label-N key each), not records."""
    samples = [s.samples for s in report.sources if s.samples is not None]
    if not samples:
        return []
    what = "samples" if len(samples) == len(report.sources) else "samples (text-recognition sets)"
    return [(f"{sum(samples):,}", what, "")]


def _scan_options(argv) -> list[str]:
    """The options that decided the findings, without those that only say where the report
    goes (--format, --output, --quiet)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--format", "--output", "-o"):
            skip = True
        elif a not in ("--quiet", "-q") and not a.startswith(("--format=", "--output=")):
            out.append(a)
    return out


def _recorded(o: Options | None) -> str:
    """A re-rendered JSON report's options, as the options that give them."""
    if o is None:
        return "not recorded in the JSON report"
    out = [f"{flag} {value}" for flag, value in (
        ("--num-classes", o.num_classes), ("--ignore-label", o.ignore_label),
        ("--source-format", o.source_format), ("--root", o.root and repr(o.root)),
        ("--label-map", o.label_map), ("--net", o.net), ("--phase", o.phase),
        ("--select", ",".join(o.select)), ("--ignore", ",".join(o.ignore))) if value]
    out += [f"--label-dataset {d}" for d in o.label_datasets if o.label_datasets != ("label",)
            and not o.net]
    settings = dict(o.transform or ())
    if settings.get("from") == "options":
        out += [f"--crop-size {settings['crop_size']}"] * bool(settings.get("crop_size"))
        out += [f"--{k.replace('_', '-')}" for k in ("force_color", "force_gray") if settings.get(k)]
    if o.forward is not None:
        out.append("--forward")
    return " ".join(out) or "(none)"


def _pictures(report: Report, view: View):
    if not view.pictures:
        return Pictures({}, ("this report (pictures were not asked for)",)), \
            Chosen(())
    chosen = choose(report.findings)
    return read_pictures(report, chosen), chosen


def _group(code: str, c: _Code, pics, chosen, budget: list[int]) -> NS:
    row = lookup(code)
    n = min(c.count, ROWS_PER_CODE, budget[0])
    budget[0] -= n
    rows = [NS(path=f.path, key_shown=key_shown(f.key), index=f.index, message=f.message)
            for f in c.first[:n]]
    more = "" if n == c.count else (
        f"and {c.count - n:,} more {code} findings not listed here (the page lists at most "
        f"{ROWS_PER_CODE} per code and {ROWS_TOTAL:,} in all; --format json lists every one)")
    messages = c.messages
    top = messages.most_common(MESSAGES) if messages.full or len(messages) < c.count else []
    distinct = f"more than {len(messages):,}" if messages.full else f"{len(messages):,}"
    thumbs, undrawn = [], {}
    for f in c.drawn:
        rid = record_id(f)
        if rid not in undrawn:
            t = _thumb(f, pics.by_record[rid], budget)
            undrawn[rid] = "" if t.src else t.caption if pics.by_record[rid].text \
                else f"no picture: {t.caption}"
            if t.src:
                thumbs.append(t)
    for r, f in zip(rows, c.first):
        r.undrawn = undrawn.get(record_id(f), "")
    left = chosen.left_out.get(code, 0)
    return NS(code=code, severity=c.worst.value, title=row.title, hint=row.hint,
              count_text=plural(c.count, "finding"), rows=rows, rows_more=more,
              thumbs=thumbs, messages=top,
              messages_title=f"{distinct} distinct messages; the most frequent",
              thumbs_more=f"and {plural(left, 'more record')} of {code} not drawn (pictures are "
                          f"bounded: {PER_CODE} per code, {TOTAL} in all)"
              if left else "")


def _thumb(f: Finding, pic: Picture, budget: list[int]) -> NS:
    t = NS(key=key_shown(f.key) if f.key is not None else f.path.rsplit("/", 1)[-1], index=f.index,
           caption=pic.caption, src=None, outline=None, mime=None, shown_w=0, shown_h=0)
    made = pic.thumbnail()
    if made is None:
        return t
    data, mime, w, h = made
    if len(data) * 4 // 3 > budget[1]:
        t.caption = f"not drawn: the page's pictures reached {PICTURE_BYTES // 1_000_000} MB"
        return t
    budget[1] -= len(data) * 4 // 3
    scale = min(THUMB / w, THUMB / h)
    t.shown_w, t.shown_h = max(1, round(w * scale)), max(1, round(h * scale))
    t.src, t.mime = f"data:{mime};base64,{base64.b64encode(data).decode()}", mime
    if pic.outline is not None and pic.pixels is not None:
        rows = pic.pixels.shape[0]
        first, last = pic.outline
        t.outline = (round(first / rows * t.shown_h), max(2, round((last - first + 1) / rows
                                                                   * t.shown_h) - 1))
    return t


def _source(s, bad: int, found: int, num_classes: int | None) -> NS:
    labels = ""
    if s.labels is not None:
        distinct = "many" if s.labels.distinct is None else f"{s.labels.distinct:,}"
        labels = f"{s.labels.min}..{s.labels.max} ({distinct} distinct)"
    records = f"{s.records:,}" if s.samples is None else \
        f"{s.records:,} keys: {plural(s.samples, 'sample')}"    # text-recognition layout
    return NS(path=s.path, format=s.format, records=records, encoding=s.encoding,
              labels=labels, bad=f"{bad:,}", findings=f"{found:,}",
              histogram=_histogram(s.labels, num_classes) if s.labels else None,
              shapes=[NS(title=t.what, column=t.what.split(" (")[0],
                         rows=[(k, f"{n:,}") for k, n in t.counts] +
                              ([("other shapes", f"{t.other:,}")] if t.other else []))
                      for t in s.shapes])


def _histogram(labels: LabelStats, num_classes: int | None) -> NS | None:
    if not labels.histogram:
        return None
    width, height = 720, 120
    items = sorted(labels.histogram.items())
    if len(items) > BARS:                       # bin the labels: BARS ranges of equal width
        lo, hi = items[0][0], items[-1][0]
        step = -(-(hi - lo + 1) // BARS)
        binned: Counter = Counter()
        for label, n in items:
            binned[lo + (label - lo) // step * step] += n
        items, span = sorted(binned.items()), step
    else:
        span = 1
    top = max(n for _, n in items)
    w = min(width / len(items), 36)

    def bad(label: int) -> bool:
        last = label + span - 1
        return label < 0 or (num_classes is not None and last >= num_classes)

    bars = []
    for i, (label, n) in enumerate(items):
        h = max(1.0, n / top * (height - 4))
        name = str(label) if span == 1 else f"{label}..{label + span - 1}"
        bars.append(NS(x=f"{i * w + 0.5:.1f}", y=f"{height - h:.1f}", w=f"{max(w - 1, 0.5):.1f}",
                       h=f"{h:.1f}", bad=bad(label),
                       title=f"label {name}: {plural(n, 'record')}" +
                             (" (out of range)" if bad(label) else "")))
    every = max(1, len(items) // 12)
    ticks = [NS(x=f"{(i + 0.5) * w:.1f}", text=str(label)) for i, (label, _) in enumerate(items)
             if i % every == 0]
    outside = sum(n for label, n in items if bad(label))
    caption = f"labels {labels.min}..{labels.max}, {plural(len(labels.histogram), 'distinct label')}"
    if num_classes is not None:
        caption += f"; {plural(outside, 'record')} outside [0, {num_classes}) in red"
    return NS(width=width, height=height, bars=bars, ticks=ticks, caption=caption)
