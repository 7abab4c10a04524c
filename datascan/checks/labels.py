"""Label checks: range against --num-classes, or sign when the class count is unknown."""
from __future__ import annotations

from dataclasses import dataclass

from ..codes import LABEL_NEGATIVE, LABEL_OUTSIDE

@dataclass(frozen=True)
class LabelRange:
    num_classes: int | None
    ignore_label: int | None

    def problem(self, label: int) -> tuple[str, str] | None:
        if self.ignore_label is not None and label == self.ignore_label:
            return None
        if self.num_classes is None:
            if label < 0:
                return (LABEL_NEGATIVE, f"label {label} is negative")
            return None
        if not 0 <= label < self.num_classes:
            return (LABEL_OUTSIDE, f"label {label} outside [0, {self.num_classes})")
        return None
