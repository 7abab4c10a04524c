"""The Datum structure check: a value Caffe's Data layer can read as a Datum at all."""
from __future__ import annotations

from ..codes import BAD_DIMS, DATA_LENGTH, EMPTY, NOT_DATUM
from ..config import MAX_BLOB_COUNT, MAX_DIM
from ..decode import datum as dm
from .base import KEYED, Check, Problem


class DatumStructure(Check):
    """The value parses (DS200), holds something (DS202), has dims Caffe accepts (DS203) and
    data of channels x height x width (DS201)."""
    codes = (NOT_DATUM, DATA_LENGTH, EMPTY, BAD_DIMS)
    reads = (KEYED,)

    def empty(self) -> Problem:
        return (EMPTY, "empty value (0 bytes)")

    def unparsed(self, encoding: str, value: bytes, error: dm.DatumError) -> Problem:
        what = "an image file" if dm.looks_like_image(value) else f"{len(value)} bytes"
        return (NOT_DATUM, f"not a valid {encoding} ({what}): {error}")

    def unusable(self, s: dm.Sample) -> Problem | None:
        """No data at all, or dims Caffe rejects: nothing else about the Datum is checked."""
        c, h, w = s.channels, s.height, s.width
        if not s.data and s.float_data is None:
            return (EMPTY, f"Datum {c}x{h}x{w} has no data and no float_data")
        if min(c, h, w) <= 0 or max(h, w) > MAX_DIM or c * h * w > MAX_BLOB_COUNT:
            return (BAD_DIMS, f"invalid dims channels={c} height={h} width={w}")
        return None

    def data_length(self, s: dm.Sample) -> Problem | None:
        if not s.data or len(s.data) == s.channels * s.height * s.width:   # (per record)
            return None
        return _length(s, "data", len(s.data), "bytes")

    def float_length(self, s: dm.Sample) -> Problem | None:
        if s.float_data is None or s.float_data.size == s.channels * s.height * s.width:
            return None
        return _length(s, "float_data", s.float_data.size, "values")


def _length(s: dm.Sample, field: str, held: int, unit: str) -> Problem:
    c, h, w = s.channels, s.height, s.width
    return (DATA_LENGTH, f"{field} holds {held} {unit}, {c}x{h}x{w} needs {c * h * w}")
