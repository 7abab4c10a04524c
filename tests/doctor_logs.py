"""Builders of synthetic Caffe logs for the doctor's tests (what real logs lack)."""
from __future__ import annotations

SOLVER = ('base_lr: 0.01\ndisplay: 1\nmax_iter: {max_iter}\nlr_policy: "fixed"\n'
          'momentum: 0.9\ndebug_info: true\nnet: "net.prototxt"')
NET = ('name: "tiny"\nstate {{\n  phase: TRAIN\n}}\nlayer {{\n  name: "data"\n  type: "HDF5Data"\n'
       '  top: "data"\n  top: "label"\n  hdf5_data_param {{\n    source: "list.txt"\n'
       '    batch_size: 4\n  }}\n}}\nlayer {{\n  name: "ip"\n  type: "InnerProduct"\n'
       '  bottom: "data"\n  top: "ip"\n  inner_product_param {{\n    num_output: {classes}\n  }}\n}}\n'
       'layer {{\n  name: "relu"\n  type: "ReLU"\n  bottom: "ip"\n  top: "ip"\n}}\n'
       '{extra}layer {{\n  name: "loss"\n  type: "SoftmaxWithLoss"\n  bottom: "ip"\n'
       '  bottom: "label"\n  top: "loss"\n}}')


def glog(msg: str, sev: str = "I", where: str = "solver.cpp:239") -> str:
    return f"{sev}0102 03:04:05.678901 12345 {where}] {msg}"


def start(max_iter: int = 1000, classes: int = 10, extra: str = "") -> list[str]:
    return [glog("Initializing solver from parameters: ", where="solver.cpp:45"),
            *SOLVER.format(max_iter=max_iter).split("\n"),
            glog("Initializing net from parameters: ", where="net.cpp:53"),
            *NET.format(classes=classes, extra=extra).split("\n"),
            glog("Solving tiny", where="solver.cpp:289")]


def iteration(i: int, loss: float | str, lr: float | str = 0.01, *, debug: dict | None = None,
              out: float | str | None = None) -> list[str]:
    """One display iteration: debug_info lines (``debug``: (phase, layer, desc) -> value),
    the headline loss, its train output, the lr line."""
    lines = []
    for (phase, layer, desc), value in (debug or {}).items():
        lines.append(glog(f"    [{phase}] Layer {layer}, {desc}: {value}", where="net.cpp:593"))
    lines.append(glog(f"Iteration {i} (10 iter/s, 0.1s/1 iters), loss = {loss}"))
    o = loss if out is None else out
    lines.append(glog(f"    Train net output #0: loss = {o} (* 1 = {o} loss)", where="solver.cpp:258"))
    lines.append(glog(f"Iteration {i}, lr = {lr}", where="sgd_solver.cpp:112"))
    return lines


def healthy_debug(scale: float = 1.0) -> dict:
    return {("Forward", "data", "top blob data data"): 0.5,
            ("Forward", "ip", "top blob ip data"): 0.05 * scale,
            ("Forward", "relu", "top blob ip data"): 0.03 * scale,
            ("Forward", "loss", "top blob loss data"): 2.3,
            ("Backward", "loss", "bottom blob ip diff"): 0.04 * scale,
            ("Backward", "ip", "param blob 0 diff"): 0.06 * scale}
