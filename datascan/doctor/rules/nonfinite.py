"""The first non-finite value of the run (R1), and the headline it poisons (R2)."""
from __future__ import annotations

from ...codes import RUN_CHECKED, RUN_HEADLINE, RUN_NONFINITE
from ..case import Case
from ..facts import Spot, finite
from ..report import DoctorFinding, FirstNonFinite
from .base import Rule, g, it_text


def first_spot(case: Case) -> Spot | None:
    """The earliest (in log order) non-finite value: a debug_info blob, a train output, the
    headline loss, or the lr."""
    f = case.facts
    heads = [h.first_nonfinite for h in f.heads.values() if h.first_nonfinite is not None]
    candidates = [s for s in (f.debug_nonfinite, f.headline_nonfinite, f.check_spot, *heads)
                  if s is not None]
    if f.lr_bad is not None and not finite(f.lr_bad.value):
        candidates.append(f.lr_bad)
    if not candidates:
        return None
    first = min(candidates, key=lambda s: s.line)
    if first.phase == "loss" and first.kind is None and heads:
        # the headline comes before its outputs in the log: name the head, on the same display
        same = [h for h in heads if h.iteration == first.iteration]
        if same:
            return min(same, key=lambda s: s.line)
    return first


def first_nonfinite(case: Case) -> FirstNonFinite | None:
    spot = first_spot(case)
    if spot is None:
        return None
    layer = spot.layer
    if spot.phase == "loss" and layer and case.view is not None:
        layer = case.view.producer.get(layer, layer)      # the output blob's layer
    since = case.facts.previous_display if spot.phase in ("loss", "lr") or \
        case.facts.debug_nonfinite is None else None
    return FirstNonFinite(spot.iteration, spot.phase or "loss", layer, spot.blob, spot.line,
                          since if since is not None and since != spot.iteration else None)


def meaning(case: Case, spot: Spot) -> tuple[str, str]:
    """What the place of the first non-finite value means, and what to do."""
    view = case.view
    if spot.phase == "lr":
        return ("the learning-rate policy computes it",
                "check lr_policy, max_iter, power, gamma (DS901)")
    if spot.phase == "loss":
        return ("without debug_info the layer cannot be named",
                "set `debug_info: true` and `display: 1` and rerun up to this iteration; "
                "the batch read then is the first suspect (datascan check --forward)")
    if spot.kind == "input" or (spot.phase == "forward" and spot.kind == "top" and (
            (view is not None and view.is_data(spot.layer)) or
            (view is None and spot.layer in ("data", "input")))):
        return ("faulty input: the batch the data layer read holds a NaN/inf",
                "datascan check the source (DS300), or datascan doctor --data to name the record")
    if spot.phase == "forward" and spot.kind == "param":
        return ("the weights were already destroyed by an earlier update",
                "look at the display before it and at the lr; resuming? the snapshot holds NaN")
    if spot.phase == "forward":
        kind = view.type_of(spot.layer) if view is not None else None
        if kind == "Pooling":
            return ("the layer's own arithmetic with finite inputs: an AVE pooling window of "
                    "size 0 (0/0)", "make stride <= kernel_size or add pad (DS900)")
        if kind is not None and "Loss" in kind:
            return ("the loss with finite inputs: the loss or its labels",
                    "check the labels' range (datascan check --num-classes) and the loss's "
                    "normalization")
        return ("the layer's own arithmetic with finite inputs (division by 0, log or sqrt of "
                "a negative)", "check this layer's parameters")
    if spot.phase == "backward" and spot.kind == "bottom" and view is not None and \
            "Loss" in (view.type_of(spot.layer) or ""):
        return ("the loss's gradient: the loss or its labels",
                "check the labels' range (datascan check --num-classes)")
    return ("gradient blow-up: a gradient overflowed in the backward pass",
            "lower base_lr by 10x, set clip_gradients, or lower this head's loss_weight")


class FirstNonFiniteRule(Rule):
    """The first NaN/inf of the run: with debug_info the first `[Forward]`/`[Backward]` line
    (train net) that prints one, without it the first display whose output or loss is one;
    the lr when the policy computes it. Where it is says why."""
    codes = (RUN_NONFINITE,)

    def judge(self, case: Case) -> list[DoctorFinding]:
        spot = first_spot(case)
        if spot is None:
            return []
        where, fix = meaning(case, spot)
        fn = first_nonfinite(case)
        if spot.phase == "lr":
            what = f"lr = {g(spot.value)}"
        elif spot.phase == "loss":
            what = f"output {spot.blob} = {g(spot.value)}" if spot.kind else \
                f"loss = {g(spot.value)}"
        else:
            what = f"layer {spot.layer}'s {spot.phase} {spot.blob} = {g(spot.value)}"
        window = f" (between iterations {it_text(fn.since + 1)} and {it_text(fn.iteration)})" \
            if fn.since is not None else ""
        msg = f"first non-finite value at iteration {it_text(spot.iteration)}{window}: " \
              f"{what} -- {where}"
        return [DoctorFinding.of(RUN_NONFINITE, msg, iteration=spot.iteration, layer=fn.layer,
                                 line=spot.line, fix=fix, evidence=spot.text)]


class HeadlinePoisoned(Rule):
    """`Iteration N, loss = nan` while a `Train net output` of the same display is finite:
    the headline is a running mean that one nan keeps nan (R2)."""
    codes = (RUN_HEADLINE,)

    def judge(self, case: Case) -> list[DoctorFinding]:
        f = case.facts
        bad = f.headline_nonfinite
        if bad is None:
            return []
        finite_now = [h for h in f.heads.values() if h.weight and finite(h.last.value)
                      and h.last.iteration is not None and h.last.iteration > bad.iteration]
        if not finite_now:
            return []
        h = finite_now[0]
        msg = (f"the headline loss is nan from iteration {it_text(bad.iteration)} on, but "
               f"{h.name} = {g(h.last.value)} at iteration {it_text(h.last.iteration)}: the "
               "headline averages over average_loss iterations and stays nan")
        return [DoctorFinding.of(RUN_HEADLINE, msg, iteration=bad.iteration, line=bad.line,
                                 evidence=bad.text)]


class CheckLayerFound(Rule):
    """The check layer `datascan doctor --instrument` puts after each layer printed a
    non-finite blob: the first one names the layer, the pass and the iteration."""
    codes = (RUN_CHECKED,)

    def judge(self, case: Case) -> list[DoctorFinding]:
        f = case.facts
        c = f.check_first
        if c is None:
            return []
        what = "its output" if c.phase == "forward" else "the gradient reaching it"
        more = f" ({f.checks - 1} more check line(s) after it)" if f.checks > 1 else ""
        msg = (f"the check layer after {c.layer} found {what} non-finite at iteration "
               f"{it_text(c.iteration)}: {c.phase} top {c.blob} {c.field}, fraction "
               f"{g(c.fraction)} ({c.nan:,} nan, {c.inf:,} inf of {c.count:,}){more}")
        return [DoctorFinding.of(RUN_CHECKED, msg, iteration=c.iteration, layer=c.layer,
                                 line=c.line, evidence=f.check_spot.text if f.check_spot else None)]
