"""datascan: find the records that poison a training run."""
from __future__ import annotations

__version__ = "0.1.0"

from .config import ScanConfig  # noqa: E402
from .errors import DatascanError  # noqa: E402
from .model import Finding, Report, Severity, SourceInfo  # noqa: E402
from .scan import scan  # noqa: E402
from .forward.engine import check, check_net  # noqa: E402
from .forward.api import ForwardOptions  # noqa: E402
from .clean import CleanResult, clean  # noqa: E402

__all__ = ["scan", "check", "check_net", "clean", "CleanResult", "ForwardOptions", "Report", "Finding", "Severity", "SourceInfo", "ScanConfig", "DatascanError",
           "__version__"]
