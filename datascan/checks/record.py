"""Per-record checks for keyed datasets (LMDB, LevelDB): decode once, check many."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..config import MAX_BLOB_COUNT, MAX_DIM, ScanConfig
from ..codes import BAD_DIMS, DATA_LENGTH, EMPTY, GRAY_FILL, NOT_DATUM
from ..decode import datum as dm

from ..model import Finding, key_text
from ..sources.interface import Shard
from .summary import ShardSummary
from .labels import LabelRange
from .rawbatch import RawBatches
from .arrays import value_problems
from .image import SUFFIX_FORMAT, ImageDecode
from .values import gray_fill_rows, is_gray_filled


@dataclass
class RecordChecker:
    path: str
    encoding: str
    config: ScanConfig
    summary: ShardSummary

    def __post_init__(self) -> None:
        self.labels = LabelRange(self.config.num_classes, self.config.ignore_label)
        self.images = ImageDecode()
        self.batches = RawBatches(self.summary, self.labels.problem) \
            if self.encoding == dm.DATUM else None

    @classmethod
    def for_shard(cls, shard: Shard, config: ScanConfig, summary: ShardSummary) -> RecordChecker:
        return cls(shard.shown, shard.encoding, config, summary)

    def check_batch(self, batch: list[tuple[bytes, bytes]], base: int) -> list[Finding]:
        keys, values = zip(*batch)
        return self.check_many(base, keys, values)

    def check_many(self, base: int, keys: Sequence[bytes], values: Sequence[bytes]) -> list[Finding]:
        """check() for consecutive records base, base + 1, ...; the same findings and
        summary, with raw Datums proven clean a batch at a time (rawbatch.py)."""
        if self.batches is None or self.batches.useless or len(values) < 2:
            return [f for i, (k, v) in enumerate(zip(keys, values)) for f in self.check(base + i, k, v)]
        fast, shapes = self.batches.prove(values)
        table = self.summary.shapes
        if fast.all() and len(shapes) == 1 and (group := table.get(next(iter(shapes)))) is not None:
            group.add_run(base, keys)      # the usual batch: one known shape, all clean
            return []
        findings: list[Finding] = []
        layouts = self.batches.layouts
        for i, (key, value) in enumerate(zip(keys, values)):   # in order: refs as one by one
            if fast[i]:
                self.summary.add_shape(table, layouts[len(value)].shape, base + i, key)
            else:
                findings.extend(self.check(base + i, key, value))
        return findings

    def check(self, index: int, key: bytes, value: bytes) -> list[Finding]:
        problems: list[tuple[str, str]] = []
        ktext = key_text(key)
        if not value:
            problems.append((EMPTY, "empty value (0 bytes)"))
        elif self.encoding in (dm.DATUM, dm.ANNOTATED):
            self._check_datum(index, ktext, value, problems)
        elif self.encoding in (dm.IMAGE, dm.IMAGE_TEXT):
            if dm.looks_like_image(value):
                self._check_image(index, ktext, value, problems)
            elif dm.classify(value) != dm.TEXT or _image_key(ktext):
                what = "text" if dm.classify(value) == dm.TEXT else f"{len(value)} bytes"
                problems.append(self.images.not_an_image(what))
            # else: text beside the images (crnn label-N, num-samples): metadata, not a record fault
        return [Finding.of(code, self.path, msg, key=ktext, index=index) for code, msg in problems]

    def _check_datum(self, index: int, key: str | None, value: bytes, problems: list) -> None:
        try:
            s = dm.parse(value, self.encoding)
        except dm.DatumError as e:
            what = "an image file" if dm.looks_like_image(value) else f"{len(value)} bytes"
            problems.append((NOT_DATUM, f"not a valid {self.encoding} ({what}): {e}"))
            return
        if s.encoded or (s.data and not s.channels and dm.looks_like_image(s.data)):
            self._check_image(index, key, s.data, problems)
        else:
            self._check_raw(index, key, s, problems)
        if s.label is not None and not (s.annotated and s.label == -1):
            # SSD's convert_annoset stores -1 in the inner datum: not a class.
            self.summary.labels.add(s.label)
            if (p := self.labels.problem(s.label)) is not None:
                problems.append(p)
        elif s.label is None and not s.annotated:
            problems.append(self.labels.missing())
        for group in s.group_labels:
            if (p := self.labels.problem(group)) is not None:
                problems.append((p[0], "box " + p[1]))

    def _check_raw(self, index: int, key: str | None, s: dm.Sample, problems: list) -> None:
        c, h, w = s.channels, s.height, s.width
        if not s.data and s.float_data is None:
            problems.append((EMPTY, f"Datum {c}x{h}x{w} has no data and no float_data"))
            return
        if min(c, h, w) <= 0 or max(h, w) > MAX_DIM or c * h * w > MAX_BLOB_COUNT:
            problems.append((BAD_DIMS, f"invalid dims channels={c} height={h} width={w}"))
            return
        expected = c * h * w
        self.summary.add_shape(self.summary.shapes, (c, h, w), index, key)
        if s.data and len(s.data) != expected:
            problems.append((DATA_LENGTH, f"data holds {len(s.data)} bytes, {c}x{h}x{w} needs {expected}"))
        elif s.data and h >= 8:
            rows = gray_fill_rows(s.data, c, h, w)
            if is_gray_filled(rows, h):
                problems.append((GRAY_FILL, f"bottom {rows} of {h} rows are exactly 128 in every channel"))
        if s.float_data is not None:
            if s.float_data.size != expected:
                problems.append((DATA_LENGTH, f"float_data holds {s.float_data.size} values, "
                                          f"{c}x{h}x{w} needs {expected}"))
            problems.extend((code, msg) for _, code, msg in
                            value_problems(s.float_data.reshape(1, -1), "float_data"))

    def _check_image(self, index: int, key: str | None, data: bytes, problems: list) -> None:
        from ..decode.image import inspect_image   # decoders load when a set holds images
        img = inspect_image(data, max_pixels=self.config.max_image_pixels)
        problems.extend(self.images.judge(img))
        if (p := self.images.misnamed(img, key)) is not None:
            problems.append(p)
        self.summary.encoded += 1
        if img.channels and img.height and self.encoding != dm.ANNOTATED:
            # SSD's AnnotatedData resizes every image (resize_param): sizes may differ freely.
            self.summary.add_shape(self.summary.sizes, (img.height, img.width), index, key)
            self.summary.add_shape(self.summary.channels, img.channels, index, key)


_IMAGE_SUFFIXES = tuple(SUFFIX_FORMAT)


def _image_key(key: str | None) -> bool:
    k = (key or "").lower()
    return k.startswith("image") or k.endswith(_IMAGE_SUFFIXES)
