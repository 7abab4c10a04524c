"""The forward pass as the engine and the CLI call it: one source, or every data layer of a net."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..caffe.netspec import NetSpec, TransformSpec
from .net import SEED
from .. import sources
from .records import NotRun, kv_records
from .runner import ForwardResult, run_forward
from .transform import Transformer

DEFAULT_BATCH_SIZE = 64     # without --batch-size or a net: Caffe's MNIST/LeNet train batch


@dataclass(frozen=True)
class ForwardOptions:
    """What --forward needs besides the dataset: the data layer's view and the dummy net's.
    ``batch_size`` None: DEFAULT_BATCH_SIZE, and the report says so."""
    batch_size: int | None = None
    num_classes: int | None = None     # None: EuclideanLoss against the labels
    ignore_label: int | None = None
    scale: float = 1.0
    mean_file: Path | None = None
    mean_value: tuple[float, ...] = ()
    crop_size: int = 0
    precision: str = "fp32"
    loss: str | None = None            # "softmax" | "euclidean"; default from num_classes
    normalization: str = "VALID"
    force_color: bool = False
    force_gray: bool = False
    data_top: str = "data"             # HDF5 dataset names (the layer's tops)
    label_top: str = "label"
    seed: int = SEED
    from_net: bool = False             # batch_size is a net's data layer's

    @property
    def batch(self) -> tuple[int, str]:
        """The batch size and where it comes from: given | net | default."""
        if self.batch_size is None:
            return DEFAULT_BATCH_SIZE, "default"
        return self.batch_size, "net" if self.from_net else "given"

    @property
    def transform(self) -> TransformSpec:
        return TransformSpec(scale=self.scale, crop_size=self.crop_size, mean_file=self.mean_file,
                             mean_value=self.mean_value, force_color=self.force_color,
                             force_gray=self.force_gray)


def forward_source(path: str | Path, fmt: str, encoding: str,
                   options: ForwardOptions) -> ForwardResult:
    """Run the dummy net over one source (as the plain scan planned it: format, encoding),
    read in Caffe's order through the format's capability: ``caffe_rows`` for a row
    format (HDF5Data), ``walk`` (key order) for a keyed one (Data)."""
    path = Path(path)
    try:
        return _forward(path, fmt, encoding, options)
    except NotRun as e:      # the report keeps the scan and says why the pass did not run
        return ForwardResult(not_run=str(e))


def _forward(path: Path, fmt: str, encoding: str, options: ForwardOptions) -> ForwardResult:
    source = sources.get(fmt)
    transformer = Transformer.from_spec(options.transform)
    locate = None
    if source.caffe_rows is not None:
        if not transformer.identity:
            raise NotRun("HDF5Data does not transform data (Caffe aborts on a "
                         "transform_param there): drop --scale/--mean-*/--crop-size")
        records, locate = source.caffe_rows(path, data=options.data_top, label=options.label_top)
    elif source.walk is not None:
        records = kv_records(path, source, encoding, force_color=options.force_color,
                             force_gray=options.force_gray, skips=True)
    else:
        raise NotRun(f"--forward does not read {fmt} sources")
    batch_size, origin = options.batch
    result = run_forward(records, batch_size=batch_size, transformer=transformer,
                         num_classes=options.num_classes, ignore_label=options.ignore_label,
                         precision=options.precision, path=str(path), loss=options.loss,
                         normalization=options.normalization, seed=options.seed, locate=locate,
                         from_net=options.from_net)
    result.batch_size_from = origin
    return result


@dataclass(frozen=True)
class NetTarget:
    """One data layer of a net, ready to scan: where, which format, and with what options."""
    layer: str
    phases: tuple[str, ...]
    path: Path | None
    format: str | None                 # lmdb | leveldb | hdf5; None when datascan cannot read it
    options: ForwardOptions | None
    notes: tuple[str, ...] = ()        # Caffe behaviour worth telling (default backend, ...)
    root: str | None = None            # ImageData's root_folder (image lists)
    type: str = "Data"                 # the layer's type
    resize: tuple[int, int] | None = None   # ImageData's new_height, new_width: the scan
    #                                    judges sizes after it; the forward pass does not resize
    label_map: Path | None = None      # AnnotatedData's label_map_file


def net_targets(spec: NetSpec, *, precision: str = "fp32") -> list[NetTarget]:
    """Every data layer of the net with the options its phase implies (batch size,
    transform_param, num_output feeding the loss, ignore_label, loss type)."""
    out = []
    for d in spec.data_layers():
        phase = spec.phase(d.phases[0])
        loss = phase.loss
        notes = list(d.notes)
        fmt = {"Data": d.backend, "AnnotatedData": d.backend, "HDF5Data": "hdf5",
               "ImageData": "imagelist"}.get(d.type)
        if fmt is None:
            notes.append(f"datascan does not read {d.type} sources")
        if d.source is None:
            notes.append("the layer names no source")
            fmt = None
        options = None
        if fmt is not None:
            if d.batch_size < 1:
                notes.append(f"batch_size is {d.batch_size}: iterations counted with batches of 1")
            t = d.transform
            options = ForwardOptions(
                batch_size=max(1, d.batch_size),
                num_classes=phase.num_classes,
                ignore_label=phase.ignore_label,
                scale=t.scale, mean_file=t.mean_file, mean_value=t.mean_value,
                crop_size=t.crop_size, precision=precision,
                loss=loss.kind if loss is not None and loss.kind != "multibox" else None,
                normalization=loss.normalization if loss is not None else "VALID",
                force_color=t.force_color if d.is_color is None else d.is_color,
                force_gray=t.force_gray if d.is_color is None else not d.is_color,
                data_top=d.tops[0] if d.tops else "data",
                label_top=d.label_top or "label", from_net=True)
        if loss is not None and loss.background_label:
            notes.append(f"{loss.type} background_label_id is {loss.background_label}: datascan "
                         "judges boxes with background label 0")
        out.append(NetTarget(d.name, d.phases, d.source, fmt, options, tuple(notes), d.root_folder,
                             d.type, d.new_size, d.label_map_file))
    return out
