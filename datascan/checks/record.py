"""Per-record checks for keyed datasets (LMDB, LevelDB): decode once, check many."""
from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

import numpy as np

from ..codes import Severity
from ..config import ScanConfig, Transform
from ..decode import datum as dm
from ..model import Finding, key_text
from ..sources.interface import Shard
from ..structs import dataclass
from .crnn import TextLabels
from .content import NO_LABEL, digests, entries, float_content, image_content, raw_content
from .keys import Keys
from .base import Problem
from .boxes import Boxes
from .datum import DatumStructure
from .image import SUFFIX_FORMAT, ImageDecode
from .labels import LabelRange
from .meansum import MeanSums, bgr_chw
from .rawbatch import RawBatches
from .registry import pixel_checks
from .summary import ShardSummary
from .textlayout import LABEL_KEY, META_KEY
from .values import Values


@dataclass
class RecordChecker:
    path: str
    encoding: str
    config: ScanConfig
    summary: ShardSummary

    def __post_init__(self) -> None:
        self.structure, self.values, self.images = DatumStructure(), Values(), ImageDecode()
        self.labels = LabelRange(self.config.num_classes, self.config.ignore_label)
        self.text = TextLabels(self.config.alphabet, self.config.max_label_length)
        self.boxes = Boxes(self.config.num_classes, self.config.label_map)
        self.pixel_checks = pixel_checks()     # the registry's, read as the shard starts
        self.batches = RawBatches.proving(self.pixel_checks, self.summary, self.labels) \
            if self.encoding == dm.DATUM else None
        self.summary.contents.where = self.config.spill_dir
        if self.config.mean:
            self.summary.mean = self.sums = MeanSums()
        else:
            self.sums = None
        self.bad_lines: set[int] = set()

    @classmethod
    def for_shard(cls, shard: Shard, config: ScanConfig, summary: ShardSummary) -> RecordChecker:
        return cls(shard.shown, shard.encoding, config, summary)

    def leave_out(self, index: int) -> None:
        """`datascan mean`: the record at ``index`` has an error finding from outside the
        record checks (an image list line's DS540/DS541): its pixels are not summed."""
        if self.sums is not None:
            self.bad_lines.add(index)

    def finish(self) -> None:
        """Nothing is left to add when the shard ends (rows.py has)."""

    def check_batch(self, batch: list[tuple[bytes, bytes]], base: int) -> list[Finding]:
        # Two maps in C: zip(*batch) steps 1024 tuple iterators in turn, twice the cost.
        return self.check_many(base, list(map(_KEY, batch)), list(map(_VALUE, batch)))

    def check_many(self, base: int, keys: Sequence[bytes], values: Sequence[bytes]) -> list[Finding]:
        """check() for consecutive records base, base + 1, ...; the same findings and
        summary, with raw Datums proven clean a batch at a time (rawbatch.py)."""
        if self.batches is None or self.batches.useless or len(values) < 2:
            return [f for i, (k, v) in enumerate(zip(keys, values)) for f in self.check(base + i, k, v)]
        fast, shapes, labels = self.batches.prove(values)
        table = self.summary.shapes
        if fast.all() and len(shapes) == 1 and (group := table.get(next(iter(shapes)))) is not None:
            group.add_run(base, keys)      # the usual batch: one known shape, all clean
            self._log_fast(base, keys, values, fast, labels)
            if self.sums is not None:
                self._sum_fast(base, keys, values, fast)
            return []
        findings: list[Finding] = []
        layouts = self.batches.layouts
        for i, (key, value) in enumerate(zip(keys, values)):   # in order: refs as one by one
            if fast[i]:
                self.summary.add_shape(table, layouts[len(value)].shape, base + i, key)
            else:
                findings.extend(self.check(base + i, key, value))
        self._log_fast(base, keys, values, fast, labels)
        if self.sums is not None:
            self._sum_fast(base, keys, values, fast)
        return findings

    def _sum_fast(self, base: int, keys, values, fast) -> None:
        """`datascan mean`: the pixels of the records the batch path proved, per layout."""
        by_length: dict[int, list[int]] = {}
        for i in fast.nonzero()[0].tolist():
            by_length.setdefault(len(values[i]), []).append(i)
        for length, idx in by_length.items():
            layout = self.batches.layouts[length]
            rows = np.frombuffer(b"".join(values[i] for i in idx), np.uint8).reshape(len(idx), length)
            total = rows[:, layout.pixels].sum(axis=0, dtype=np.uint64)
            self.sums.add(layout.shape, total, base + idx[0], keys[idx[0]], len(idx))

    def _log_fast(self, base: int, keys, values, fast, labels) -> None:
        """Content hashes of the records the batch path proved: each one's head and pixels
        as stored (content.py), one hash call a record."""
        layouts = self.batches.layouts
        if fast.all():
            if len(layouts) == 1:       # the usual batch: one layout, so one cut for all
                hashes = digests(values, cut=next(iter(layouts.values())).label_at - 1)
            else:
                hashes = digests([v[:layouts[len(v)].label_at - 1] for v in values])
            self.summary.contents.add_many(
                entries(hashes, labels, np.arange(base, base + len(values))), Keys.of_bytes(keys))
            return
        idx = fast.nonzero()[0]
        if not idx.size:
            return
        chosen = [values[i] for i in idx.tolist()]
        hashes = digests([v[:layouts[len(v)].label_at - 1] for v in chosen])
        self.summary.contents.add_many(entries(hashes, labels[idx], base + idx),
                                       Keys.of_bytes([keys[i] for i in idx.tolist()]))

    def check(self, index: int, key: bytes, value: bytes) -> list[Finding]:
        problems: list[Problem] = []
        ktext = key_text(key)
        role = None if self.encoding in (dm.DATUM, dm.ANNOTATED) else \
            self.summary.text.add(key, value, index)       # text-recognition keys (textlayout.py)
        if role == LABEL_KEY:
            problems.extend(self.text.judge(value))
        elif role == META_KEY:
            pass          # num-samples and lexicon-N: judged with the whole layout (crnn.py)
        elif not value:
            problems.append(self.structure.empty())
        elif self.encoding in (dm.DATUM, dm.ANNOTATED):
            h, label, s = self._check_datum(index, ktext, value, problems)
            if h is not None:
                self.summary.contents.add(index, key, h, label)
            if self.sums is not None and s is not None:
                self._sum(index, key, s, problems)
        elif self.encoding in (dm.IMAGE, dm.IMAGE_TEXT):
            if dm.looks_like_image(value):
                self._check_image(index, ktext, value, problems)
                self.summary.contents.add(index, key, image_content(value), NO_LABEL)
            elif dm.classify(value) != dm.TEXT or _image_key(ktext):
                what = "text" if dm.classify(value) == dm.TEXT else f"{len(value)} bytes"
                problems.append(self.images.not_an_image(what))
            # else: text beside the images, or another input (lstm_sliding's traject-N)
        return [Finding.of(code, self.path, msg, key=ktext, index=index) for code, msg in problems]

    def _check_datum(self, index: int, key: str | None, value: bytes,
                     problems: list) -> tuple[int | None, float]:
        """Checks a Datum; returns its content hash (None: it has none) and label."""
        try:
            s = dm.parse(value, self.encoding)
        except dm.DatumError as e:
            problems.append(self.structure.unparsed(self.encoding, value, e))
            return None, NO_LABEL, None
        shape = (s.channels, s.height, s.width)
        if s.encoded or (s.data and not s.channels and dm.looks_like_image(s.data)):
            self._check_image(index, key, s.data, problems, self.config.transform)
            h = image_content(s.data)
        else:
            self._check_raw(index, key, s, problems)
            h = raw_content(shape, s.data) if s.float_data is None else \
                float_content(shape, s.data, s.float_data)
            h = h if s.data or s.float_data is not None else None
        if s.annotated:
            # SSD: the classes are the box groups' (boxes.py); AnnotatedData reads the inner
            # datum's label (convert_annoset stores -1) only for records without a type (DS520)
            problems.extend(self.boxes.problems(s))
            for group in s.groups:
                if group.boxes:
                    self.summary.labels.add(0 if group.label is None else group.label)
        elif s.label is not None:
            self.summary.labels.add(s.label)
            if (p := self.labels.problem(s.label)) is not None:
                problems.append(p)
        else:
            problems.append(self.labels.missing())
        # SSD's inner label is always -1 (its classes are the boxes'): no label to compare
        label = s.label if s.label is not None and not s.annotated else None
        return h, NO_LABEL if label is None else float(label), s

    def _sum(self, index: int, key: bytes, s: dm.Sample, problems: list) -> None:
        """`datascan mean`: one Datum's pixels as compute_image_mean adds them (encoded images
        decoded as OpenCV does), unless datascan judged it bad (an error) and --include-bad
        was not given."""
        if not self.config.mean_bad and (self.bad_lines and index in self.bad_lines or any(
                code.severity is Severity.ERROR for code, _ in problems)):
            return
        if s.encoded or (s.data and not s.channels and dm.looks_like_image(s.data)):
            values = _decoded(s.data, self.config.max_image_pixels)
            if values is not None:
                self.sums.add(values.shape, values.reshape(-1), index, key)
            return
        shape = (s.channels, s.height, s.width)
        n = s.channels * s.height * s.width
        if s.data and len(s.data) == n:
            self.sums.add(shape, np.frombuffer(s.data, np.uint8), index, key)
        elif s.float_data is not None and s.float_data.size == n:
            self.sums.add(shape, s.float_data, index, key)

    def _check_raw(self, index: int, key: str | None, s: dm.Sample, problems: list) -> None:
        if (p := self.structure.unusable(s)) is not None:
            problems.append(p)
            return
        shape = (s.channels, s.height, s.width)
        self.summary.add_shape(self.summary.shapes, shape, index, key)
        if (p := self.structure.data_length(s)) is not None:
            problems.append(p)
        elif s.data:
            for check in self.pixel_checks:       # the registry's, as rawbatch proves them
                problems.extend(check.pixels(s.data, shape))
        if s.float_data is not None:
            if (p := self.structure.float_length(s)) is not None:
                problems.append(p)
            problems.extend((code, msg) for _, code, msg in
                            self.values.find(s.float_data.reshape(1, -1), "float_data"))

    def _check_image(self, index: int, key: str | None, data: bytes, problems: list,
                     transform: Transform | None = None) -> None:
        """``transform``: the data layer's, for an image in a Datum; None for a bare image file."""
        from ..decode.image import inspect_image   # decoders load when a set holds images
        img = inspect_image(data, max_pixels=self.config.max_image_pixels)
        problems.extend(self.images.judge(img, transform))
        if (p := self.images.misnamed(img, key)) is not None:
            problems.append(p)
        self.summary.encoded += 1
        if img.channels and img.height:
            # SSD's AnnotatedData resizes every image (resize_param): sizes may differ freely;
            # its channels are decoded as the Data layer's are (force_color/force_gray) and
            # must agree (DataTransformer's "channels == img_channels")
            if self.encoding != dm.ANNOTATED:
                self.summary.add_shape(self.summary.sizes, (img.height, img.width), index, key)
            self.summary.add_shape(self.summary.channels, img.channels, index, key)


_IMAGE_SUFFIXES = tuple(SUFFIX_FORMAT)
_KEY, _VALUE = itemgetter(0), itemgetter(1)


def _image_key(key: str | None) -> bool:
    k = (key or "").lower()
    return k.startswith("image") or k.endswith(_IMAGE_SUFFIXES)


def _decoded(data: bytes, max_pixels: int) -> np.ndarray | None:
    """An encoded image's pixels in CHW, BGR, as compute_image_mean decodes them; None when
    it does not decode (a finding says why)."""
    import io

    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > max_pixels:
                return None
            img.load()
            return bgr_chw(img)
    except Exception:     # the record's own finding (DS400/DS401) already says why
        return None
