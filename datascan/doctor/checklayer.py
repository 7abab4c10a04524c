"""datascan's check layer for Caffe (pycaffe's Python layer), written beside the net by
`datascan doctor --instrument`. Caffe imports it, never datascan: it needs only numpy and
pycaffe's `caffe.Layer`.

Each instance sits in place after one layer of the net (bottom == top: it changes nothing).
Forward, it looks at that layer's tops' data; backward, at their diffs (the gradient
arriving at that layer). A blob holding NaN or inf is reported on one line of its own,

    datascan check: non-finite in layer "conv1" forward top "conv1" data at iteration 12: fraction 0.03125 (3 nan, 0 inf of 96)

which `datascan doctor` reads back from the log (DS814), and then (``"stop": true``, the
default) it raises FloatingPointError with the same message, so the run stops at the
first place. param_str is JSON: {"layer": NAME, "blobs": [TOP, ...], "stop": true}.
The iteration is this net's forward passes counted from 0 (with iter_size k, k per
solver iteration; a resumed run counts again from 0).
"""
import json
import sys

import numpy as np

import caffe

PREFIX = "datascan check: "


def message(layer, phase, blob, field, iteration, values):
    """The one line a non-finite blob gives, or None when every value is finite."""
    values = np.asarray(values)
    nan = int(np.count_nonzero(np.isnan(values)))
    inf = int(np.count_nonzero(np.isinf(values)))
    if not nan and not inf:
        return None
    count = int(values.size)
    return ("%snon-finite in layer %s %s top %s %s at iteration %d: fraction %.6g "
            "(%d nan, %d inf of %d)" % (PREFIX, json.dumps(layer), phase, json.dumps(blob),
                                        field, iteration, (nan + inf) / float(count), nan,
                                        inf, count))


class CheckFinite(caffe.Layer):
    """In place after one layer: raise (or only report) when its tops hold NaN/inf."""

    def setup(self, bottom, top):
        params = json.loads(self.param_str or "{}")
        self.layer = params.get("layer", "?")
        self.blobs_named = list(params.get("blobs", []))
        self.stop = bool(params.get("stop", True))
        self.iteration = -1
        if len(bottom) != len(top):
            raise ValueError("CheckFinite after %s: as many tops as bottoms (in place)" %
                             self.layer)

    def reshape(self, bottom, top):
        for b, t in zip(bottom, top):
            t.reshape(*b.data.shape)

    def _name(self, i):
        return self.blobs_named[i] if i < len(self.blobs_named) else "#%d" % i

    def _check(self, blobs, phase, field):
        for i, blob in enumerate(blobs):
            text = message(self.layer, phase, self._name(i), field, self.iteration,
                           getattr(blob, field))
            if text is not None:
                sys.stderr.write(text + "\n")
                sys.stderr.flush()
                if self.stop:
                    raise FloatingPointError(text)

    def forward(self, bottom, top):
        self.iteration += 1
        for b, t in zip(bottom, top):
            if not np.may_share_memory(t.data, b.data):   # not in place: pass the data on
                t.data[...] = b.data
        self._check(bottom, "forward", "data")

    def backward(self, top, propagate_down, bottom):
        self._check(top, "backward", "diff")
        for t, down, b in zip(top, propagate_down, bottom):
            if down and not np.may_share_memory(t.diff, b.diff):
                b.diff[...] = t.diff
