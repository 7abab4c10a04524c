"""Checks on HDF5 row blocks: each block is a column's rows as an array (sources/hdf5.py
reads them); this runs the checks that read rows (values.py, labels.py) on each block and
turns their problems into findings."""
from __future__ import annotations

from ..config import INFO_CAP, ScanConfig
from ..codes import FLOAT16
from ..model import Finding
from ..sources.interface import RowBlock, Shard
from .content import SPILL_RECORDS, entries, row_digests, row_table
from .arrays import as_rows, integer_histogram
from .labels import LabelRange
from .values import Values
from .summary import ShardSummary


class RowChecker:
    """Findings for one shard's row blocks (indexes shard-local). The label histogram is
    kept for the first label column of one value per row."""

    @classmethod
    def for_shard(cls, shard: Shard, config: ScanConfig, summary: ShardSummary) -> RowChecker:
        return cls(shard, config, summary)

    def __init__(self, shard: Shard, config: ScanConfig, summary: ShardSummary):
        self.shown, self.config, self.summary = shard.shown, config, summary
        self.start = int(shard.start or 0)
        self.counted: str | None = None
        self.info_rows: dict[str, int] = {}
        self.values, self.labels = Values(), LabelRange(config.num_classes, config.ignore_label)
        stop = shard.stop if shard.stop is not None else self.start
        summary.contents.where = config.spill_dir
        self.hashes, self.row_labels = row_table(max(0, int(stop) - self.start), config.spill_dir)
        self.label_column: str | None = None    # the label compared between duplicates

    def check_batch(self, block: RowBlock, base: int) -> list[Finding]:
        rows, what = as_rows(block.values), f"'{block.column}'"
        self._hash(block, rows)
        problems = self.values.find(rows, what)
        if block.label:
            problems += self.labels.find(rows, what)
            if self.counted is None and rows.shape[1] == 1:
                self.counted = block.column
        out = []
        for r, code, message in problems:
            if code is FLOAT16:     # info only: a float set in raw units would list every row
                # Listing the first INFO_CAP per column and shard keeps the first INFO_CAP
                # of the file whatever the split; scan's merge cuts to those and counts the rest.
                seen = self.info_rows[block.column] = self.info_rows.get(block.column, 0) + 1
                if seen > INFO_CAP:
                    self.summary.capped[self.shown, code.code] += 1
                    continue
            out.append(Finding.of(code, self.shown, message, index=block.start + r - self.start))
        if block.column == self.counted:
            self.summary.labels.update(integer_histogram(rows))
        return out

    def _hash(self, block: RowBlock, rows) -> None:
        """A row's content is the sum of its data columns' hashes; its label the first
        one-value label column's."""
        a, b = block.start - self.start, block.stop - self.start
        if b > len(self.hashes):
            return
        if not block.label:
            self.hashes[a:b] += row_digests(block.column, rows)
        elif self.label_column in (None, block.column) and rows.shape[1] == 1:
            self.label_column = block.column
            self.row_labels[a:b] = rows[:, 0]

    def finish(self) -> None:
        """The shard's rows into the summary's content log."""
        log, n = self.summary.contents, len(self.hashes)
        for a in range(0, n, SPILL_RECORDS):
            b = min(n, a + SPILL_RECORDS)
            log.add_many(entries(self.hashes[a:b], self.row_labels[a:b], range(a, b)),
                         [None] * (b - a))
        self.hashes = self.row_labels = ()    # a row table in a file is unmapped with them
