"""Image lists: Caffe's ImageData ``source`` and convert_imageset's LISTFILE, one image a line.

Read exactly as Caffe reads them (image_data_layer.cpp, convert_imageset.cpp)::

    while (std::getline(infile, line)) {
      pos = line.find_last_of(' ');
      label = atoi(line.c_str() + pos + 1);
      lines.push_back(std::make_pair(line.substr(0, pos), label));
    }

and the file opened is ``root_folder + path``: a plain string concatenation, no path join
(``--root images`` and ``a.jpg`` open ``imagesa.jpg``); relative to the working directory, as
for Caffe. Every line is a record, a blank one too (Caffe reads it as the path "" with
label 0). A record is what ``convert_imageset --encoded`` would store for the line: a Datum
holding the file's bytes verbatim and atoi's label, so the image, label, shape and duplicate
checks, the forward pass and the HTML report read it as they read an encoded LMDB. Its key
is ``line N: path`` (N from 1). What the reader finds about the line itself (the label as
written, a file that cannot be read) goes to the checks as LineFacts.

The list is streamed, never held: planning counts its lines and keeps the byte offset of
every STEP-th line (at most MAX_MARKS offsets), and shards are line ranges that seek there.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ..codes import LIST_FILE, LIST_ROOT
from ..config import ScanConfig
from ..errors import SourceOpenError
from ..model import Finding
from . import kv
from .listtext import (IMAGE_SUFFIXES, LABELLED, PLAIN_LABEL, datum, index, key_line, line_key,
                       read_file, split_line)
from .interface import KEYED, Changed, Format, LineFacts, Plan, Shard, StorageDamage

NAME = "imagelist"
DATUM = "datum"              # decode.datum.DATUM (not imported: that loads protobuf and numpy)
SNIFF_BYTES = 64 * 1024
SNIFF_LINES = 64
PROBE_LINES = 16             # lines whose files are looked for under other roots (DS131)

# The root a list was last planned or bound with in this process: the capabilities that
# take only the path (walk, fetch, line_facts) run after plan() (--forward, clean) or after
# bind() (show, clean --from-report, the HTML report's pictures), in that process.
_ROOTS: dict[str, str] = {}


def _root_of(path: Path, config: ScanConfig | None = None) -> str:
    if config is not None:
        _ROOTS[os.path.realpath(path)] = config.root or ""
        return config.root or ""
    return _ROOTS.get(os.path.realpath(path), "")


def bind(path: Path, config: ScanConfig) -> None:
    """Read the list with `config`'s root from now on, in this process (show, before fetch)."""
    _root_of(Path(path), config)


# ----------------------------------------------------------------------------- reading

def _lines(path: Path, shard: Shard) -> Iterator[tuple[int, bytes]]:
    """(0-based line index, line without its newline) for the shard's line range."""
    at, offset = shard.seek or (0, 0)
    start = shard.start or 0
    with open(path, "rb") as fh:
        fh.seek(offset)
        for raw in fh:
            if shard.stop is not None and at >= shard.stop:
                return
            if at >= start:
                yield at, raw[:-1] if raw.endswith(b"\n") else raw
            at += 1


def _records(path: Path, shard: Shard, root: str) -> Iterator[tuple[bytes, bytes] | LineFacts]:
    """Each line's record (key, Datum), preceded by its LineFacts when the line has a problem
    of its own; a LineFacts alone (done=1) when its file cannot be read."""
    prefix = os.fsencode(root)
    for at, line in _lines(path, shard):
        name, label_text, label = split_line(line)
        key = line_key(at + 1, name)
        data, why = read_file(prefix + name) if prefix + name else (None, "names no file")
        clean = label_text is not None and PLAIN_LABEL.fullmatch(label_text) is not None
        if why is not None or not clean:
            yield LineFacts(key, at + 1, name, label_text, label,
                            os.fsdecode(prefix + name), why, done=int(why is not None))
        if why is None:
            yield key, datum(data, label)


def read(shard: Shard, config: ScanConfig | None = None,
         size: int = kv.BATCH) -> Iterator[list[tuple[bytes, bytes]] | LineFacts | Changed]:
    """The shard's lines: batches of (key, Datum) of at most `size` records and about
    kv.BATCH_BYTES, with each LineFacts in its place between them."""
    path = Path(shard.source)
    if shard.version is not None and _version(path) != shard.version:
        yield Changed(f"{path} was rewritten after the scan began")
    batch: list[tuple[bytes, bytes]] = []
    nbytes = 0
    for item in _records(path, shard, _root_of(path, config) if config else _root_of(path)):
        if isinstance(item, LineFacts):
            if batch:
                yield batch
                batch, nbytes = [], 0
            yield item
            continue
        batch.append(item)
        nbytes += len(item[1])
        if len(batch) >= size or nbytes >= kv.BATCH_BYTES:
            yield batch
            batch, nbytes = [], 0
    if batch:
        yield batch


def walk(path: Path) -> Iterator[tuple[bytes, bytes] | StorageDamage]:
    """Every line's record in list order; a line whose file cannot be read is StorageDamage
    with its key and DS130 (it keeps its place)."""
    path = Path(path)
    for item in _records(path, Shard(str(path), NAME, 0), _root_of(path)):
        if isinstance(item, LineFacts):
            if item.unreadable is not None:
                yield StorageDamage(f"{item.file!r} {item.unreadable}", key=item.key,
                                    code=LIST_FILE.code)
            continue
        yield item


def line_facts(path: Path, key: bytes) -> LineFacts | None:
    """What the reader says of the line `key` names (as the scan's checks get it, even when
    the line has no problem: then read() gives the checks none); None when no line has
    that key."""
    number = key_line(key)
    if number is None or number < 1:
        return None
    path = Path(path)
    prefix = os.fsencode(_root_of(path))
    for _, line in _lines(path, Shard(str(path), NAME, 0, start=number - 1, stop=number)):
        name, label_text, label = split_line(line)
        if line_key(number, name) != key:
            return None
        why = read_file(prefix + name)[1] if prefix + name else "names no file"
        return LineFacts(key, number, name, label_text, label, os.fsdecode(prefix + name), why,
                         done=int(why is not None))
    return None


def fetch(path: Path, keys) -> Iterator[tuple[bytes, bytes | None]]:
    """Records by key (one pass over the list); None for a key no line has, or whose file
    cannot be read."""
    keys = list(keys)
    wanted = {key_line(k) for k in keys} - {None}
    found: dict[bytes, bytes] = {}
    if wanted:
        last = max(wanted)
        for item in walk(path):
            if isinstance(item, tuple) and key_line(item[0]) in wanted:
                found[item[0]] = item[1]
            at = key_line(item[0] if isinstance(item, tuple) else item.key)
            if at is not None and at >= last:
                break
    for k in keys:
        yield k, found.get(k)


# ----------------------------------------------------------------------------- planning

def _version(path: Path) -> int:
    st = os.stat(path)
    return st.st_mtime_ns ^ (st.st_size << 1)


def count(path: Path) -> int:
    return index(Path(path))[0]


def plan(path: Path, config: ScanConfig, n_shards: int) -> Plan:
    root = _root_of(path, config)
    _refuse_binary(path)
    total, step, marks = index(path)
    version = _version(path)
    cuts = sorted({min(len(marks) - 1, round(len(marks) * i / max(1, n_shards)))
                   for i in range(max(1, n_shards))} | {0}) if marks else [0]
    shards = []
    for i, c in enumerate(cuts):
        stop = cuts[i + 1] * step if i + 1 < len(cuts) else total
        shards.append(Shard(str(path), NAME, i, start=c * step, stop=stop, first_index=c * step,
                            encoding=DATUM, version=version,
                            seek=(c * step, marks[c] if marks else 0)))
    return Plan(str(path), NAME, tuple(shards), tuple(_probe_root(path, root)), encoding=DATUM,
                records=total)


def _probe_root(path: Path, root: str) -> list[Finding]:
    """DS131 when none of the first PROBE_LINES files is at root + path but some are under a
    root that differs as Caffe users get it wrong: a missing trailing "/", or the list's own
    directory instead of the working directory."""
    names = []
    for _, line in _lines(path, Shard(str(path), NAME, 0, stop=SNIFF_LINES)):
        name, label_text, _ = split_line(line)
        if label_text is not None and name:
            names.append(name)
        if len(names) == PROBE_LINES:
            break
    if not names or any(os.path.isfile(os.fsencode(root) + n) for n in names):
        return []
    home = str(path.parent) + "/"
    others = [(root + "/", f"--root {root!r} lacks a trailing \"/\"")] if root and \
        not root.endswith("/") else []
    others.append((home + root if not os.path.isabs(root) else None,
                   "they are relative to the list's directory, not the working directory"))
    for other, why in others:
        if other is None:
            continue
        hits = sum(os.path.isfile(os.fsencode(other) + n) for n in names)
        if hits:
            return [Finding.of(LIST_ROOT, str(path), f"none of the first {len(names)} files is at "
                               f"{root!r} + path; {hits} are at {other!r} + path: {why} "
                               f"(pass --root {other!r})")]
    return []


def _refuse_binary(path: Path) -> None:
    """A binary file (--source-format imagelist forced on it) is not read line by line:
    NUL bytes at the start, and not mostly `path label` lines."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as e:
        raise SourceOpenError(f"{path}: {e.strerror or e}") from None
    if b"\0" in head and not _listed(head):
        raise SourceOpenError(f"{path}: a binary file (NUL bytes in its first "
                              f"{len(head):,} bytes), not an image list of `path label` lines")


# ----------------------------------------------------------------------------- detection

def sniff(path: Path) -> bool:
    """A text file whose lines (blank ones aside) are mostly `path integer`, most paths with
    an image suffix. An HDF5 source list names .h5 files without labels: not this."""
    try:
        if not path.is_file():
            return False
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError:
        return False
    return b"\0" not in head and _listed(head)


def _listed(head: bytes) -> bool:
    lines = head.split(b"\n")
    if len(head) == SNIFF_BYTES:
        lines.pop()                 # the last line may be cut
    lines = [ln for ln in lines[:SNIFF_LINES] if ln.strip()]
    # Most lines, not all: a list with bad lines is what the scan is for.
    labelled = sum(LABELLED.fullmatch(ln) is not None for ln in lines)
    named = sum(split_line(ln)[0].lower().endswith(IMAGE_SUFFIXES) for ln in lines)
    return bool(lines) and 2 * labelled >= len(lines) and 2 * named >= len(lines)


def write(path: Path, records, like: Path | None = None, **options) -> int:
    """A list of the lines of `like` (the source list) whose records are given, in order,
    copied byte for byte (clean)."""
    if like is None:
        raise ValueError("an image list is written from the list it copies (like=)")
    wanted = (key_line(k) for k, _ in records)
    n, nxt = 0, next(wanted, None)
    with open(like, "rb") as src, open(path, "wb") as out:
        for number, raw in enumerate(src, 1):
            if nxt is None:
                break
            if number == nxt:
                out.write(raw if raw.endswith(b"\n") else raw + b"\n")
                n += 1
                nxt = next(wanted, None)
        out.flush()
        os.fsync(out.fileno())
    return n


FORMAT = Format(NAME, KEYED, sniff, plan, read, walk=walk, fetch=fetch, write=write, count=count,
                single_file=lambda path: True, errors=(OSError,), bind=bind,
                line_facts=line_facts)
