"""`datascan doctor --instrument NET -o OUT`: a copy of the net with datascan's check layer
(checklayer.py, written beside OUT as datascan_check.py) in place after every layer with
tops, or after the layers named. The net's text is kept as written (comments, every field,
even those datascan's proto subset does not declare): check layers are inserted after each
`layer { ... }` block, with that layer's include/exclude rules so they live in the same phases.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

MODULE = "datascan_check"
CLASS = "CheckFinite"
_NAME = re.compile(r"([A-Za-z_]\w*)\s*:?\s*$")
SKIPPED = ("Loss", "Accuracy", "Silence")       # type substrings: no check after these


@dataclass(frozen=True)
class Instrumented:
    text: str                  # the net with its check layers
    module: str                # the check layer's source (datascan_check.py)
    after: tuple[str, ...]     # the layers checked, in net order


def blocks(text: str, field: str) -> list[tuple[int, int]]:
    """(start, end) of each top-level `field { ... }` in prototxt text: braces counted outside
    strings and # comments."""
    out, depth, i, n, start = [], 0, 0, len(text), -1
    while i < n:
        c = text[i]
        if c == "#":
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if c == "{":
            if depth == 0:
                lo = max(0, i - 200)
                m = _NAME.search(text, lo, i)
                start = m.start() if m is not None and m.group(1) == field else -1
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                raise UsageError("unbalanced braces in the net")
            if depth == 0 and start >= 0:
                out.append((start, i + 1))
                start = -1
        i += 1
    return out


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def instrument(text: str, after: list[str] | None = None, *, stop: bool = True,
               where: str = "net") -> Instrumented:
    from ..caffe.proto import parse_net_text
    net = parse_net_text(text, where=where)
    if net.layers and not net.layer:
        raise UsageError(f"{where}: a V1 net (`layers {{ type: CONVOLUTION }}`): upgrade it "
                         "first (Caffe's tools/upgrade_net_proto_text)")
    spans = blocks(text, "layer")
    if len(spans) != len(net.layer):
        raise UsageError(f"{where}: found {len(spans)} layer blocks, the parser {len(net.layer)}")
    names = [layer.name for layer in net.layer]
    wanted = set(after) if after else None
    if wanted is not None and wanted - set(names):
        raise UsageError(f"--after: no layer {', '.join(sorted(wanted - set(names)))} in {where} "
                         f"(its layers: {', '.join(names[:20])}"
                         f"{' ...' if len(names) > 20 else ''})")
    out, pos, done = [], 0, []
    for (start, end), layer in zip(spans, net.layer):
        out.append(text[pos:end])
        pos = end
        tops = list(dict.fromkeys(layer.top))
        if not tops or (wanted is not None and layer.name not in wanted):
            continue
        if wanted is None and (any(s in layer.type for s in SKIPPED) or
                               layer.type == "Python" and layer.python_param.layer == CLASS):
            continue
        name = "check_" + layer.name
        while name in names:
            name += "_"
        out.append("\n" + _check_block(layer, name, tops, text[start:end], stop))
        done.append(layer.name)
    out.append(text[pos:])
    return Instrumented("".join(out), module_source(), tuple(done))


def _check_block(layer, name: str, tops: list[str], source: str, stop: bool) -> str:
    params = json.dumps({"layer": layer.name, "blobs": tops, "stop": stop})
    inner = source[source.index("{") + 1:source.rindex("}")]
    rules = [inner[a:b] for field in ("include", "exclude") for a, b in blocks(inner, field)]
    lines = ["layer {", f"  name: {_quote(name)}", '  type: "Python"']
    lines += [f"  bottom: {_quote(t)}" for t in tops] + [f"  top: {_quote(t)}" for t in tops]
    lines += [f"  {r.strip()}" for r in rules]
    lines += ["  python_param {", f"    module: {_quote(MODULE)}", f"    layer: {_quote(CLASS)}",
              f"    param_str: {_quote(params)}", "  }", "}"]
    return "\n".join(lines)


def module_source() -> str:
    return (Path(__file__).parent / "checklayer.py").read_text(encoding="utf-8")


def write(net: str | Path, output: str | Path, after: list[str] | None = None) -> str:
    """Write OUTPUT (the net with check layers) and datascan_check.py beside it; the one line
    that says what was written."""
    net, output = Path(net), Path(output)
    try:
        text = net.read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot read {net}: {e.strerror or e}") from None
    done = instrument(text, after, where=str(net))
    module = output.parent / f"{MODULE}.py"
    try:
        output.write_text(done.text, encoding="utf-8")
        module.write_text(done.module, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot write {output}: {e.strerror or e}") from None
    return (f"wrote {output} ({len(done.after)} check layer(s): after "
            f"{', '.join(done.after[:8])}{' ...' if len(done.after) > 8 else ''}) and {module}; "
            f"run Caffe with {module.parent} on PYTHONPATH (WITH_PYTHON_LAYER=1)")
