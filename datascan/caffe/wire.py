"""Protobuf's wire form of a schema (a FileDescriptorProto), written directly: the few
encoding rules caffe/proto.py needs, so that building Caffe's classes does not import
descriptor_pb2 and the pure-Python descriptor machinery (issue 14: startup)."""
from __future__ import annotations

# FieldDescriptorProto's Type and Label numbers (descriptor.proto)
_TYPES = {"double": 1, "float": 2, "int64": 3, "int32": 5, "bool": 8, "string": 9, "bytes": 12,
          "uint32": 13}
TYPE_MESSAGE, TYPE_ENUM, LABEL_OPTIONAL, LABEL_REPEATED = 11, 14, 1, 3

_SMALL = [bytes((n,)) for n in range(0x80)]     # one-byte varints: nearly all of the schema's


def _varint(n: int) -> bytes:
    if n < 0x80:
        return _SMALL[n]
    out = bytearray()
    while n > 0x7F:
        out, n = out + bytes([n & 0x7F | 0x80]), n >> 7
    return bytes(out + bytes([n]))


def _field(number: int, value: int | str | bytes) -> bytes:
    """One field of a message on the wire: a varint, or length-delimited (text, a message)."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    raw = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(raw)) + raw


def _enum(name: str, values: dict[str, int]) -> bytes:             # EnumDescriptorProto
    return _field(1, name) + b"".join(_field(2, _field(1, v) + _field(2, n))
                                      for v, n in values.items())


def file_descriptor(file_name: str, package: str, messages_of: dict, enums: dict,
                    packed: set) -> bytes:
    """A serialized FileDescriptorProto (fields in number order, as protobuf writes them) of
    proto2 messages given as {name: [(field, number, type, repeated, default)]}, where a type
    is a scalar name or ".Message" / ".Message.Enum"; `enums` {name: {value: number}} (nested
    when the name has the owner's prefix); `packed` {(message, field)}."""
    messages = []
    for msg_name, fields in messages_of.items():                      # DescriptorProto
        body = _field(1, msg_name)
        for name, number, typ, repeated, default in fields:        # FieldDescriptorProto
            f = _field(1, name) + _field(3, number) + \
                _field(4, LABEL_REPEATED if repeated else LABEL_OPTIONAL)
            if typ.startswith("."):
                f += _field(5, TYPE_ENUM if typ[1:] in enums else TYPE_MESSAGE) + \
                    _field(6, f".{package}{typ}")
            else:
                f += _field(5, _TYPES[typ])
            if default is not None:
                f += _field(7, default)
            if (msg_name, name) in packed:
                f += _field(8, _field(2, 1))                      # FieldOptions.packed
            body += _field(2, f)
        for enum_name, values in enums.items():                    # nested enums
            owner, _, short = enum_name.rpartition(".")
            if owner == msg_name:
                body += _field(4, _enum(short, values))
        messages.append(_field(4, body))
    top = [_field(5, _enum(name, values)) for name, values in enums.items() if "." not in name]
    return b"".join([_field(1, file_name), _field(2, package), *messages, *top,
                     _field(12, "proto2")])
