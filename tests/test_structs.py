"""datascan.structs.dataclass behaves as dataclasses.dataclass does for what the project uses."""
from __future__ import annotations

import dataclasses
import pickle

import pytest

from datascan import structs
from datascan.model import Finding, Severity


@structs.dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int = 0
    tags: tuple = ()


@structs.dataclass
class Bag:
    name: str
    items: list = structs.field(default_factory=list)

    def __post_init__(self):
        self.name = self.name.upper()


def test_construction_defaults_equality_hash_and_repr():
    assert Point(1) == Point(x=1, y=0) == Point(1, 0, ())
    assert Point(1) != Point(2) and Point(1) != (1, 0, ())
    assert hash(Point(1, 2)) == hash(Point(1, 2)) and len({Point(1), Point(1), Point(2)}) == 2
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=())"
    assert Point.__qualname__ == "Point" and Point.__match_args__ == ("x", "y", "tags")
    assert Point.__doc__ == "Point(x, y, tags)"
    with pytest.raises(TypeError):
        Point()
    with pytest.raises(TypeError):
        Point(1, z=3)


def test_frozen_and_mutable_classes():
    p = Point(1)
    with pytest.raises(dataclasses.FrozenInstanceError.__base__):   # AttributeError
        p.x = 2
    with pytest.raises(structs.FrozenInstanceError):
        del p.y
    a, b = Bag("a"), Bag("b")
    a.items.append(1)
    assert a.name == "A" and b.items == [] and Bag.__hash__ is None
    a.name = "C"
    assert a == Bag("c", [1])


def test_replace_fields_asdict_and_pickle_also_through_the_standard_module():
    p = Point(1, 2, ("t",))
    assert structs.replace(p, y=5) == dataclasses.replace(p, y=5) == Point(1, 5, ("t",))
    names = tuple(f.name for f in dataclasses.fields(Point))
    assert structs.fields(p) == names == ("x", "y", "tags")
    assert dataclasses.is_dataclass(p)
    assert structs.asdict(p) == dataclasses.asdict(p) == {"x": 1, "y": 2, "tags": ("t",)}
    assert pickle.loads(pickle.dumps(p)) == p
    f = Finding("DS100", Severity.ERROR, "p", "k", 3, "m")
    assert pickle.loads(pickle.dumps(f)) == f
    assert structs.replace(Bag("x"), items=[2]) == Bag("X", [2])


def test_a_standard_dataclass_is_replaced_too():
    @dataclasses.dataclass(frozen=True)
    class Std:
        a: int
        b: int = 1
    assert structs.replace(Std(1), b=2) == Std(1, 2) and structs.fields(Std) == ("a", "b")
