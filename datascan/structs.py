"""``@dataclass`` for the classes a scan defines at startup, at a fraction of its cost.

The standard decorator compiles six methods one by one for every frozen class and builds an
``inspect.Signature`` for its doc: ~4 M instructions (~1 ms) a class, and a tiny scan defines
some forty of them (issue 14: a scan of a tiny LMDB in < 1.5x ``import numpy, lmdb``). Here
only ``__init__`` is compiled (the one method whose speed matters: records make findings and
samples by the thousand), when the first instance is made; ``__repr__``, ``__eq__``,
``__hash__`` and the frozen ``__setattr__`` are shared functions over the field names.

What the project's classes use of dataclasses behaves the same: ``frozen``, ``eq``,
``slots``, defaults and ``field(default_factory=...)``, ``__post_init__``, keyword or
positional construction, equality and hashing by the fields' tuple, the repr, pickling, and
this module's ``replace``, ``fields`` and ``asdict``. The standard ``dataclasses.replace``,
``fields``, ``asdict`` and ``is_dataclass`` work on these classes too: their
``__dataclass_fields__`` is built (importing dataclasses) the first time it is asked for.
Not supported (not used here; refused rather than ignored): order, kw_only, InitVar,
ClassVar annotations, and inheriting from another dataclass.
Until a class's first instance its ``__init__`` is a stub taking ``*args, **kwargs`` (which is
what ``inspect.signature`` shows of it).
"""
from __future__ import annotations

__all__ = ["FrozenInstanceError", "asdict", "dataclass", "field", "fields", "replace"]

_MISSING = object()
_FIELDS = "__struct_fields__"        # the class's field names, in order (a tuple)


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen instance."""


class _Factory:
    __slots__ = ("factory",)

    def __init__(self, factory):
        self.factory = factory


def field(*, default_factory):
    """A field whose default is made anew for each instance (the only field() used here)."""
    return _Factory(default_factory)


class _LazyFields:
    """``__dataclass_fields__``: the standard module's Field objects, made when first asked."""

    def __get__(self, obj, cls):
        import dataclasses
        spec = []
        for name in getattr(cls, _FIELDS):
            default = cls.__struct_defaults__.get(name, _MISSING)
            if isinstance(default, _Factory):
                spec.append((name, object, dataclasses.field(default_factory=default.factory)))
            elif default is _MISSING:
                spec.append((name, object))
            else:
                spec.append((name, object, dataclasses.field(default=default)))
        # The standard module's own Field objects, made through its public API (a throwaway
        # dataclass of the same fields), with the real annotations put back.
        out = dict(dataclasses.make_dataclass(cls.__name__, spec).__dataclass_fields__)
        for name, f in out.items():
            f.type = cls.__annotations__.get(name)
        type.__setattr__(cls, "__dataclass_fields__", out)   # built once per class
        return out


def _values(self) -> tuple:
    return tuple([getattr(self, name) for name in getattr(self, _FIELDS)])


def _repr(self) -> str:
    inner = ", ".join([f"{name}={getattr(self, name)!r}" for name in getattr(self, _FIELDS)])
    return f"{self.__class__.__qualname__}({inner})"


def _eq(self, other):
    if other.__class__ is self.__class__:
        return _values(self) == _values(other)
    return NotImplemented


def _hash(self) -> int:
    return hash(_values(self))


def _frozen_setattr(self, name, value):
    if type(self) is self.__struct_class__ or name in getattr(self, _FIELDS):
        raise FrozenInstanceError(f"cannot assign to field {name!r}")
    super(self.__struct_class__, self).__setattr__(name, value)


def _frozen_delattr(self, name):
    if type(self) is self.__struct_class__ or name in getattr(self, _FIELDS):
        raise FrozenInstanceError(f"cannot delete field {name!r}")
    super(self.__struct_class__, self).__delattr__(name)


def _getstate(self):
    return list(_values(self))


def _setstate(self, state):
    for name, value in zip(getattr(self, _FIELDS), state):
        object.__setattr__(self, name, value)


def _lazy_init(self, *args, **kwargs):
    """The first instance of a class compiles its ``__init__`` (many are never made)."""
    cls = self.__struct_class__
    if cls.__dict__.get("__init__") is _lazy_init:
        type.__setattr__(cls, "__init__", _init(cls, getattr(cls, _FIELDS), cls.__struct_defaults__,
                                                cls.__struct_frozen__))
    cls.__init__(self, *args, **kwargs)


def _init(cls, names: tuple, defaults: dict, frozen: bool):
    """``__init__`` for these fields, compiled (one small exec per class)."""
    params, body, env = [], [], {"__struct_object__": object}
    for name in names:
        default = defaults.get(name, _MISSING)
        if isinstance(default, _Factory):
            env[f"__factory_{name}"] = default.factory
            params.append(f"{name}=__struct_missing__")
            value = f"__factory_{name}() if {name} is __struct_missing__ else {name}"
            env["__struct_missing__"] = _MISSING
        elif default is _MISSING:
            params.append(name)
            value = name
        else:
            env[f"__default_{name}"] = default
            params.append(f"{name}=__default_{name}")
            value = name
        body.append(f"__struct_object__.__setattr__(self, {name!r}, {value})" if frozen
                    else f"self.{name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    src = (f"def __create__({', '.join(env)}):\n"
           f" def __init__(self, {', '.join(params)}):\n  " + ("\n  ".join(body) or "pass")
           + "\n return __init__")
    scope: dict = {}
    exec(src, {}, scope)          # noqa: S102 -- the source is made of field names only
    fn = scope["__create__"](**env)
    fn.__qualname__ = f"{cls.__qualname__}.__init__"
    return fn


def _is_classvar(annotation) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar", "InitVar", "dataclasses.InitVar"))


def _process(cls, frozen: bool, eq: bool, slots: bool):
    if any(hasattr(base, _FIELDS) or hasattr(base, "__dataclass_fields__")
           for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__name__}: structs.dataclass does not inherit fields")
    annotations = cls.__dict__.get("__annotations__", {})
    names = tuple(annotations)
    if any(_is_classvar(a) for a in annotations.values()):
        raise TypeError(f"{cls.__name__}: structs.dataclass takes no ClassVar or InitVar")
    defaults, seen_default = {}, False
    for name in names:
        if name in cls.__dict__:
            defaults[name] = cls.__dict__[name]
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {name!r} follows default argument")
    body = dict(cls.__dict__)
    for name, default in defaults.items():
        if isinstance(default, _Factory) or slots:
            body.pop(name)
    if slots:
        body["__slots__"] = names
        body.pop("__dict__", None)
        body.pop("__weakref__", None)
        qualname = cls.__qualname__
        cls = type(cls)(cls.__name__, cls.__bases__, body)
        cls.__qualname__ = qualname
    else:
        for name, default in defaults.items():
            if isinstance(default, _Factory):
                delattr(cls, name)
    own = cls.__dict__
    attrs = {_FIELDS: names, "__struct_defaults__": defaults, "__struct_class__": cls,
             "__dataclass_fields__": _LazyFields(), "__match_args__": names,
             "__struct_frozen__": frozen, "__init__": _lazy_init}
    if own.get("__doc__") is None:     # as dataclasses does, without building a Signature
        attrs["__doc__"] = f"{cls.__name__}({', '.join(names)})"
    if "__repr__" not in own:
        attrs["__repr__"] = _repr
    if eq and "__eq__" not in own:
        attrs["__eq__"] = _eq
    explicit_hash = own.get("__hash__", _MISSING) not in (_MISSING, None) or (
        "__hash__" in own and "__eq__" not in cls.__dict__)
    if eq and not explicit_hash:
        attrs["__hash__"] = _hash if frozen else None
    if frozen:
        attrs["__setattr__"], attrs["__delattr__"] = _frozen_setattr, _frozen_delattr
        if slots:
            attrs["__getstate__"], attrs["__setstate__"] = _getstate, _setstate
    for name, value in attrs.items():
        if name == "__init__" and "__init__" in own:
            continue
        type.__setattr__(cls, name, value)
    return cls


def dataclass(cls=None, /, *, frozen: bool = False, eq: bool = True, slots: bool = False):
    """``dataclasses.dataclass`` with the options used here (see the module doc)."""
    def wrap(c):
        return _process(c, frozen, eq, slots)
    return wrap if cls is None else wrap(cls)


def fields(obj) -> tuple:
    """The field names of a class made here or of one of its instances, in order."""
    if not hasattr(obj, _FIELDS):
        import dataclasses
        return tuple(f.name for f in dataclasses.fields(obj))
    return getattr(obj, _FIELDS)


def replace(obj, /, **changes):
    """A copy of ``obj`` with some fields changed (``__init__`` and ``__post_init__`` run);
    ``obj`` may be a standard dataclass too."""
    if not hasattr(type(obj), _FIELDS):
        import dataclasses
        return dataclasses.replace(obj, **changes)
    for name in getattr(obj, _FIELDS):
        if name not in changes:
            changes[name] = getattr(obj, name)
    return obj.__class__(**changes)


def asdict(obj):
    """``dataclasses.asdict`` for these classes (and nested lists, tuples and dicts of them)."""
    if hasattr(type(obj), _FIELDS):
        return {name: asdict(getattr(obj, name)) for name in getattr(obj, _FIELDS)}
    if hasattr(type(obj), "__dataclass_fields__"):        # a standard dataclass
        return {name: asdict(getattr(obj, name)) for name in fields(obj)}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*[asdict(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return type(obj)(asdict(v) for v in obj)
    if isinstance(obj, dict):
        return type(obj)((asdict(k), asdict(v)) for k, v in obj.items())
    import copy
    return copy.deepcopy(obj)
