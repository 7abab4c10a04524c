"""SSD detection records (AnnotatedDatum): the annotation type, the boxes' classes and corners,
judged by what SSD's AnnotatedData layer and MultiBoxLoss do with them (CAFFE_FACTS §1.9).

Severities: what a release build CHECKs stops training, so it is an error (a missing type,
a label < 0 or >= num_classes, the background label). convert_annoset only LOG(WARNING)s
irregular and out-of-image boxes, but at training ProjectBBox drops a box of size 0 (inverted,
zero-area, NaN) or one that does not overlap the image: the object silently trains as
background, so those are errors too. A box that only pokes out of [0, 1] is clipped to the
image and trains on its visible part: a warning. Empty groups and images without boxes give
the loss nothing to match: warnings (deliberate negative images exist).

The inner Datum's label is -1 in every SSD record (convert_annoset stores none): record.py
leaves it alone, and the classes are the groups' labels checked here.
"""
from __future__ import annotations

import math
from collections import Counter

from ..codes import (ANNO_TYPE, BOX_BACKGROUND, BOX_CLIPPED, BOX_DEGENERATE, BOX_LABEL,
                     BOX_NONFINITE, BOX_OUTSIDE, GROUP_EMPTY, NO_BOXES, Code)
from ..config import BACKGROUND_LABEL, BOXES_LISTED, LabelMap
from ..decode.datum import Box, BoxGroup, Sample
from ..structs import dataclass
from .base import KEYED, Check, Problem

BBOX = 0      # AnnotatedDatum.AnnotationType: the only value SSD defines


@dataclass(frozen=True)
class Boxes(Check):
    """An AnnotatedDatum SSD can train on: type BBOX (DS520), box labels inside the classes
    (DS521) and not the background (DS522), finite (DS523), upright non-empty (DS524) boxes
    inside the image (DS525 poking out, DS526 outside), groups with boxes (DS527) and at
    least one box (DS528)."""
    codes = (ANNO_TYPE, BOX_LABEL, BOX_BACKGROUND, BOX_NONFINITE, BOX_DEGENERATE, BOX_CLIPPED,
             BOX_OUTSIDE, GROUP_EMPTY, NO_BOXES)
    reads = (KEYED,)

    num_classes: int | None = None
    label_map: LabelMap | None = None
    background: int = BACKGROUND_LABEL

    def problems(self, s: Sample) -> list[Problem]:
        """Every problem of one parsed AnnotatedDatum, boxes named by group and annotation index."""
        out: list[Problem] = []
        if s.anno_type is None:
            out.append((ANNO_TYPE, "no annotation type: SSD's AnnotatedData stops with "
                                   "\"Some datum misses AnnotationType.\""))
        elif s.anno_type != BBOX:
            out.append((ANNO_TYPE, f"annotation type {s.anno_type} is not BBOX (0): Caffe reads "
                                   "it as missing (\"Some datum misses AnnotationType.\")"))
        hits: Counter[Code] = Counter()   # bounded: a record of 10,000 boxes in pixels
        for g, group in enumerate(s.groups):
            out.extend(self._group(g, group))
            for a, box in enumerate(group.boxes):
                if (found := corners(box)) is not None:
                    hits[found[0]] += 1
                    if hits[found[0]] <= BOXES_LISTED:
                        out.append((found[0], f"group {g} box {a}: {found[1]}"))
        out.extend((code, f"{n - BOXES_LISTED} more boxes like these in this record "
                          f"(first {BOXES_LISTED} listed)")
                   for code, n in hits.items() if n > BOXES_LISTED)
        if not any(group.boxes for group in s.groups):
            out.append((NO_BOXES, "no annotation group: no box to train on" if not s.groups
                        else f"no box in its {len(s.groups)} annotation group(s)"))
        return out

    def _group(self, g: int, group: BoxGroup) -> list[Problem]:
        label = 0 if group.label is None else group.label
        named = self._named(label) + ("" if group.label is not None else
                                      " (no group_label: reads as 0)")
        n = len(group.boxes)
        if not n:
            return [(GROUP_EMPTY, f"group {g} (label {named}) has no box")]
        where = f"group {g} ({n} box{'es' if n != 1 else ''})"   # "label N" first: the text
        if label == self.background:                            # report counts the values
            return [(BOX_BACKGROUND, f"label {named} is MultiBoxLoss's background_label_id, {where} "
                                     f"(\"Found background label in the dataset.\")")]
        if (why := self.outside(label)) is not None:
            return [(BOX_LABEL, f"label {label} {why}, {where}")]
        return []

    def outside(self, label: int) -> str | None:
        """Why a box label is not a class to train, or None."""
        if label < 0:
            return "is negative (MultiBoxLoss CHECKs label >= 0)"
        if self.num_classes is not None and label >= self.num_classes:
            return f"outside [0, {self.num_classes})"
        lm = self.label_map
        if lm is not None and label not in lm.labels:
            return f"is not in the label map {lm.path} (labels {_span(lm.labels)})"
        return None

    def _named(self, label: int) -> str:
        name = self.label_map.name(label) if self.label_map is not None else None
        return f"{label} ({name})" if name else str(label)


def corners(box: Box | None) -> Problem | None:
    """One box's problem, the worst first (its code and what is wrong, with its values)."""
    if box is None:
        return (BOX_DEGENERATE, "annotation without a bbox (reads as 0,0,0,0: zero area)")
    values = f"xmin={box.xmin:.4g} ymin={box.ymin:.4g} xmax={box.xmax:.4g} ymax={box.ymax:.4g}"
    if not all(math.isfinite(v) for v in box):
        return (BOX_NONFINITE, f"non-finite coordinate, {values}")
    wrong = [f"{a} > {b}" for a, b, lo, hi in (("xmin", "xmax", box.xmin, box.xmax),
                                               ("ymin", "ymax", box.ymin, box.ymax)) if lo > hi]
    if wrong:
        return (BOX_DEGENERATE, f"inverted ({', '.join(wrong)}), {values}")
    if box.xmin == box.xmax or box.ymin == box.ymax:
        return (BOX_DEGENERATE, f"zero area, {values}")
    if box.xmin >= 1 or box.ymin >= 1 or box.xmax <= 0 or box.ymax <= 0:
        pixels = " (pixel coordinates?)" if max(box) > 1 else ""
        return (BOX_OUTSIDE, f"outside the image{pixels}, {values}")
    if min(box) < 0 or max(box) > 1:
        return (BOX_CLIPPED, f"beyond the image (clipped to [0, 1]), {values}")
    return None


def _span(labels: tuple[int, ...]) -> str:
    ordered = sorted(labels)
    if ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}..{ordered[-1]}"
    return ", ".join(map(str, ordered[:12])) + (", ..." if len(ordered) > 12 else "")
