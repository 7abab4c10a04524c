"""The doctor's rules, in report order (DIAGNOSES.md: crash > first non-finite > clamp >
divergence > no learning > notes). Each is a check declaring its codes (checks/registry.py
lists them)."""
from __future__ import annotations

from .crash import Crash
from .debug import BlowUp, DeadUnits, ZeroDiffs
from .loss import BatchNormTest0, LossClamp, Stuck, Unstable
from .lr import LearningRate, NothingTrained
from .nonfinite import CheckLayerFound, FirstNonFiniteRule, HeadlinePoisoned
from .runs import SeveralRuns

RULES = (Crash, FirstNonFiniteRule, CheckLayerFound, LearningRate, NothingTrained, LossClamp,
         BlowUp, Unstable, Stuck, ZeroDiffs, DeadUnits, HeadlinePoisoned, BatchNormTest0,
         SeveralRuns)
