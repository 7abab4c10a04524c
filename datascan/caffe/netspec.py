"""What a Caffe net definition says about its data: data layers per phase and the loss.

``load_net("train_val.prototxt")`` returns a NetSpec: for TRAIN and TEST, the data
layers (type, source resolved to a path, backend, batch size, transform_param)
and the classification loss with the num_output that feeds it. A solver prototxt
is accepted too (its net / train_net / test_net files or inline net params).
"""
from __future__ import annotations

import os

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import UsageError
from .layers import DATA_TYPES, PHASES, Layer, in_phase, layers_of
from .losses import LOSSES, LossSpec, loss_spec
from .proto import message_class, parse_net_text, parse_text


@dataclass(frozen=True)
class TransformSpec:
    """TransformationParameter, with the deprecated data_param copies folded in as Caffe does."""
    scale: float = 1.0
    mirror: bool = False
    crop_size: int = 0
    mean_file: Path | None = None
    mean_value: tuple[float, ...] = ()
    force_color: bool = False
    force_gray: bool = False


@dataclass(frozen=True)
class DataLayerSpec:
    name: str
    type: str                   # Data | HDF5Data | ImageData | AnnotatedData
    phases: tuple[str, ...]     # the phases whose net holds this layer
    source: Path | None         # resolved: cwd first, then the prototxt's directory
    source_text: str            # as written in the prototxt
    backend: str | None         # Data/AnnotatedData: "lmdb" | "leveldb"; None for the others
    batch_size: int
    tops: tuple[str, ...]
    transform: TransformSpec
    shuffle: bool = False
    rand_skip: int = 0
    notes: tuple[str, ...] = ()  # things Caffe does here that a user should know
    root_folder: str | None = None   # ImageData: the prefix of every listed path, as resolved
    is_color: bool | None = None     # ImageData: imread colour (true) or gray (false)
    new_size: tuple[int, int] | None = None   # ImageData: new_height, new_width (both set)
    label_map_file: Path | None = None         # AnnotatedData: annotated_data_param's, resolved

    @property
    def label_top(self) -> str | None:
        return self.tops[1] if len(self.tops) > 1 else None


@dataclass(frozen=True)
class PhaseSpec:
    phase: str
    data_layers: tuple[DataLayerSpec, ...]
    losses: tuple[LossSpec, ...]

    @property
    def loss(self) -> LossSpec | None:
        """The loss that the first data layer's label feeds, else the first loss."""
        labels = {d.label_top for d in self.data_layers}
        for loss in self.losses:
            if loss.label in labels:
                return loss
        return self.losses[0] if self.losses else None

    @property
    def num_classes(self) -> int | None:
        loss = self.loss
        return loss.num_outputs if loss is not None and loss.kind in ("softmax", "multibox") \
            else None

    @property
    def ignore_label(self) -> int | None:
        loss = self.loss
        return loss.ignore_label if loss is not None else None


@dataclass(frozen=True)
class NetSpec:
    path: Path
    name: str
    phases: dict[str, PhaseSpec] = field(default_factory=dict)

    def phase(self, phase: str) -> PhaseSpec:
        return self.phases[phase.upper()]

    def data_layers(self) -> list[DataLayerSpec]:
        """Every data layer once (a layer in both phases is listed once, with both phases)."""
        seen: dict[tuple, DataLayerSpec] = {}
        for spec in self.phases.values():
            for d in spec.data_layers:
                seen.setdefault(_identity(d), d)
        return list(seen.values())

    @property
    def num_classes(self) -> int | None:
        found = (self.phases[p].num_classes for p in PHASES if p in self.phases)
        return next((n for n in found if n is not None), None)


# ---------------------------------------------------------------------------- loading

def load_net(path: str | Path, *, cwd: Path | None = None) -> NetSpec:
    """Parse a net (or solver) prototxt. Unreadable or malformed -> UsageError."""
    path = Path(path)
    cwd = Path.cwd() if cwd is None else cwd
    text = _read(path, f"cannot read net {path}")
    net = parse_net_text(text, where=str(path))
    if net.layer or net.layers:
        return _spec_from_nets(path, net.name, [(net, PHASES, path)], cwd)
    nets = _nets_of_solver(text, path, cwd)
    if not nets:
        raise UsageError(f"{path}: no layers (neither a net with layers nor a solver naming one)")
    return _spec_from_nets(path, nets[0][0].name, nets, cwd)


def net_from_text(text: str, where: Path, *, cwd: Path | None = None) -> NetSpec:
    """A NetSpec from net prototxt text (as Caffe prints it into its log); relative sources
    resolve against cwd, then ``where``'s directory. Malformed -> UsageError."""
    net = parse_net_text(text, where=str(where))
    cwd = Path.cwd() if cwd is None else cwd
    return _spec_from_nets(where, net.name, [(net, PHASES, where)], cwd)


def _nets_of_solver(text: str, path: Path, cwd: Path) -> list[tuple]:
    """(NetParameter, phases, file its relative paths resolve against) of a solver prototxt,
    in Caffe's order: net_param/net hold both phases, train_* TRAIN, test_* TEST."""
    solver = parse_text(text, "SolverParameter", where=str(path))
    out: list[tuple] = []
    if solver.HasField("net_param"):
        out.append((solver.net_param, PHASES, path))
    if solver.HasField("train_net_param"):
        out.append((solver.train_net_param, ("TRAIN",), path))
    out.extend((msg, ("TEST",), path) for msg in solver.test_net_param)
    for name, phases in ((solver.net, PHASES), (solver.train_net, ("TRAIN",))):
        if name:
            out.append(_net_file(name, phases, path, cwd))
    out.extend(_net_file(name, ("TEST",), path, cwd) for name in solver.test_net)
    return out


def _net_file(name: str, phases: tuple[str, ...], solver_path: Path, cwd: Path) -> tuple:
    net_path = resolve(name, solver_path.parent, cwd)
    text = _read(net_path, f"{solver_path}: cannot read net {name}")
    return parse_net_text(text, where=str(net_path)), phases, net_path


def _read(path: Path, cannot: str) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise UsageError(f"{cannot}: {e.strerror or e}") from None


def resolve(written: str, base: Path, cwd: Path) -> Path:
    """A path from a prototxt: absolute as is; relative against cwd first (where Caffe runs),
    then against the prototxt's directory; if neither exists, the cwd reading."""
    p = Path(written).expanduser()
    if p.is_absolute():
        return p
    for root in (cwd, base):
        if (root / p).exists():
            return root / p
    return cwd / p


def _spec_from_nets(path: Path, name: str, nets: list[tuple], cwd: Path) -> NetSpec:
    by_phase: dict[str, tuple[list, list]] = {p: ([], []) for p in PHASES}
    for net, phases, where in nets:
        layers = layers_of(net, where)
        for phase in phases:
            active = [lay for lay in layers if in_phase(lay, phase)]
            data, losses = by_phase[phase]
            data.extend(_data_layer(lay, phase, cwd) for lay in active if lay.type in DATA_TYPES)
            losses.extend(loss_spec(lay, active) for lay in active if lay.type in LOSSES)
    held = {phase: {_identity(d) for d in data} for phase, (data, _) in by_phase.items()}
    phases = {}
    for phase, (data, losses) in by_phase.items():
        if data or losses:
            phases[phase] = PhaseSpec(phase, _merge_phases(data, held), tuple(losses))
    return NetSpec(path, name, phases)


def _merge_phases(data: list[DataLayerSpec], held: dict[str, set[tuple]],
                  ) -> tuple[DataLayerSpec, ...]:
    """Record on each layer every phase that holds the same layer."""
    return tuple(replace(d, phases=tuple(p for p in PHASES if _identity(d) in held[p]))
                 for d in data)


def _identity(d: DataLayerSpec) -> tuple:
    return (d.name, d.type, d.source_text, d.backend, d.batch_size, d.transform, d.root_folder,
            d.is_color, d.new_size, d.label_map_file)


def _data_layer(layer: Layer, phase: str, cwd: Path) -> DataLayerSpec:
    msg, base = layer.msg, layer.where.parent
    notes: list[str] = []
    root_folder = is_color = new_size = label_map = None
    if layer.type == "HDF5Data":
        p = layer.param("hdf5_data_param")
        source, batch, backend = (p.source, p.batch_size, None) if p else ("", 0, None)
        shuffle, rand_skip, legacy = bool(p and p.shuffle), 0, None
        if msg.HasField("transform_param"):
            notes.append("HDF5Data does not transform data: Caffe aborts on a transform_param here")
        if shuffle:
            notes.append("shuffle: true: Caffe reorders files and rows, so iterations are not in "
                         "file order")
    elif layer.type == "ImageData":
        p = layer.param("image_data_param")
        source, batch = (p.source, p.batch_size) if p else ("", 1)
        backend, shuffle, rand_skip, legacy = None, bool(p and p.shuffle), \
            (p.rand_skip if p else 0), p
        if not source and layer.param("data_param") is not None:
            notes.append("ImageData reads image_data_param, not data_param: its source is "
                         "empty and Caffe stops with \"File is empty\"")
        root_folder = folder_prefix(p.root_folder if p else "", base, cwd)
        is_color = bool(p.is_color) if p else True
        new_size = _new_size(p, notes)
    else:  # Data, AnnotatedData
        p = layer.param("data_param")
        source, batch = (p.source, p.batch_size) if p else ("", 0)
        db = message_class("DataParameter").DB
        backend = db.Name(p.backend if p else 0).lower()
        if p is None or not p.HasField("backend"):
            notes.append("backend not set: Caffe's default is LEVELDB (the tools default to "
                         "lmdb)")
        shuffle, rand_skip, legacy = False, (p.rand_skip if p else 0), p
        a = layer.param("annotated_data_param") if layer.type == "AnnotatedData" else None
        if a is not None and a.label_map_file:
            label_map = resolve(a.label_map_file, base, cwd)
    if rand_skip:
        notes.append(f"rand_skip: {rand_skip}: Caffe starts at a random record, so iteration "
                     "numbers shift")
    if not batch:
        notes.append("batch_size is 0 or missing")
    return DataLayerSpec(
        name=msg.name, type=layer.type, phases=(phase,),
        source=resolve(source, base, cwd) if source else None, source_text=source,
        backend=backend, batch_size=int(batch), tops=tuple(msg.top),
        transform=_transform(layer, legacy, base, cwd), shuffle=shuffle,
        rand_skip=int(rand_skip), notes=tuple(notes), root_folder=root_folder, is_color=is_color,
        new_size=new_size, label_map_file=label_map)


def _new_size(p, notes: list[str]) -> tuple[int, int] | None:
    """ImageData resizes every image to new_height x new_width when both are set
    (ReadImageToCVMat); Caffe refuses one without the other."""
    h, w = (int(p.new_height), int(p.new_width)) if p is not None else (0, 0)
    if h and w:
        return h, w
    if h or w:
        notes.append("new_height and new_width must be set together: Caffe stops with "
                     "\"new_height and new_width to be set at the same time\"")
    return None


def folder_prefix(written: str, base: Path, cwd: Path) -> str:
    """ImageData's root_folder, a string Caffe prepends to each listed path (no path join):
    kept as written when absolute or empty (the working directory, as for Caffe); a relative
    one is read against cwd first, then against the prototxt's directory, as sources are."""
    if not written or os.path.isabs(written):
        return written
    for home in (cwd, base):
        prefix = os.path.join(str(home), written)
        folder = os.path.dirname(prefix + "x")
        if os.path.isdir(folder):
            return prefix
    return os.path.join(str(cwd), written)


def _transform(layer: Layer, legacy, base: Path, cwd: Path) -> TransformSpec:
    """transform_param, after Caffe's UpgradeNetDataTransformation moved the deprecated
    data_param/image_data_param scale, mean_file, crop_size and mirror into it."""
    t = layer.param("transform_param")

    def get(name: str, default):
        """transform_param's value if set, else the deprecated copy's if that has one."""
        for msg in (t, legacy):
            if msg is not None and name in msg.DESCRIPTOR.fields_by_name and msg.HasField(name):
                return getattr(msg, name)
        return default

    mean_file = get("mean_file", "")
    return TransformSpec(
        scale=float(get("scale", 1.0)), mirror=bool(get("mirror", False)),
        crop_size=int(get("crop_size", 0)),
        mean_file=resolve(mean_file, base, cwd) if mean_file else None,
        mean_value=tuple(float(v) for v in t.mean_value) if t is not None else (),
        force_color=bool(t.force_color) if t is not None else False,
        force_gray=bool(t.force_gray) if t is not None else False)
