"""Lint of a Caffe solver and net: settings that predict a failed run (DS9xx), each with its fix.

Each rule is a check (checks/base.py) declaring its codes, read by ``lint``. The sources of
every rule: ../shared/doctor/DIAGNOSES.md (R4, R10-R14) and CAFFE_LOG_FORMATS.md section 3.
A problem is (code, message, layer or None).
"""
from __future__ import annotations

from pathlib import Path

from ..checks.base import DEFINITION, Check
from ..codes import (LINT_AVE_POOL, LINT_BACKEND, LINT_BN_GLOBAL, LINT_HDF5_TRANSFORM,
                     LINT_INFOGAIN, LINT_LR_GROWS, LINT_LR_POLICY, LINT_MEAN_BOTH, LINT_MOMENTUM,
                     Code)

Problem = tuple[Code, str, "str | None"]
_GAMMA_POLICIES = ("step", "exp", "inv", "multistep", "sigmoid")
_KNOWN_POLICIES = ("fixed", "step", "exp", "inv", "multistep", "poly", "sigmoid")


def _get(msg, name):
    return getattr(msg, name) if msg is not None and msg.HasField(name) else None


class LintRule(Check):
    reads = (DEFINITION,)

    def solver(self, s) -> list[Problem]:
        return []

    def net(self, layers: list[tuple[str, str, object]], ctx: "LintContext") -> list[Problem]:
        """``layers``: (phase, type, layer message) of the TRAIN and TEST nets."""
        return []


def distinct(layers) -> list[tuple[str, object]]:
    """(type, message) of each layer once: a layer of both phases is linted once."""
    seen: dict[str, tuple[str, object]] = {}
    for _, kind, msg in layers:
        seen.setdefault(msg.name, (kind, msg))
    return list(seen.values())


class LintContext:
    def __init__(self, base: Path, cwd: Path):
        self.base, self.cwd = base, cwd


class LrPolicy(LintRule):
    """The lr policy has what its formula needs (sgd_solver.cpp GetLearningRate): poly a
    max_iter (else 0/0 = nan) and a power, step/sigmoid a stepsize, the gamma policies a
    gamma, multistep sorted stepvalues, fixed a base_lr; and nothing makes lr grow."""
    codes = (LINT_LR_POLICY, LINT_LR_GROWS)

    def solver(self, s) -> list[Problem]:
        out: list[Problem] = []
        policy, base_lr = _get(s, "lr_policy"), _get(s, "base_lr")
        max_iter, gamma, power = _get(s, "max_iter"), _get(s, "gamma"), _get(s, "power")

        def bad(text: str, code: Code = LINT_LR_POLICY) -> None:
            out.append((code, text, None))
        if policy is None:
            bad("lr_policy is not set: Caffe stops at the first update with \"Unknown learning "
                "rate policy\" -- set lr_policy (\"fixed\", \"step\", ...)")
        elif policy not in _KNOWN_POLICIES:
            bad(f"lr_policy {policy!r} is not a Caffe policy: \"Unknown learning rate policy\"")
        if not max_iter:
            extra = " and the poly formula divides by 0 (lr = nan from pycaffe's step())" \
                if policy == "poly" else ""
            bad(f"max_iter is {'not set' if max_iter is None else 0}: caffe train runs zero "
                f"iterations{extra} -- set max_iter")
        if not base_lr:
            bad("base_lr is not set (0): lr is 0 and nothing learns -- set base_lr")
        if policy == "poly" and power is None:
            bad("poly without power: lr stays base_lr (power 0) -- set power (e.g. 1 or 0.9)")
        if policy in ("step", "sigmoid") and not _get(s, "stepsize"):
            bad(f"{policy} without stepsize: Caffe stops with \"Check failed: "
                "this->param_.stepsize() > 0\" -- set stepsize")
        if policy in _GAMMA_POLICIES and gamma is None:
            bad(f"{policy} without gamma: gamma is 0, so lr drops to 0 after the first step "
                "-- set gamma (0.1 is usual)")
        if policy == "multistep":
            steps = list(s.stepvalue)
            if not steps:
                bad("multistep without stepvalue: lr never changes -- add stepvalue lines")
            elif steps != sorted(steps):
                bad(f"multistep stepvalues {steps} are not increasing: Caffe advances one step "
                    "at a time, so the later ones never apply -- sort them")
        if policy in ("step", "exp", "multistep") and gamma is not None and gamma > 1:
            bad(f"{policy} with gamma {gamma:g} > 1: lr grows every step until it overflows "
                "to inf -- use gamma <= 1", LINT_LR_GROWS)
        if policy in ("inv", "poly") and power is not None and power < 0:
            bad(f"{policy} with power {power:g} < 0: lr grows -- use power >= 0", LINT_LR_GROWS)
        return out


class Momentum(LintRule):
    """momentum below 1: at 1 or more the update's history never decays."""
    codes = (LINT_MOMENTUM,)

    def solver(self, s) -> list[Problem]:
        m = _get(s, "momentum")
        if m is not None and m >= 1:
            return [(LINT_MOMENTUM, f"momentum {m:g} >= 1: every past gradient keeps its "
                     "weight and the update grows without bound -- use 0.9", None)]
        return []


class AvePooling(LintRule):
    """AVE pooling with stride > kernel and no pad: where the last window starts exactly at
    the border its size is 0 and the top is 0/0 = NaN (pooling_layer.cpp)."""
    codes = (LINT_AVE_POOL,)

    def net(self, layers, ctx) -> list[Problem]:
        out: list[Problem] = []
        for kind, msg in distinct(layers):
            p = _get(msg, "pooling_param")
            if kind != "Pooling" or p is None or p.pool != 1 or p.global_pooling \
                    or p.round_mode == 1:
                continue
            k = _get(p, "kernel_size") or _get(p, "kernel_h") or 0
            st = _get(p, "stride_h") or p.stride
            pad = p.pad or p.pad_h
            if k and st > k and not pad:
                sizes = [h for h in range(k, 1024) if -(-(h - k) // st) * st == h][:4]
                out.append((LINT_AVE_POOL, f"layer {msg.name}: AVE pooling kernel {k} stride {st} "
                            f"without pad gives NaN on inputs of size {', '.join(map(str, sizes))}"
                            f", ... -- make stride <= {k}, or add pad", msg.name))
        return out


class DataBackend(LintRule):
    """A Data layer over an LMDB must say `backend: LMDB`: Caffe's default is LEVELDB."""
    codes = (LINT_BACKEND,)

    def net(self, layers, ctx) -> list[Problem]:
        from .netspec import resolve
        out: list[Problem] = []
        for kind, msg in distinct(layers):
            p = _get(msg, "data_param")
            if kind not in ("Data", "AnnotatedData") or p is None or p.HasField("backend") \
                    or not p.source:
                continue
            path = resolve(p.source, ctx.base, ctx.cwd)
            lmdb = (path / "data.mdb").is_file() or (not path.exists() and "lmdb" in
                                                     p.source.lower())
            if lmdb:
                out.append((LINT_BACKEND, f"layer {msg.name}: source {p.source} is an LMDB but "
                            "data_param has no backend, and Caffe's default is LEVELDB (\"Failed "
                            "to open leveldb\") -- add `backend: LMDB`", msg.name))
        return out


class Transforms(LintRule):
    """transform_param where Caffe refuses it: on HDF5Data, or mean_file with mean_value."""
    codes = (LINT_HDF5_TRANSFORM, LINT_MEAN_BOTH)

    def net(self, layers, ctx) -> list[Problem]:
        out: list[Problem] = []
        for kind, msg in distinct(layers):
            t = _get(msg, "transform_param")
            if t is None:
                continue
            if kind == "HDF5Data":
                out.append((LINT_HDF5_TRANSFORM, f"layer {msg.name}: HDF5Data with transform_param:"
                            " Caffe aborts (\"HDF5Data does not transform data\") -- scale when "
                            "writing the HDF5 file, or add a Scale/Power layer", msg.name))
            if t.HasField("mean_file") and len(t.mean_value):
                out.append((LINT_MEAN_BOTH, f"layer {msg.name}: mean_file and mean_value together:"
                            " Caffe aborts -- keep one", msg.name))
        return out


class BatchNormGlobalStats(LintRule):
    """BatchNorm with use_global_stats: true in the TRAIN net: frozen statistics."""
    codes = (LINT_BN_GLOBAL,)

    def net(self, layers, ctx) -> list[Problem]:
        frozen = [msg for phase, kind, msg in layers if phase == "TRAIN" and kind == "BatchNorm"
                  and _get(msg, "batch_norm_param") is not None
                  and msg.batch_norm_param.use_global_stats]
        if not frozen:
            return []
        names = [m.name for m in frozen]
        fine_tune = all(len(m.param) and all(p.lr_mult == 0 for p in m.param) for m in frozen)
        why = ("with lr_mult 0: fine if fine-tuning from a model with good statistics, wrong "
               "from scratch") if fine_tune else "statistics stay at their initial 0"
        return [(LINT_BN_GLOBAL, f"{len(names)} BatchNorm layer(s) ({', '.join(names[:4])}"
                 f"{' ...' if len(names) > 4 else ''}) use_global_stats: true in TRAIN: {why} "
                 "-- leave use_global_stats unset", names[0])]


class Infogain(LintRule):
    """InfogainLoss: probabilities before 2016-03, raw scores since: say which it gets."""
    codes = (LINT_INFOGAIN,)

    def net(self, layers, ctx) -> list[Problem]:
        types = {}
        for _, kind, msg in layers:
            for top in msg.top:
                types.setdefault(top, kind)
        for _, kind, msg in layers:
            if kind == "InfogainLoss" and msg.bottom:
                fed = types.get(msg.bottom[0], "?")
                gets = "probabilities (a Softmax)" if fed == "Softmax" else f"a {fed} output"
                return [(LINT_INFOGAIN, f"layer {msg.name}: InfogainLoss gets {gets}: Caffe "
                         "since 2016-03 applies its own softmax (feed raw scores), older Caffe "
                         "expects probabilities -- match it to your Caffe", msg.name)]
        return []


LINT_RULES = (LrPolicy, Momentum, AvePooling, DataBackend, Transforms, BatchNormGlobalStats,
              Infogain)


def lint(solver=None, net=None, *, base: Path | None = None,
         cwd: Path | None = None) -> list[Problem]:
    """Every lint problem of a SolverParameter and a NetParameter (either may be None)."""
    from .layers import phase_layers
    ctx = LintContext(base or Path.cwd(), cwd or Path.cwd())
    layers = []
    if net is not None:
        for phase in ("TRAIN", "TEST"):
            layers += [(phase, kind, msg) for kind, msg in phase_layers(net, phase)]
    out: list[Problem] = []
    for rule in LINT_RULES:
        r = rule()
        if solver is not None:
            out += r.solver(solver)
        if layers:
            out += r.net(layers, ctx)
    return out
