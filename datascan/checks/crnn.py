"""Text-recognition LMDBs (crnn, deep-text-recognition-benchmark): labels as UTF-8 text
(DS51x, per record) and the pairing of samples with num-samples (DS62x, once per source on
the merged layout, textlayout.py). The loaders read image-%09d and label-%09d for every
index 1..num-samples, and stop at the first one missing."""
from __future__ import annotations

from ..codes import (SAMPLE_NO_IMAGE, SAMPLE_NO_LABEL, SAMPLE_UNREAD, SAMPLES_COUNT, TEXT_ALPHABET,
                     TEXT_EMPTY, TEXT_NOT_UTF8, TEXT_TOO_LONG, Code, Severity)
from ..config import TEXT_LISTED, TEXT_MAX_RUNS
from ..model import Finding
from .base import KEYED, SUMMARY, Check, Problem
from .textlayout import LABEL, NUM_SAMPLES, IndexRuns, TextLayout, sample_key


def _shown(chars) -> str:
    """The characters as they read; one by one, with U+ codes for the invisible ones (a space,
    a tab, a control character), when there are any."""
    if all(c.isprintable() and not c.isspace() for c in chars):
        return "".join(chars)
    return ", ".join(c if c.isprintable() and not c.isspace() else
                     f"U+{ord(c):04X}" + (" (space)" if c == " " else "") for c in chars)


class TextLabels(Check):
    """A text-recognition label (label-N): UTF-8 (DS510), not empty (DS511), within
    --alphabet (DS512), no longer than --max-label-length (DS513)."""
    codes = (TEXT_NOT_UTF8, TEXT_EMPTY, TEXT_ALPHABET, TEXT_TOO_LONG)
    reads = (KEYED,)

    def __init__(self, alphabet: str | None = None, max_length: int | None = None) -> None:
        self.alphabet = frozenset(alphabet) if alphabet else None
        self.max_length = max_length

    def judge(self, value: bytes) -> list[Problem]:
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError as e:
            return [(TEXT_NOT_UTF8, f"label bytes {value[:24].hex(' ')}{' ...' if len(value) > 24 else ''} "
                                    f"are not UTF-8 ({e.reason} at byte {e.start})")]
        if not text.strip():
            return [(TEXT_EMPTY, "label is empty" if not text else f"label is only blanks ({text!r})")]
        out: list[Problem] = []
        if self.alphabet is not None and (outside := sorted(set(text) - self.alphabet)):
            out.append((TEXT_ALPHABET, f"label {text!r} holds {len(outside)} character"
                        f"{'s' if len(outside) > 1 else ''} not in --alphabet: {_shown(outside)}"))
        if self.max_length is not None and len(text) > self.max_length:
            out.append((TEXT_TOO_LONG, f"label {text!r} is {len(text)} characters, over "
                        f"--max-label-length {self.max_length}"))
        return out


class _Listed:
    """Findings of one code, the first TEXT_LISTED named, the rest counted in one line."""

    def __init__(self, code: Code, path: str) -> None:
        self.code, self.path, self.found, self.more = code, path, [], 0

    def add(self, message: str, key: str | None = None, index: int | None = None,
            severity: Severity | None = None, n: int = 1) -> None:
        if len(self.found) < TEXT_LISTED:
            self.found.append(Finding.of(self.code, self.path, message, key=key, index=index,
                                         severity=severity))
            n -= 1
        self.more += n

    def done(self, what: str) -> list[Finding]:
        more = [Finding.of(self.code, self.path, f"{self.more:,} more {what} (not listed one by one)")] \
            if self.more else []
        return self.found + more


def _span(a: int, b: int) -> str:
    return f"sample {a:,} has" if a == b else f"samples {a:,}..{b:,} ({b - a + 1:,}) have"


class TextPairing(Check):
    """The text-recognition layout as its loaders read it: num-samples a count (DS620), an
    image (DS621) and a label (DS622) for each index 1..num-samples, nothing they never read
    (DS623: past num-samples, index 0, not %09d)."""
    codes = (SAMPLES_COUNT, SAMPLE_NO_IMAGE, SAMPLE_NO_LABEL, SAMPLE_UNREAD)
    reads = (SUMMARY,)

    def find(self, path: str, t: TextLayout) -> list[Finding]:
        if not t.recognised:
            return []
        out, n = [], t.count()
        if t.num_samples is None:
            out.append(Finding.of(SAMPLES_COUNT, path, "no num-samples key: the loaders start "
                                  "with int(txn.get(b'num-samples')) and stop (TypeError)"))
        elif n is None:
            out.append(Finding.of(SAMPLES_COUNT, path, f"num-samples holds {t.num_samples!r}, "
                                  "which int() does not read as a count", key=NUM_SAMPLES,
                                  index=t.num_position))
        data = t.data_prefixes()
        top = n if n is not None else max(r.highest() for r in t.prefixes.values()) if t.prefixes else 0
        said = f"num-samples {n:,}" if n is not None else f"the highest index, {top:,}"
        exact = min((r.exact_to for r in t.prefixes.values() if r.exact_to is not None), default=None)
        top_checked = top if exact is None else min(top, exact)
        missing_image, missing_label = _Listed(SAMPLE_NO_IMAGE, path), _Listed(SAMPLE_NO_LABEL, path)
        labels = t.prefixes.get(LABEL, IndexRuns())
        if not data and top_checked:
            missing_image.add(f"no image-%09d keys at all: {_span(1, top)} no image (the loader "
                              f"reads 1..{said})")
        for prefix in data:
            self._missing(missing_image, t.prefixes[prefix], prefix, labels, LABEL, top_checked, said)
        if data:
            self._missing(missing_label, labels, LABEL, t.prefixes[data[0]], data[0], top_checked,
                          said, alone=False)
        out += missing_image.done("samples without an image") + \
            missing_label.done("samples without a label")
        out += self._unread(path, t, n, exact)
        return out

    @staticmethod
    def _missing(listed: _Listed, mine: IndexRuns, prefix: str, partner: IndexRuns,
                 partner_prefix: str, top: int, said: str, alone: bool = True) -> None:
        """Samples 1..top without a `prefix` key: named by their partner's key when it is
        there, else (``alone``) one finding per range holding neither."""
        for a, b in mine.gaps(1, top):
            at = a
            for x, y, pos in partner.within(a, b):
                if alone and x > at:
                    listed.add(f"{_span(at, x - 1)} neither {prefix}-%09d nor "
                               f"{partner_prefix}-%09d (the loader reads 1..{said}): it stops there")
                for i in range(x, y + 1):
                    if len(listed.found) >= TEXT_LISTED:
                        listed.more += y - i + 1
                        break
                    listed.add(f"sample {i:,} (of 1..{said}) has {partner_prefix} but no "
                               f"{sample_key(prefix, i)}", key=sample_key(partner_prefix, i),
                               index=pos + i - x)
                at = y + 1
            if alone and at <= b:
                listed.add(f"{_span(at, b)} neither {prefix}-%09d nor "
                           f"{partner_prefix}-%09d (the loader reads 1..{said}): it stops there")

    @staticmethod
    def _unread(path: str, t: TextLayout, n: int | None, exact: int | None) -> list[Finding]:
        unread = _Listed(SAMPLE_UNREAD, path)
        for position, key in t.odd:
            unread.add(f"{key} is not written as the loaders format it (%09d): never read",
                       key=key, index=position)
        unread.more += t.odd_count - len(t.odd)
        for prefix, runs in sorted(t.prefixes.items()):
            past = [] if n is None else list(runs.within(n + 1, runs.highest()))
            for a, b, pos in list(runs.within(0, 0)) + past:
                why = "index 0 (the loaders count from 1)" if a == 0 else f"past num-samples {n:,}"
                keys = sample_key(prefix, a) + ("" if a == b else f"..{sample_key(prefix, b)}")
                unread.add(f"{keys}: {b - a + 1:,} key{'s' if b > a else ''} {why}, never read",
                           key=sample_key(prefix, a), index=pos)
        if exact is not None:
            unread.add(f"more than {TEXT_MAX_RUNS:,} gaps in the "
                       f"sample numbers: pairing checked for samples 1..{exact:,} only",
                       severity=Severity.INFO)
        return unread.done("keys never read")
