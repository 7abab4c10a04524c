"""A Caffe net's layers as one list whatever the prototxt's vintage (``layer`` or V1
``layers``, with V1 enum types named as Caffe's upgrade names them), and which of them a
phase's net holds (include/exclude rules)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .proto import V1_LAYER_TYPES

DATA_TYPES = ("Data", "HDF5Data", "ImageData", "AnnotatedData")   # layers that read a source

PHASES = ("TRAIN", "TEST")
# Caffe's UpgradeV1LayerType names for the enum values datascan looks at; others are CamelCased.
_V1_NAMES = {"DATA": "Data", "HDF5_DATA": "HDF5Data", "IMAGE_DATA": "ImageData",
             "INNER_PRODUCT": "InnerProduct", "CONVOLUTION": "Convolution",
             "DECONVOLUTION": "Deconvolution", "SOFTMAX_LOSS": "SoftmaxWithLoss",
             "SOFTMAX": "Softmax", "EUCLIDEAN_LOSS": "EuclideanLoss", "RELU": "ReLU",
             "MULTINOMIAL_LOGISTIC_LOSS": "MultinomialLogisticLoss",
             "INFOGAIN_LOSS": "InfogainLoss", "LRN": "LRN", "MVN": "MVN", "BNLL": "BNLL",
             "TANH": "TanH", "HDF5_OUTPUT": "HDF5Output"}
_V1_BY_NUMBER = {v: k for k, v in V1_LAYER_TYPES.items()}


@dataclass(frozen=True, eq=False)
class Layer:
    msg: object          # LayerParameter or V1LayerParameter
    type: str
    where: Path          # the prototxt it came from

    def param(self, name: str):
        return getattr(self.msg, name) if self.msg.HasField(name) else None


def layers_of(net, where: Path) -> list[Layer]:
    out = [Layer(m, m.type, where) for m in net.layer]
    for m in net.layers:
        enum = _V1_BY_NUMBER.get(m.type, "NONE")
        out.append(Layer(m, _V1_NAMES.get(enum, enum.title().replace("_", "")), where))
    return out


def in_phase(layer: Layer, phase: str) -> bool:
    """Caffe's include/exclude rules, judged on the phase only (levels and stages are kept
    by the user's solver, not the net: a layer restricted to a stage still reads its source)."""
    def meets(rule) -> bool:
        return not rule.HasField("phase") or phase_name(rule.phase) == phase
    include, exclude = list(layer.msg.include), list(layer.msg.exclude)
    if include and exclude:
        raise UsageError(f"{layer.where}: layer {layer.msg.name!r}: Specify either include "
                         "rules or exclude rules; not both.")
    if include:
        return any(meets(r) for r in include)
    return not any(meets(r) for r in exclude)


def phase_layers(net, phase: str, where: Path = Path("net")) -> list[tuple[str, object]]:
    """(type, LayerParameter or V1LayerParameter) of the layers a phase's net holds, with
    V1 enum types named as Caffe's upgrade names them."""
    return [(lay.type, lay.msg) for lay in layers_of(net, where) if in_phase(lay, phase)]


def phase_name(number: int) -> str:
    return PHASES[number] if 0 <= number < len(PHASES) else str(number)
