"""Shape tables (summary.py) as findings: the majority shape, and each record of the other
shapes named, within the table's bounds (the dataset-wide checks: dataset.py, loader.py)."""
from __future__ import annotations

from collections.abc import Callable

from ..codes import Code
from ..model import Finding, Severity
from .summary import ShapeGroup, ShapeTable


def fmt(shape) -> str:
    return "x".join(map(str, shape)) if isinstance(shape, tuple) else str(shape)


def span(table: ShapeTable, names: tuple[str, ...]) -> str:
    lo, hi = table.ranges()
    return ", ".join(f"{name} {a}..{b}" for name, a, b in zip(names, lo, hi))


def majority(table: ShapeTable):
    """(shape, group) with the most records; ties go to the larger shape, not to the order
    in which shards came back."""
    return max(table.items(), key=lambda kv: (kv[1].count, str(kv[0])))


def listed(group: ShapeGroup, code: Code, path: str, msg: str, name: str,
           severity: Severity | None) -> list[Finding]:
    """The group's records by name, then one line counting those not kept."""
    out = [Finding.of(code, path, msg, key=k, index=i, severity=severity) for i, k in group.refs]
    if group.truncated:
        out.append(Finding.of(code, path, f"{group.count - group.kept} more records "
                              f"are {name} (not listed one by one)", severity=severity))
    return out


def minorities(table: ShapeTable, path: str, code: Code, severity: Severity | None,
               message: Callable[[object, object, int], str], name=fmt) -> list[Finding]:
    """Every record whose shape is not the majority's, each with message(its shape, the
    majority shape, records of the majority)."""
    if len(table) < 2:
        return []
    top_shape, top = majority(table)
    return [f for shape, group in table.items() if shape != top_shape
            for f in listed(group, code, path, message(shape, top_shape, top.count), name(shape),
                            severity)]
