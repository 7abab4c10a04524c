"""--forward and --net: run a dummy-loss net over a dataset the way Caffe feeds it.

    spec = caffe.netspec.load_net("train_val.prototxt")   # data layers per phase, num_classes
    for t in net_targets(spec):                           # one per data layer
        result = forward_source(t.path, t.format, encoding, t.options)

Modules: transform (DataTransformer), net (the dummy net), runner (batches, running), shapes
(which records a batch aborts on),
judge (findings from a batch outcome), records (sources in Caffe's order), api. What a net
says (its messages, its data layers) is datascan/caffe/.
"""
from __future__ import annotations

from .api import ForwardOptions, NetTarget, forward_source, net_targets
from .runner import ForwardResult, forward_findings, run_forward

__all__ = ["ForwardOptions", "ForwardResult", "NetTarget", "forward_findings", "forward_source",
           "net_targets", "run_forward"]
