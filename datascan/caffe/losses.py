"""The loss layers of a Caffe net, as far as they say what labels are valid: the number of
classes (num_output of the layer feeding a softmax loss, or SSD's MultiBoxLoss num_classes),
ignore_label and the normalization."""
from __future__ import annotations

from dataclasses import dataclass

from .layers import DATA_TYPES, Layer
from .proto import message_class

SOFTMAX_LOSSES = ("SoftmaxWithLoss", "MultinomialLogisticLoss", "InfogainLoss")
REGRESSION_LOSSES = ("EuclideanLoss",)
MULTIBOX_LOSSES = ("MultiBoxLoss",)      # SSD: its label bottom is the last one
LOSSES = SOFTMAX_LOSSES + REGRESSION_LOSSES + MULTIBOX_LOSSES
_NUM_OUTPUT_TYPES = {"InnerProduct": "inner_product_param", "Convolution": "convolution_param",
                     "Deconvolution": "convolution_param"}
_MAX_CHAIN = 64   # bottoms followed from a loss back to the layer that sets num_output


@dataclass(frozen=True)
class LossSpec:
    name: str
    type: str
    kind: str                   # "softmax" | "euclidean" | "multibox"
    prediction: str             # bottom[0]
    label: str | None           # bottom[1] (MultiBoxLoss: its last bottom)
    num_outputs: int | None     # num_output of the layer feeding bottom[0] (MultiBox: num_classes)
    ignore_label: int | None
    normalization: str          # VALID | FULL | BATCH_SIZE | NONE
    background_label: int | None = None   # MultiBoxLoss background_label_id


def loss_spec(loss: Layer, active: list[Layer]) -> LossSpec:
    msg = loss.msg
    bottoms = list(msg.bottom)
    if loss.type in MULTIBOX_LOSSES:
        return _multibox(loss, bottoms)
    kind = "euclidean" if loss.type in REGRESSION_LOSSES else "softmax"
    lp = loss.param("loss_param")
    ignore = lp.ignore_label if lp is not None and lp.HasField("ignore_label") else None
    norm = "VALID"
    if lp is not None:
        modes = message_class("LossParameter").NormalizationMode
        if lp.HasField("normalization"):
            norm = modes.Name(lp.normalization)
        elif lp.HasField("normalize") and not lp.normalize:
            norm = "BATCH_SIZE"
    prediction = bottoms[0] if bottoms else ""
    return LossSpec(name=msg.name, type=loss.type, kind=kind, prediction=prediction,
                    label=bottoms[1] if len(bottoms) > 1 else None,
                    num_outputs=_num_output(prediction, active, before=loss),
                    ignore_label=ignore, normalization=norm)


def _num_output(blob: str, active: list[Layer], *, before: Layer) -> int | None:
    """Follow bottom[0] back from the loss (through Softmax, ReLU, Dropout, Flatten, ...)
    to the InnerProduct or Convolution that produces the blob, and return its num_output."""
    end = active.index(before)           # Layer compares by identity
    for _ in range(_MAX_CHAIN):
        end = next((i for i in reversed(range(end)) if blob in active[i].msg.top), None)
        if end is None:
            return None
        producer = active[end]
        if producer.type in _NUM_OUTPUT_TYPES:
            p = producer.param(_NUM_OUTPUT_TYPES[producer.type])
            return int(p.num_output) if p is not None and p.HasField("num_output") else None
        if producer.type in DATA_TYPES or not producer.msg.bottom:
            return None
        blob = producer.msg.bottom[0]
    return None


def _multibox(loss: Layer, bottoms: list[str]) -> LossSpec:
    """SSD's MultiBoxLoss: bottoms loc, conf, priors, label; num_classes and
    background_label_id (default 0) in multibox_loss_param."""
    p = loss.param("multibox_loss_param")
    classes = int(p.num_classes) if p is not None and p.HasField("num_classes") else None
    return LossSpec(name=loss.msg.name, type=loss.type, kind="multibox",
                    prediction=bottoms[0] if bottoms else "",
                    label=bottoms[-1] if len(bottoms) > 1 else None, num_outputs=classes,
                    ignore_label=None, normalization="VALID",
                    background_label=int(p.background_label_id) if p is not None else 0)
