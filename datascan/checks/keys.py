"""The keys of a chunk of records, kept joined (one bytes object and their lengths: no
object a record), as the content logs (content.py) and the duplicates index hold them."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NO_KEY = -1                     # a key length: the record has no key (an HDF5 row)


class Keys:
    """Keys of a chunk of records, joined: one bytes object and their lengths (NO_KEY: none)."""

    def __init__(self, blob: bytes = b"", lengths: np.ndarray | None = None):
        self.blob = blob
        self.lengths = np.zeros(0, np.int64) if lengths is None else lengths
        self._ends: np.ndarray | None = None

    @classmethod
    def of(cls, keys: Sequence) -> Keys:
        n = len(keys)
        none = keys.count(None) if n else 0
        if none == n:
            return cls(b"", np.full(n, NO_KEY, np.int64))
        if not none:                     # the usual chunk: every record has a key, in C
            return cls(b"".join(keys), np.fromiter(map(len, keys), np.int64, n))
        return cls(b"".join(k for k in keys if k is not None),
                   np.fromiter((NO_KEY if k is None else len(k) for k in keys), np.int64, n))

    @classmethod
    def of_bytes(cls, keys: Sequence[bytes]) -> Keys:
        """Keys that are all bytes (an LMDB's or a LevelDB's): of() without looking for None,
        and one length for all when they have one (the usual fixed-width keys)."""
        n = len(keys)
        if not n:
            return cls()
        widths = set(map(len, keys))
        lengths = np.full(n, widths.pop(), np.int64) if len(widths) == 1 else \
            np.array(list(map(len, keys)), np.int64)
        return cls(b"".join(keys), lengths)

    @classmethod
    def joined(cls, parts: Sequence[Keys]) -> Keys:
        return cls(b"".join(p.blob for p in parts), np.concatenate([p.lengths for p in parts]))

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, j: int) -> bytes | None:
        if self.lengths[j] == NO_KEY:
            return None
        if self._ends is None:
            self._ends = np.cumsum(np.maximum(self.lengths, 0))
        end = int(self._ends[j])
        return self.blob[end - int(self.lengths[j]):end]

    def take(self, order: np.ndarray) -> Keys:
        """These keys in another order."""
        return Keys.of([self[j] for j in order.tolist()]) if len(order) else Keys()

    @property
    def any(self) -> bool:
        return bool((self.lengths != NO_KEY).any())
