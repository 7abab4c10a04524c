"""Measure, then judge: one run's facts, accumulated from its events in one pass with bounded
memory. The rules (rules/) judge the finished facts; thresholds live with the rules.

The train debug_info lines of a display iteration come *before* its `Iteration N, loss`
line, so a debug value's iteration is the next Loss's (``_Pending``); `[Update]` lines
come after, and belong to the last one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .events import (Checked, Clipping, Debug, DebugRun, Done, ErrorLine, Event, Fatal,
                     LearningRate, Loss, Output, ParamNorms, ProtoText, Resumed, Solving, TestStart)
from .series import Downsampled
from .spots import (BIG, GROWTH, GROWTH_FLOOR, MAX_HEADS, MAX_KEYS, MAX_NOTES, Head, Rise, Spot,
                    Track, clamp_of, finite)

__all__ = ["BIG", "GROWTH", "RunFacts", "Spot", "clamp_of", "finite"]

@dataclass
class RunFacts:
    start_line: int
    solver_text: str | None = None
    net_texts: list[tuple[int, str]] = field(default_factory=list)
    solving_line: int | None = None
    net_name: str | None = None
    resumed: str | None = None
    done: bool = False
    stopped_early: bool = False
    cut: bool = False                        # the stream ended early (a truncated gzip)
    fatal: list[Fatal] = field(default_factory=list)
    errors: list[ErrorLine] = field(default_factory=list)
    first_iteration: int | None = None
    last_iteration: int | None = None
    losses: int = 0
    headline: Downsampled = field(default_factory=Downsampled)
    headline_first: Spot | None = None
    headline_nonfinite: Spot | None = None
    previous_display: int | None = None      # the display before the first non-finite headline
    lr: Downsampled = field(default_factory=Downsampled)
    lr_first: Spot | None = None
    lr_bad: Spot | None = None               # nan, inf or negative
    lr_nonzero: int = 0
    lr_lines: int = 0
    heads: dict[str, Head] = field(default_factory=dict)
    test_heads: dict[str, Head] = field(default_factory=dict)
    tests: int = 0
    debug_lines: int = 0
    debug_nonfinite: Spot | None = None
    debug_big: Spot | None = None
    tracks: dict[tuple, Track] = field(default_factory=dict)
    norms_l2_diff: Downsampled = field(default_factory=Downsampled)
    clipped: int = 0
    checks: int = 0                          # the check layer's lines (doctor --instrument)
    check_first: Checked | None = None
    check_spot: Spot | None = None
    raw: Downsampled = field(default_factory=Downsampled)   # sum of weighted train outputs
    headline_rise: Rise = field(default_factory=lambda: Rise())
    raw_rise: Rise = field(default_factory=lambda: Rise())
    _raw_iteration: int | None = None
    _raw_line: int | None = None
    _raw_sum: float = 0.0
    quote: object = None          # () -> the log line being read (set by the engine)
    _pending: list[Spot] = field(default_factory=list)
    _loss_iteration: int | None = None
    _test_iteration: int | None = None

    # ------------------------------------------------------------------ feeding

    def feed(self, ev: Event) -> None:
        if type(ev) is Debug:
            self._debug(ev)
            return
        handler = _HANDLERS.get(type(ev))
        if handler is not None:
            handler(self, ev)

    def _iteration(self, it: int) -> None:
        if self.first_iteration is None:
            self.first_iteration = it
        if self.last_iteration is None or it > self.last_iteration:
            self.last_iteration = it

    def _proto(self, ev: ProtoText) -> None:
        if ev.kind == "solver" and self.solver_text is None:
            self.solver_text = ev.text
        elif ev.kind == "net" and len(self.net_texts) < 4:
            self.net_texts.append((ev.line, ev.text))

    def _solving(self, ev: Solving) -> None:
        self.solving_line, self.net_name = ev.line, ev.name

    def _loss(self, ev: Loss) -> None:
        self._flush_raw()
        self._iteration(ev.iteration)
        self.losses += 1
        self._loss_iteration = ev.iteration
        for spot in self._pending:
            spot.iteration = ev.iteration
        self._pending.clear()
        self.headline.add(ev.iteration, ev.value)
        spot = Spot(ev.line, ev.iteration, ev.value, phase="loss", text=self._text())
        if self.headline_first is None:
            self.headline_first = spot
        if not finite(ev.value):
            if self.headline_nonfinite is None:
                self.headline_nonfinite = spot
            return
        if self.headline_nonfinite is None:
            self.previous_display = ev.iteration
            self.headline_rise.add(spot)

    def _text(self) -> str | None:
        return self.quote() if self.quote is not None else None

    def _flush_raw(self) -> None:
        """The display's raw loss: sum of weight x value over the train loss outputs."""
        if self._raw_iteration is not None and self._raw_line is not None:
            self.raw.add(self._raw_iteration, self._raw_sum)
            if finite(self._raw_sum) and self.headline_nonfinite is None:
                self.raw_rise.add(Spot(self._raw_line, self._raw_iteration, self._raw_sum,
                                       phase="loss"))
        self._raw_iteration, self._raw_line, self._raw_sum = None, None, 0.0

    def _output(self, ev: Output) -> None:
        heads = self.heads if ev.phase == "train" else self.test_heads
        it = self._loss_iteration if ev.phase == "train" else self._test_iteration
        spot = Spot(ev.line, it, ev.value, layer=ev.name, blob=ev.name, phase="loss", kind=ev.name,
                    text=self._text())
        head = heads.get(ev.name)
        if head is None:
            if len(heads) >= MAX_HEADS:
                return
            head = heads[ev.name] = Head(ev.name, ev.weight, spot, spot)
        head.displays += 1
        head.last = spot
        if ev.phase == "train" and ev.weight:
            self._raw_iteration, self._raw_line = it, self._raw_line or ev.line
            self._raw_sum += ev.weight * ev.value
        if it is not None:
            head.values.add(it, ev.value)
        if not finite(ev.value):
            if head.first_nonfinite is None:
                head.first_nonfinite = spot
            head.trailing_clamps = 0
            return
        if clamp_of(ev.value) is not None:
            head.clamps += 1
            head.trailing_clamps += 1
            if head.first_clamp is None:
                head.first_clamp = spot
        else:
            if head.trailing_clamps:
                head.recovered_after_clamp = True
            head.trailing_clamps = 0

    def _test(self, ev: TestStart) -> None:
        self._iteration(ev.iteration)
        self._test_iteration = ev.iteration
        self.tests += 1

    def _lr(self, ev: LearningRate) -> None:
        self._iteration(ev.iteration)
        self.lr_lines += 1
        self.lr.add(ev.iteration, ev.value)
        spot = Spot(ev.line, ev.iteration, ev.value, phase="lr", text=self._text())
        if self.lr_first is None:
            self.lr_first = spot
        if (not finite(ev.value) or ev.value < 0) and self.lr_bad is None:
            self.lr_bad = spot
        if ev.value != 0:
            self.lr_nonzero += 1

    def _debug(self, ev: Debug) -> None:
        line, phase, _, _, _, _, value, test, key = ev
        if test:
            return
        self.debug_lines += 1
        track = self.tracks.get(key)
        if track is not None and 0 < value < GROWTH_FLOOR:
            track.seen += 1            # the common case, kept short: finite, small, not 0
            track.zero_streak = 0
            return
        # [Update] lines follow the lr line of their iteration; the others precede its loss line
        it = self._loss_iteration if phase == "update" else None
        if not finite(value):
            if self.debug_nonfinite is None:
                self.debug_nonfinite = self._spot(ev, it)
            return
        if track is None:
            if len(self.tracks) >= MAX_KEYS:
                return
            track = self.tracks[ev.key] = Track(abs(value), it, ev[1:6])
        if self.debug_nonfinite is not None:
            return               # what follows a NaN says nothing about its cause
        track.seen += 1
        track.zero_streak = track.zero_streak + 1 if value == 0 else 0
        magnitude = abs(value)
        if magnitude >= BIG and self.debug_big is None:
            self.debug_big = self._spot(ev, it)
        if track.first == 0 and magnitude:
            track.first = magnitude
        elif (track.grew is None and track.first and magnitude >= GROWTH_FLOOR
              and magnitude >= GROWTH * track.first):
            track.grew = self._spot(ev, it)

    def _debug_run(self, ev: DebugRun) -> None:
        """Lines that _debug would only count (finite, 0 < value < GROWTH_FLOOR), counted per
        blob; a blob not followed yet is read line by line (its first value starts it)."""
        tracks, new = self.tracks, None
        for key, count in ev.counts.items():
            track = tracks.get(key)
            if track is None:
                new = new or set()
                new.add(key)
                continue
            track.seen += count
            track.zero_streak = 0
        if new is None:
            self.debug_lines += ev.lines
            return
        self.debug_lines += ev.lines - sum(ev.counts[k] for k in new)
        for d in ev.expand(new):
            self._debug(d)

    def _spot(self, ev: Debug, it: int | None) -> Spot:
        spot = Spot(ev.line, it, ev.value, layer=ev.layer, blob=f"{ev.kind} {ev.blob} {ev.field}",
                    phase=ev.phase, kind=ev.kind, text=self._text())
        if it is None:
            self._pending.append(spot)
        return spot

    def _norms(self, ev: ParamNorms) -> None:
        it = self._loss_iteration
        self.norms_l2_diff.add(-1 if it is None else it, ev.l2_diff)

    def _fatal(self, ev: Fatal) -> None:
        if len(self.fatal) < MAX_NOTES:
            self.fatal.append(ev)

    def _error(self, ev: ErrorLine) -> None:
        if len(self.errors) < MAX_NOTES:
            self.errors.append(ev)

    def _done(self, ev: Done) -> None:
        self.done = True
        self.stopped_early = self.stopped_early or ev.early

    def _checked(self, ev: Checked) -> None:
        self.checks += 1
        if self.check_first is None:
            self.check_first = ev
            self.check_spot = Spot(ev.line, ev.iteration, float("nan"), layer=ev.layer,
                                   blob=f"top {ev.blob} {ev.field}", phase=ev.phase, kind="top",
                                   text=self._text())

    def _clip(self, ev: Clipping) -> None:
        self.clipped += 1

    def _resumed(self, ev: Resumed) -> None:
        self.resumed = ev.snapshot

    # ------------------------------------------------------------------ finishing

    def finish(self, display: int | None) -> None:
        """The run ended: debug values still waiting for their loss line belong to the
        display iteration that never printed it (a crash or a cut log)."""
        self._flush_raw()
        if self._pending:
            nxt = 0 if self._loss_iteration is None else self._loss_iteration + (display or 1)
            for spot in self._pending:
                spot.iteration = nxt
            self._pending.clear()

    @property
    def crashed(self) -> bool:
        return bool(self.fatal)

    @property
    def trained(self) -> bool:
        return self.losses > 0 or self.lr_lines > 0 or self.debug_lines > 0


_HANDLERS = {ProtoText: RunFacts._proto, Solving: RunFacts._solving, Loss: RunFacts._loss,
             Output: RunFacts._output, TestStart: RunFacts._test, LearningRate: RunFacts._lr,
             Debug: RunFacts._debug, DebugRun: RunFacts._debug_run, ParamNorms: RunFacts._norms,
             Fatal: RunFacts._fatal, ErrorLine: RunFacts._error, Done: RunFacts._done,
             Clipping: RunFacts._clip, Resumed: RunFacts._resumed, Checked: RunFacts._checked}
