"""datascan: find the records that poison a training run."""
from __future__ import annotations

__version__ = "0.1.0"
