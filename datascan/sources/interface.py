"""The contract every storage format implements, written once.

A format module (sources/lmdb.py, sources/leveldb.py, sources/hdf5.py) provides:

    NAME: str
    def sniff(path: Path) -> bool
        Cheap look at layout and magic bytes; never opens the dataset for real.
    def plan(path: Path, config: ScanConfig, n_shards: int) -> Plan
        Opens the dataset read-only, reports storage problems found up front
        (DS102 truncation, DS103 missing list entries, ...) and splits it into shards.
        Raises SourceOpenError (exit 2) only when nothing at all can be read.
    def run(shard: Shard, config: ScanConfig) -> ShardResult
        Opens the source itself (it may be in another process or on another machine),
        reads the shard's range and returns findings plus a small summary.

Shards are descriptions, never record bytes. Findings from ``run`` carry a
*shard-local* index (0 = first record of the shard); scan.merge adds the shard's
offset: ``first_index`` when the format knows it up front (HDF5 rows), else the
sum of the record counts of the earlier shards of the same source (LMDB, LevelDB).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Finding
from .summary import ShardSummary


@dataclass(frozen=True)
class Shard:
    source: str                 # the dataset path as the user named it
    format: str
    shard_id: int               # position among the source's shards (merge order)
    start: bytes | int | None = None   # first key (inclusive) or first row
    stop: bytes | int | None = None    # key or row where the next shard starts (exclusive)
    file: str | None = None     # the file to read when it differs from `source` (HDF5 lists)
    first_index: int | None = None     # absolute index of the shard's first record, if known
    encoding: str = "unknown"   # decided once at plan time from a sample (kv formats)


@dataclass
class ShardResult:
    shard: Shard
    records: int
    findings: list[Finding]
    summary: ShardSummary = field(default_factory=ShardSummary)
    bytes_read: int = 0


@dataclass(frozen=True)
class Plan:
    source: str
    format: str
    shards: tuple[Shard, ...]
    findings: tuple[Finding, ...] = ()   # storage findings found while planning
    encoding: str = "unknown"
    records: int | None = None           # known up front (LMDB entries, HDF5 rows), else None
