"""The one entry: a request (datasets or a Caffe net, the checks, how to run) -> Report.

    report = run(CheckRequest(paths=("train_lmdb",), config=ScanConfig(num_classes=10)))

The rule for --forward and --select/--ignore, written here once: the plain scan runs
unfiltered, the forward pass sees everything it found (storage damage included, even
under --select DS7), and select/ignore are applied once, at the end, to every finding.
``check`` and ``check_net`` are the keyword-friendly faces of ``run`` (datascan.check).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import findings as found, sources
from ._version import __version__
from .codes import STORAGE_CORRUPT, TRUNCATED, keep
from .config import ScanConfig, scan_config
from .errors import UsageError
from .model import Finding, ForwardBlock, Options, Report, SourceInfo
from .run_options import RunOptions, run_options
from .sources.interface import KEYED, ROWS
from .structs import dataclass, replace

if TYPE_CHECKING:   # the scan, the dummy net and protobuf load when a scan runs, not for a
    from .cache import Cache                     # remembered verdict (cache.py), and cache.py
    from .forward.api import ForwardOptions      # (hashlib: OpenSSL) only when one is asked for

@dataclass(frozen=True)
class NetSource:
    """--net: every data layer's source of a Caffe net (or solver), read as that layer reads it."""
    path: str | os.PathLike
    phase: str | None = None        # only this phase's layers: train | test
    forward: bool = False           # run the dummy net, fed with each layer's own options
    precision: str = "fp32"         # the dummy net's arithmetic (fp16: half-precision overflow)
    config: ScanConfig | None = None   # options given with the net, for every layer (they win
    #                                 over the net's): num_classes, ignore_label, label_map,
    #                                 alphabet, max_label_length; the rest come from the net


@dataclass(frozen=True)
class CheckRequest:
    """What to check and how: datasets (``paths``) or a ``net``, never both."""
    paths: tuple[str | os.PathLike, ...] = ()
    net: NetSource | None = None
    config: ScanConfig = ScanConfig()        # with paths; a net's layers set their own
    run: RunOptions = RunOptions()
    forward: ForwardOptions | None = None    # with paths: the dummy net after the scan
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    cache: Cache | None = None               # remember verdicts here (paths only); None: never

    def __post_init__(self) -> None:
        if self.net is not None and self.paths:
            raise UsageError("--net reads the sources from the net: give no PATH with it")
        if self.net is None and not self.paths:
            raise UsageError("give at least one PATH (or --net NET.prototxt)")
        if self.net is not None and self.forward is not None:
            raise UsageError("a net's forward pass takes each data layer's own options: "
                             "ask for it with NetSource(forward=True)")


def run(request: CheckRequest) -> Report:
    """Check what the request names; select/ignore are applied here, once, to every finding."""
    if request.net is not None:
        report = _check_net(request.net, request.run)
    else:
        verdict = None
        if request.cache is not None:
            from .cache import Verdict
            verdict = Verdict(request.cache, request.paths, request.config, request.forward)
        report = None if verdict is None else verdict.lookup()
        if report is None:
            report = _check_paths(request.paths, request.config, request.forward, request.run)
            if verdict is not None:
                verdict.store(report)
    if request.select or request.ignore:
        report = replace(report, findings=found.collect(
            f for f in report.findings if keep(f.code, request.select, request.ignore)))
    return replace(report, options=options_of(request, report))


def options_of(request: CheckRequest, report: Report | None = None) -> Options:
    """What the report was made with (the JSON report's "options")."""
    select, ignore = tuple(request.select), tuple(request.ignore)
    if request.net is not None:      # each data layer sets its own checks
        net = request.net
        forward = (("precision", net.precision),) if net.forward else None
        layers = () if report is None or report.net is None else tuple(
            (("layer", x.layer), ("path", x.path)) + x.transform
            for x in report.net.layers if x.transform is not None)
        c = net.config or ScanConfig()
        return Options(c.num_classes, c.ignore_label, (), None, select=select, ignore=ignore,
                       forward=forward, net=str(net.path), phase=net.phase,
                       label_map=c.label_map and c.label_map.path,
                       transform=(("from", "net"), ("layers", layers)))
    c = request.config
    forward = None if request.forward is None else _forward_options(request.forward)
    return Options(c.num_classes, c.ignore_label, tuple(c.label_datasets), c.format,
                   select, ignore, forward, root=c.root,
                   label_map=c.label_map and c.label_map.path, transform=c.transform.options())


def _forward_options(forward) -> tuple:
    """ForwardOptions (a standard dataclass: the forward engine loads dataclasses anyway)."""
    from dataclasses import fields
    return tuple((f.name, _plain(getattr(forward, f.name))) for f in fields(forward))


def _plain(value):
    """A forward option as JSON can hold it."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)
    return str(value)


def check(paths: str | os.PathLike | Sequence[str | os.PathLike], *,
          config: ScanConfig | None = None, forward: ForwardOptions | None = None,
          select: Sequence[str] = (), ignore: Sequence[str] = (),
          cache: bool | str | os.PathLike | Cache | None = None, **options) -> Report:
    """The plain scan of ``paths``, then the forward pass when ``forward`` is given.
    ``options`` say how to run, as scan() takes them: jobs, backend, scheduler, progress,
    progress_total. ``cache``: remember the verdict and reuse it while the sources are
    unchanged (True: the default directory, or a directory); off unless asked for, so a
    library call never writes outside what it was given."""
    from .cache import cache_spec
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return run(CheckRequest(paths=tuple(paths), config=scan_config(config), forward=forward,
                            run=run_options(**options), select=tuple(select),
                            ignore=tuple(ignore), cache=cache_spec(cache)))


def check_net(net: str | os.PathLike, *, forward: bool = False, precision: str = "fp32",
              phase: str | None = None, select: Sequence[str] = (), ignore: Sequence[str] = (),
              config: ScanConfig | None = None, **options) -> Report:
    """Scan every data layer's source of a Caffe net, as that layer would read it.
    ``config``: options for every layer that win over the net's (num_classes, ignore_label,
    label_map, alphabet, max_label_length)."""
    return run(CheckRequest(net=NetSource(net, phase, forward, precision, config),
                            run=run_options(**options), select=tuple(select),
                            ignore=tuple(ignore)))


def _check_paths(paths: Sequence[str | os.PathLike], config: ScanConfig,
                 forward: ForwardOptions | None, opts: RunOptions) -> Report:
    from .scan import scan
    report = scan(list(paths), config=config, **vars(opts))     # unfiltered: see the module doc
    return with_forward(report, forward) if forward else report


def _options_for(source: SourceInfo, options: ForwardOptions) -> ForwardOptions:
    # A Caffe Data layer feeds class indices: without --num-classes, size the dummy
    # softmax from the labels the plain scan saw, rather than regressing on them.
    if options.num_classes is None and options.loss is None \
            and sources.get(source.format).records == KEYED \
            and source.labels is not None and source.labels.min >= 0:
        return replace(options, num_classes=int(source.labels.max) + 1)
    return options


def _storage_damage(report: Report, source: SourceInfo) -> Finding | None:
    # A row source's findings name the files of its list, not the source: any damage counts.
    inside = source.path.rstrip("/") + "/"
    rows = sources.get(source.format).records == ROWS
    return next((f for f in report.findings if f.code in (STORAGE_CORRUPT.code, TRUNCATED.code)
                 and (f.path == source.path or f.path.startswith(inside) or rows)), None)


def with_forward(report: Report, options: ForwardOptions) -> Report:
    """Run the dummy net over every source of a finished report and add its findings."""
    findings: list[Finding] = []
    blocks: list[ForwardBlock] = []
    for source in report.sources:
        fmt = sources.get(source.format)
        if fmt.caffe_rows is None and fmt.walk is None:     # no reader in Caffe's order
            continue
        damage = _storage_damage(report, source)
        if damage is None and source.records == 0:
            continue
        if damage is not None:
            # The forward pass reads in this process, in order: on a damaged LMDB page the
            # C library would kill it, where the scan's isolated workers only reported it.
            blocks.append(ForwardBlock(source.path, not_run=f"storage damage ({damage.code}: "
                                       f"{damage.message}); fix the storage first"))
            continue
        from .forward.api import forward_source
        result = forward_source(source.path, source.format, source.encoding,
                                _options_for(source, options))
        findings += result.findings
        blocks.append(result.block(source.path))
    findings.sort(key=Finding.sort_key)
    every = found.collect(found.merged(report.findings, findings)) if findings else report.findings
    return replace(report, findings=every, forward=(report.forward or ()) + tuple(blocks))


def _check_net(net: NetSource, opts: RunOptions) -> Report:
    from .netcheck import check_net
    return check_net(net, opts, _check_paths, net.config)
