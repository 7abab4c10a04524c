"""Caffe's storage messages (caffe.proto, SSD fork), built at run time from a descriptor.

Building the descriptor here avoids shipping generated *_pb2 code tied to one
protobuf release, and avoids a hand-rolled wire parser.
"""
from __future__ import annotations

from functools import lru_cache

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_OPT, _REP = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
_T = {"int32": _F.TYPE_INT32, "int64": _F.TYPE_INT64, "float": _F.TYPE_FLOAT,
      "bool": _F.TYPE_BOOL, "bytes": _F.TYPE_BYTES, "string": _F.TYPE_STRING,
      "enum": _F.TYPE_ENUM, "msg": _F.TYPE_MESSAGE}

# (message, [(name, number, label, type, type_name)])
_MESSAGES = [
    ("Datum", [("channels", 1, _OPT, "int32", None), ("height", 2, _OPT, "int32", None),
               ("width", 3, _OPT, "int32", None), ("data", 4, _OPT, "bytes", None),
               ("label", 5, _OPT, "int32", None), ("float_data", 6, _REP, "float", None),
               ("encoded", 7, _OPT, "bool", None)]),
    ("NormalizedBBox", [("xmin", 1, _OPT, "float", None), ("ymin", 2, _OPT, "float", None),
                        ("xmax", 3, _OPT, "float", None), ("ymax", 4, _OPT, "float", None),
                        ("label", 5, _OPT, "int32", None), ("difficult", 6, _OPT, "bool", None),
                        ("score", 7, _OPT, "float", None), ("size", 8, _OPT, "float", None)]),
    ("Annotation", [("instance_id", 1, _OPT, "int32", None),
                    ("bbox", 2, _OPT, "msg", ".caffe.NormalizedBBox")]),
    ("AnnotationGroup", [("group_label", 1, _OPT, "int32", None),
                         ("annotation", 2, _REP, "msg", ".caffe.Annotation")]),
    ("AnnotatedDatum", [("datum", 1, _OPT, "msg", ".caffe.Datum"),
                        ("type", 2, _OPT, "int32", None),
                        ("annotation_group", 3, _REP, "msg", ".caffe.AnnotationGroup")]),
]


@lru_cache(maxsize=None)
def _classes() -> dict[str, type]:
    fdp = descriptor_pb2.FileDescriptorProto(name="datascan_caffe_storage.proto",
                                             package="caffe", syntax="proto2")
    for msg_name, fields in _MESSAGES:
        msg = fdp.message_type.add(name=msg_name)
        for name, number, label, typ, type_name in fields:
            f = msg.field.add(name=name, number=number, label=label, type=_T[typ])
            if type_name:
                f.type_name = type_name
    pool = descriptor_pool.DescriptorPool()
    fd = pool.Add(fdp)
    return {name: message_factory.GetMessageClass(fd.message_types_by_name[name])
            for name, _ in _MESSAGES}


def message_class(name: str) -> type:
    return _classes()[name]
