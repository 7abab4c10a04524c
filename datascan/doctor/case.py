"""What the rules judge a run against: its facts, and the solver and net it ran with
(printed in the log, or given with --solver/--net), parsed once."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from .facts import RunFacts

DATA_LAYERS = ("Data", "HDF5Data", "ImageData", "AnnotatedData", "MemoryData", "DummyData",
               "WindowData", "Input", "Python")
_V1_TYPES = {5: "Data", 9: "HDF5Data", 12: "ImageData", 29: "MemoryData", 32: "DummyData",
             18: "ReLU", 21: "SoftmaxWithLoss", 17: "Pooling", 13: "InfogainLoss"}


@dataclass(frozen=True)
class NetView:
    """The train net as the doctor needs it: layer types by name, who produces each blob."""
    name: str
    types: dict[str, str] = field(default_factory=dict)        # layer name -> type
    producer: dict[str, str] = field(default_factory=dict)     # top blob -> first layer making it
    num_classes: int | None = None

    def type_of(self, layer: str | None) -> str | None:
        return self.types.get(layer) if layer else None

    def is_data(self, layer: str | None) -> bool:
        return self.type_of(layer) in DATA_LAYERS

    def has(self, layer_type: str) -> bool:
        return layer_type in self.types.values()


@dataclass(frozen=True)
class Case:
    facts: RunFacts
    solver: object | None = None          # caffe.SolverParameter
    net: object | None = None             # caffe.NetParameter (the TRAIN net)
    view: NetView | None = None
    problems: tuple[str, ...] = ()        # what could not be parsed, said in a finding
    earlier: tuple[tuple[int, str], ...] = ()   # earlier runs in the log: (start line, how it ended)
    spec: object | None = None            # caffe.netspec.NetSpec: data layers, sources, losses

    @property
    def num_classes(self) -> int | None:
        return self.view.num_classes if self.view else None

    @property
    def chance(self) -> float | None:
        """ln(num_classes): the softmax loss of a net that predicts uniformly."""
        n = self.num_classes
        return math.log(n) if n and n > 1 else None

    def solver_value(self, name: str):
        s = self.solver
        return getattr(s, name) if s is not None and s.HasField(name) else None

    @property
    def display(self) -> int | None:
        return self.solver_value("display")

    @property
    def base_lr(self) -> float | None:
        return self.solver_value("base_lr")


def net_view(net, spec=None) -> NetView:
    types: dict[str, str] = {}
    producer: dict[str, str] = {}
    for layer in list(net.layer) + list(net.layers):
        t = layer.type if isinstance(layer.type, str) else _V1_TYPES.get(layer.type, str(layer.type))
        types.setdefault(layer.name, t)
        for top in layer.top:
            producer.setdefault(top, layer.name)
    return NetView(net.name, types, producer, spec.num_classes if spec is not None else None)


def train_net_text(facts: RunFacts) -> str | None:
    """The TRAIN net printed in the log (Caffe prints the train net first, then test nets)."""
    for _, text in facts.net_texts:
        if "phase: TRAIN" in text[:400]:
            return text
    return facts.net_texts[0][1] if facts.net_texts else None


def solver_net_text(solver) -> object | None:
    """A net inlined in the solver (net_param / train_net_param)."""
    if solver is None:
        return None
    for name in ("train_net_param", "net_param"):
        if solver.HasField(name):
            return getattr(solver, name)
    return None


def build(facts: RunFacts, *, solver_path: Path | None = None, net_path: Path | None = None,
          log_path: Path | None = None) -> Case:
    """Parse the solver and the train net: from the files given, else from the log."""
    from ..caffe.netspec import load_net, net_from_text
    from ..caffe.proto import parse_net_text, parse_text
    from ..errors import UsageError
    problems: list[str] = []
    solver = net = spec = None
    where = log_path or Path("log")
    try:
        if solver_path is not None:
            solver = parse_text(_read(solver_path), "SolverParameter", where=str(solver_path))
        elif facts.solver_text:
            text = _whole(facts.solver_text, lambda t: parse_text(t, "SolverParameter"), problems)
            solver = parse_text(text, "SolverParameter", where=f"{where} (solver)")
    except UsageError as e:
        problems.append(str(e))
    try:
        if net_path is not None:
            text = _read(net_path)
            net = parse_net_text(text, where=str(net_path))
            if not (net.layer or net.layers):
                net = solver_net_text(parse_text(text, "SolverParameter", where=str(net_path)))
            spec = load_net(net_path)
        else:
            text = train_net_text(facts)
            if text is not None:
                text = _whole(text, parse_net_text, problems)
                net = parse_net_text(text, where=f"{where} (net)")
                spec = net_from_text(text, where)
            elif solver_net_text(solver) is not None:
                net = solver_net_text(solver)
    except UsageError as e:
        problems.append(str(e))
    view = net_view(net, spec) if net is not None else None
    return Case(facts, solver, net, view, tuple(problems), spec=spec)


def _whole(text: str, parse, problems: list[str]) -> str:
    """glog keeps at most 30,000 characters of one message, so a big net printed into the log
    is cut mid-layer: keep it up to its last complete top-level block."""
    from ..errors import UsageError
    try:
        parse(text)
        return text
    except UsageError:
        pass
    end = text.rfind("\n}")
    if end < 0:
        return text
    kept = text[:end + 2]
    problems.append(f"the log's copy is cut after {kept.count(chr(10)) + 1} lines (glog's "
                    "30,000-character limit): read up to its last complete block")
    return kept


def _read(path: Path) -> str:
    from ..errors import UsageError
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
