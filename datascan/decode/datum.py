"""Record values -> Samples. Decides what a value is (Datum, AnnotatedDatum, image, text)."""
from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import numpy as np
from google.protobuf.message import DecodeError

from ..caffe.proto import message_class
from ..model import dataclass
from .magic import looks_like_image

# Dataset encodings, as the report names them.
DATUM, ANNOTATED, IMAGE, IMAGE_TEXT, TEXT, UNKNOWN = (
    "datum", "annotated_datum", "image", "image+text", "text", "unknown")


class DatumError(ValueError):
    """The value does not parse as the message the dataset holds."""


class Box(NamedTuple):
    """An SSD NormalizedBBox's corners as stored (a field left out reads as 0)."""
    xmin: float
    ymin: float
    xmax: float
    ymax: float


class BoxGroup(NamedTuple):
    """An SSD AnnotationGroup: its class and its boxes."""
    label: int | None                 # group_label; None when the field is missing (reads as 0)
    boxes: tuple[Box | None, ...]     # one per Annotation; None: an Annotation without a bbox


@dataclass(frozen=True)
class Sample:
    """One decoded record: what the data layer would see, before image decoding."""
    channels: int
    height: int
    width: int
    label: int | None
    data: bytes                     # raw CHW uint8 pixels, or the encoded image file
    float_data: np.ndarray | None   # float32, for float Datums
    encoded: bool
    annotated: bool = False
    anno_type: int | None = None         # AnnotatedDatum.type (0 = BBOX); None when missing
    groups: tuple[BoxGroup, ...] = ()    # AnnotatedDatum.annotation_group, as stored


def _is_text(value: bytes) -> bool:
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text.isprintable() or all(c.isprintable() or c in "\t\r\n" for c in text)


def classify(value: bytes) -> str:
    """What one value looks like; used on a sample to decide the dataset's encoding."""
    if not value:
        return UNKNOWN
    if looks_like_image(value):
        return IMAGE
    if _is_text(value):    # before protobuf: b"56062" happens to parse as a float_data Datum
        return TEXT
    if value[0] == 0x0A:   # field 1 length-delimited: a nested Datum, i.e. AnnotatedDatum
        try:
            parse(value, ANNOTATED)
            return ANNOTATED
        except DatumError:
            pass
    try:
        s = parse(value, DATUM)
        if s.data or s.float_data is not None or s.channels:
            return DATUM
    except DatumError:
        pass
    return UNKNOWN


def dataset_encoding(values: list[bytes]) -> str:
    kinds = Counter(classify(v) for v in values)
    kinds.pop(UNKNOWN, None)
    if not kinds:
        return UNKNOWN
    if kinds.get(IMAGE) and kinds.get(TEXT):
        return IMAGE_TEXT          # text-recognition LMDBs (crnn): image-N and label-N keys
    return kinds.most_common(1)[0][0]


def parse(value: bytes, encoding: str) -> Sample:
    """Parse a Datum or AnnotatedDatum; raise DatumError when the bytes are not one."""
    annotated = encoding == ANNOTATED
    msg = message_class("AnnotatedDatum" if annotated else "Datum")()
    try:
        msg.ParseFromString(value)
    except DecodeError as e:
        raise DatumError(f"protobuf parse failed: {e}") from None
    groups: tuple[BoxGroup, ...] = ()
    anno_type = None
    if annotated:
        if not msg.HasField("datum"):
            raise DatumError("AnnotatedDatum without a datum")
        groups = tuple(_group(g) for g in msg.annotation_group)
        anno_type = msg.type if msg.HasField("type") else None
        msg = msg.datum
    floats = np.asarray(msg.float_data, dtype=np.float32) if len(msg.float_data) else None
    return Sample(channels=msg.channels, height=msg.height, width=msg.width,
                  label=msg.label if msg.HasField("label") else None, data=msg.data,
                  float_data=floats, encoded=msg.encoded, annotated=annotated,
                  anno_type=anno_type, groups=groups)


def _group(group) -> BoxGroup:
    boxes = tuple(Box(a.bbox.xmin, a.bbox.ymin, a.bbox.xmax, a.bbox.ymax)
                  if a.HasField("bbox") else None for a in group.annotation)
    return BoxGroup(group.group_label if group.HasField("group_label") else None, boxes)


def encode_datum(*, channels: int = 0, height: int = 0, width: int = 0, data: bytes = b"",
                 label: int | None = None, float_data=None, encoded: bool = False) -> bytes:
    """Serialise a Datum the way Caffe does (float_data unpacked)."""
    d = message_class("Datum")(channels=channels, height=height, width=width, data=data,
                               encoded=encoded)
    if label is not None:
        d.label = label
    if float_data is not None:
        d.float_data.extend(float(x) for x in np.asarray(float_data).ravel())
    return d.SerializeToString()
