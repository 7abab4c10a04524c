"""Frozen result data: findings, source descriptions and the report."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .codes import Code, Severity  # Severity lives with the codes; re-exported here


def key_text(key: bytes | None) -> str | None:
    """A record key as the report shows it: UTF-8, else ``hex:...``."""
    if key is None:
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return "hex:" + key.hex()


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    path: str
    key: str | None
    index: int | None
    message: str

    @classmethod
    def of(cls, code: Code, path: str, message: str, *, key: bytes | str | None = None,
           index: int | None = None, severity: Severity | None = None) -> Finding:
        """A finding of a code (a codes.py constant), with the code's severity unless given."""
        if isinstance(key, bytes):
            key = key_text(key)
        return cls(code.code, severity or code.severity, path, key, index, message)

    def sort_key(self) -> tuple:
        return (self.path, -1 if self.index is None else self.index, self.code, self.message)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity.value, "path": self.path,
                "key": self.key, "index": self.index, "message": self.message}


@dataclass(frozen=True)
class SourceInfo:
    path: str
    format: str
    records: int
    encoding: str
    labels: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "format": self.format,
                               "records": self.records, "encoding": self.encoding}
        if self.labels is not None:
            out["labels"] = self.labels
        return out


@dataclass(frozen=True)
class Report:
    version: str
    sources: tuple[SourceInfo, ...]
    findings: tuple[Finding, ...]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def records(self) -> int:
        return sum(s.records for s in self.sources)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.WARNING)

    @property
    def bad_records(self) -> int:
        return len({(f.path, f.index, f.key) for f in self.findings
                    if f.severity is not Severity.INFO and (f.index is not None or f.key is not None)})

    def by_code(self) -> dict[str, int]:
        return dict(sorted(Counter(f.code for f in self.findings).items()))

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "datascan": self.version,
            "sources": [s.to_dict() for s in self.sources],
            "findings": [f.to_dict() for f in self.findings],
            "summary": {"records": self.records, "bad_records": self.bad_records,
                        "errors": self.errors, "warnings": self.warnings,
                        "by_code": self.by_code(), "seconds": round(self.seconds, 3)},
        }
        out.update(self.extra)
        return out
