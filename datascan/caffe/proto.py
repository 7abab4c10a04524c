"""The subset of caffe.proto datascan reads, built at run time: the one copy of Caffe's
messages (Datum and SSD's AnnotatedDatum for the records, nets, solvers, mean files).

Field numbers and defaults are those of BVLC/caffe src/caffe/proto/caffe.proto
(proto2, package "caffe"), plus AnnotatedDatum, LabelMap, AnnotatedDataParameter and
MultiBoxLossParameter from the SSD fork. Only what datascan reads is declared: ``parse_text`` skips every other field of
a real net (pooling_param, weight_filler, ...) instead of failing on it. Building the
descriptor here avoids shipping generated *_pb2 code tied to one protobuf release and a
hand-rolled wire parser; the classes live in a private descriptor pool so they never
clash with another caffe.proto loaded in the same process (a user's caffe_pb2).

The schema is written straight to its wire form (``serialized_file``, a FileDescriptorProto),
not built with descriptor_pb2: that module and descriptor_pool.py's pure-Python machinery
(text_format, python_message) cost more to import than a tiny scan takes. With a C backend
(upb, cpp) the classes come from its own pool and metaclass, as message_factory makes them
there, minus those imports; text_format loads only when a prototxt is parsed.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..errors import UsageError
from .wire import file_descriptor

# V1LayerParameter.LayerType, for the legacy `layers { type: DATA }` nets.
V1_LAYER_TYPES = {
    "NONE": 0, "ABSVAL": 35, "ACCURACY": 1, "ARGMAX": 30, "BNLL": 2, "CONCAT": 3,
    "CONTRASTIVE_LOSS": 37, "CONVOLUTION": 4, "DATA": 5, "DECONVOLUTION": 39, "DROPOUT": 6,
    "DUMMY_DATA": 32, "EUCLIDEAN_LOSS": 7, "ELTWISE": 25, "EXP": 38, "FLATTEN": 8,
    "HDF5_DATA": 9, "HDF5_OUTPUT": 10, "HINGE_LOSS": 28, "IM2COL": 11, "IMAGE_DATA": 12,
    "INFOGAIN_LOSS": 13, "INNER_PRODUCT": 14, "LRN": 15, "MEMORY_DATA": 29,
    "MULTINOMIAL_LOGISTIC_LOSS": 16, "MVN": 34, "POOLING": 17, "POWER": 26, "RELU": 18,
    "SIGMOID": 19, "SIGMOID_CROSS_ENTROPY_LOSS": 27, "SILENCE": 36, "SOFTMAX": 20,
    "SOFTMAX_LOSS": 21, "SPLIT": 22, "SLICE": 33, "TANH": 23, "WINDOW_DATA": 24, "THRESHOLD": 31,
}

# Top-level and nested enums: name -> {value name: number}
_ENUMS = {
    "Phase": {"TRAIN": 0, "TEST": 1},
    "DataParameter.DB": {"LEVELDB": 0, "LMDB": 1},
    "LossParameter.NormalizationMode": {"FULL": 0, "VALID": 1, "BATCH_SIZE": 2, "NONE": 3},
    "PoolingParameter.PoolMethod": {"MAX": 0, "AVE": 1, "STOCHASTIC": 2},
    "PoolingParameter.RoundMode": {"CEIL": 0, "FLOOR": 1},
    "SolverParameter.SolverType": {"SGD": 0, "NESTEROV": 1, "ADAGRAD": 2, "RMSPROP": 3,
                                   "ADADELTA": 4, "ADAM": 5},
    "V1LayerParameter.LayerType": V1_LAYER_TYPES,
}

# message -> [(name, number, type, repeated, default)]; a type starting with "."
# is a message or enum of this file. Order matters only for readability.
_MESSAGES: dict[str, list[tuple]] = {
    "BlobShape": [("dim", 1, "int64", True, None)],
    "BlobProto": [("shape", 7, ".BlobShape", False, None), ("data", 5, "float", True, None),
                  ("diff", 6, "float", True, None), ("double_data", 8, "double", True, None),
                  ("double_diff", 9, "double", True, None), ("num", 1, "int32", False, "0"),
                  ("channels", 2, "int32", False, "0"), ("height", 3, "int32", False, "0"),
                  ("width", 4, "int32", False, "0")],
    "Datum": [("channels", 1, "int32", False, None), ("height", 2, "int32", False, None),
              ("width", 3, "int32", False, None), ("data", 4, "bytes", False, None),
              ("label", 5, "int32", False, None), ("float_data", 6, "float", True, None),
              ("encoded", 7, "bool", False, "false")],
    # SSD's AnnotatedDatum (the detection fork's convert_annoset writes it)
    "NormalizedBBox": [("xmin", 1, "float", False, None), ("ymin", 2, "float", False, None),
                       ("xmax", 3, "float", False, None), ("ymax", 4, "float", False, None),
                       ("label", 5, "int32", False, None), ("difficult", 6, "bool", False, None),
                       ("score", 7, "float", False, None), ("size", 8, "float", False, None)],
    "Annotation": [("instance_id", 1, "int32", False, None),
                   ("bbox", 2, ".NormalizedBBox", False, None)],
    "AnnotationGroup": [("group_label", 1, "int32", False, None),
                        ("annotation", 2, ".Annotation", True, None)],
    "AnnotatedDatum": [("datum", 1, ".Datum", False, None), ("type", 2, "int32", False, None),
                       ("annotation_group", 3, ".AnnotationGroup", True, None)],
    # SSD's labelmap.prototxt (AnnotatedDataParameter.label_map_file, convert_annoset --label_map_file)
    "LabelMapItem": [("name", 1, "string", False, None), ("label", 2, "int32", False, None),
                     ("display_name", 3, "string", False, None)],
    "LabelMap": [("item", 1, ".LabelMapItem", True, None)],
    "NetState": [("phase", 1, ".Phase", False, "TEST"), ("level", 2, "int32", False, "0"),
                 ("stage", 3, "string", True, None)],
    "NetStateRule": [("phase", 1, ".Phase", False, None), ("min_level", 2, "int32", False, None),
                     ("max_level", 3, "int32", False, None), ("stage", 4, "string", True, None),
                     ("not_stage", 5, "string", True, None)],
    "TransformationParameter": [
        ("scale", 1, "float", False, "1"), ("mirror", 2, "bool", False, "false"),
        ("crop_size", 3, "uint32", False, "0"), ("mean_file", 4, "string", False, None),
        ("mean_value", 5, "float", True, None), ("force_color", 6, "bool", False, "false"),
        ("force_gray", 7, "bool", False, "false")],
    "LossParameter": [("ignore_label", 1, "int32", False, None),
                      ("normalize", 2, "bool", False, None),
                      ("normalization", 3, ".LossParameter.NormalizationMode", False, "VALID")],
    "AccuracyParameter": [("top_k", 1, "uint32", False, "1"), ("axis", 2, "int32", False, "1"),
                          ("ignore_label", 3, "int32", False, None)],
    "DataParameter": [
        ("source", 1, "string", False, None), ("batch_size", 4, "uint32", False, None),
        ("rand_skip", 7, "uint32", False, "0"),
        ("backend", 8, ".DataParameter.DB", False, "LEVELDB"),
        ("scale", 2, "float", False, "1"), ("mean_file", 3, "string", False, None),
        ("crop_size", 5, "uint32", False, "0"), ("mirror", 6, "bool", False, "false"),
        ("force_encoded_color", 9, "bool", False, "false"), ("prefetch", 10, "uint32", False, "4")],
    "HDF5DataParameter": [("source", 1, "string", False, None),
                          ("batch_size", 2, "uint32", False, None),
                          ("shuffle", 3, "bool", False, "false")],
    "ImageDataParameter": [
        ("source", 1, "string", False, None), ("batch_size", 4, "uint32", False, "1"),
        ("rand_skip", 7, "uint32", False, "0"), ("shuffle", 8, "bool", False, "false"),
        ("new_height", 9, "uint32", False, "0"), ("new_width", 10, "uint32", False, "0"),
        ("is_color", 11, "bool", False, "true"), ("scale", 2, "float", False, "1"),
        ("mean_file", 3, "string", False, None), ("crop_size", 5, "uint32", False, "0"),
        ("mirror", 6, "bool", False, "false"), ("root_folder", 12, "string", False, "")],
    "AnnotatedDataParameter": [("label_map_file", 2, "string", False, None)],
    "MultiBoxLossParameter": [("num_classes", 4, "uint32", False, None),
                              ("background_label_id", 9, "uint32", False, "0")],
    "InnerProductParameter": [("num_output", 1, "uint32", False, None),
                              ("bias_term", 2, "bool", False, "true"),
                              ("axis", 5, "int32", False, "1"),
                              ("transpose", 6, "bool", False, "false")],
    "ConvolutionParameter": [("num_output", 1, "uint32", False, None),
                             ("bias_term", 2, "bool", False, "true")],
    "PoolingParameter": [
        ("pool", 1, ".PoolingParameter.PoolMethod", False, "MAX"),
        ("pad", 4, "uint32", False, "0"), ("pad_h", 9, "uint32", False, "0"),
        ("pad_w", 10, "uint32", False, "0"), ("kernel_size", 2, "uint32", False, None),
        ("kernel_h", 5, "uint32", False, None), ("kernel_w", 6, "uint32", False, None),
        ("stride", 3, "uint32", False, "1"), ("stride_h", 7, "uint32", False, None),
        ("stride_w", 8, "uint32", False, None), ("global_pooling", 12, "bool", False, "false"),
        ("round_mode", 13, ".PoolingParameter.RoundMode", False, "CEIL")],
    "BatchNormParameter": [("use_global_stats", 1, "bool", False, None),
                           ("moving_average_fraction", 2, "float", False, "0.999"),
                           ("eps", 3, "float", False, "1e-05")],
    "PythonParameter": [("module", 1, "string", False, None), ("layer", 2, "string", False, None),
                        ("param_str", 3, "string", False, ""),
                        ("share_in_parallel", 4, "bool", False, "false")],
    "ParamSpec": [("name", 1, "string", False, None), ("lr_mult", 3, "float", False, "1"),
                  ("decay_mult", 4, "float", False, "1")],
    "LayerParameter": [
        ("name", 1, "string", False, None), ("type", 2, "string", False, None),
        ("bottom", 3, "string", True, None), ("top", 4, "string", True, None),
        ("phase", 10, ".Phase", False, None), ("loss_weight", 5, "float", True, None),
        ("include", 8, ".NetStateRule", True, None), ("exclude", 9, ".NetStateRule", True, None),
        ("transform_param", 100, ".TransformationParameter", False, None),
        ("loss_param", 101, ".LossParameter", False, None),
        ("accuracy_param", 102, ".AccuracyParameter", False, None),
        ("convolution_param", 106, ".ConvolutionParameter", False, None),
        ("data_param", 107, ".DataParameter", False, None),
        ("hdf5_data_param", 112, ".HDF5DataParameter", False, None),
        ("image_data_param", 115, ".ImageDataParameter", False, None),
        ("inner_product_param", 117, ".InnerProductParameter", False, None),
        ("pooling_param", 121, ".PoolingParameter", False, None),
        ("batch_norm_param", 139, ".BatchNormParameter", False, None),
        ("python_param", 130, ".PythonParameter", False, None),
        ("param", 6, ".ParamSpec", True, None),
        ("annotated_data_param", 200, ".AnnotatedDataParameter", False, None),
        ("multibox_loss_param", 201, ".MultiBoxLossParameter", False, None)],
    "V1LayerParameter": [
        ("bottom", 2, "string", True, None), ("top", 3, "string", True, None),
        ("name", 4, "string", False, None),
        ("include", 32, ".NetStateRule", True, None), ("exclude", 33, ".NetStateRule", True, None),
        ("type", 5, ".V1LayerParameter.LayerType", False, None),
        ("loss_weight", 35, "float", True, None),
        ("accuracy_param", 27, ".AccuracyParameter", False, None),
        ("convolution_param", 10, ".ConvolutionParameter", False, None),
        ("data_param", 11, ".DataParameter", False, None),
        ("hdf5_data_param", 13, ".HDF5DataParameter", False, None),
        ("image_data_param", 15, ".ImageDataParameter", False, None),
        ("inner_product_param", 17, ".InnerProductParameter", False, None),
        ("pooling_param", 19, ".PoolingParameter", False, None),
        ("transform_param", 36, ".TransformationParameter", False, None),
        ("loss_param", 42, ".LossParameter", False, None)],
    "NetParameter": [
        ("name", 1, "string", False, None), ("input", 3, "string", True, None),
        ("input_shape", 8, ".BlobShape", True, None), ("input_dim", 4, "int32", True, None),
        ("force_backward", 5, "bool", False, "false"), ("state", 6, ".NetState", False, None),
        ("debug_info", 7, "bool", False, "false"),
        ("layer", 100, ".LayerParameter", True, None),
        ("layers", 2, ".V1LayerParameter", True, None)],
    "SolverParameter": [
        ("net", 24, "string", False, None), ("net_param", 25, ".NetParameter", False, None),
        ("train_net", 1, "string", False, None), ("test_net", 2, "string", True, None),
        ("train_net_param", 21, ".NetParameter", False, None),
        ("test_net_param", 22, ".NetParameter", True, None),
        ("test_iter", 3, "int32", True, None), ("max_iter", 7, "int32", False, None),
        ("random_seed", 20, "int64", False, "-1"),
        ("test_interval", 4, "int32", False, "0"),
        ("test_initialization", 32, "bool", False, "true"),
        ("base_lr", 5, "float", False, None), ("display", 6, "int32", False, None),
        ("average_loss", 33, "int32", False, "1"), ("iter_size", 36, "int32", False, "1"),
        ("lr_policy", 8, "string", False, None), ("gamma", 9, "float", False, None),
        ("power", 10, "float", False, None), ("momentum", 11, "float", False, None),
        ("weight_decay", 12, "float", False, None), ("stepsize", 13, "int32", False, None),
        ("stepvalue", 34, "int32", True, None),
        ("clip_gradients", 35, "float", False, "-1"),
        ("snapshot_prefix", 15, "string", False, None),
        ("type", 40, "string", False, "SGD"),
        ("solver_type", 30, ".SolverParameter.SolverType", False, "SGD"),
        ("delta", 31, "float", False, "1e-08"), ("momentum2", 39, "float", False, "0.999"),
        ("rms_decay", 38, "float", False, "0.99"), ("debug_info", 23, "bool", False, "false")],
}
_PACKED = {("BlobShape", "dim"), ("BlobProto", "data"), ("BlobProto", "diff"),
           ("BlobProto", "double_data"), ("BlobProto", "double_diff")}


def serialized_file() -> bytes:
    """The schema above as a serialized FileDescriptorProto (caffe/wire.py writes it;
    tests/test_caffe_netspec.py holds it equal to descriptor_pb2's bytes)."""
    return file_descriptor("datascan_caffe_net.proto", "caffe", _MESSAGES, _ENUMS, _PACKED)


def _c_backend():
    """(pool, metaclass) of protobuf's C backend (upb or cpp), or None for pure Python."""
    try:
        from google.protobuf.internal import api_implementation
        if api_implementation.Type() == "python":
            return None
        from google.protobuf.pyext.cpp_message import GeneratedProtocolMessageType
        return api_implementation._c_module.DescriptorPool(), GeneratedProtocolMessageType
    except (ImportError, AttributeError):     # another protobuf layout: the public way below
        return None


@lru_cache(maxsize=None)
def _classes() -> dict[str, type]:
    from google.protobuf import message
    if (c := _c_backend()) is not None:
        pool, meta = c
        fd = pool.AddSerializedFile(serialized_file())
        return {name: meta(name, (message.Message,), {"DESCRIPTOR": fd.message_types_by_name[name],
                                                       "__module__": None})
                for name in _MESSAGES}
    from google.protobuf import descriptor_pool, message_factory
    fd = descriptor_pool.DescriptorPool().AddSerializedFile(serialized_file())
    return {name: message_factory.GetMessageClass(fd.message_types_by_name[name])
            for name in _MESSAGES}


def message_class(name: str) -> type:
    """The message class of caffe.<name>, e.g. message_class("NetParameter")."""
    return _classes()[name]


def parse_text(text: str, message: str = "NetParameter", *, where: str = "<text>"):
    """A caffe.<message> from prototxt text. Fields datascan does not declare are skipped."""
    from google.protobuf import text_format
    msg = message_class(message)()
    try:
        text_format.Parse(text, msg, allow_unknown_field=True, allow_unknown_extension=True)
    except text_format.ParseError as e:
        raise UsageError(f"{where}: not a Caffe {message}: {e}") from None
    return msg


def parse_net_text(text: str, *, where: str = "<text>"):
    """A NetParameter from prototxt text."""
    return parse_text(text, "NetParameter", where=where)


def read_blob_proto(path: str | Path):
    """A mean.binaryproto as a BlobProto message. Unreadable or unparsable -> UsageError."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read mean file {path}: {e.strerror or e}") from None
    blob = message_class("BlobProto")()
    try:
        blob.ParseFromString(raw)
    except Exception as e:  # upb raises DecodeError; keep the one-line contract
        raise UsageError(f"mean file {path} is not a BlobProto: {e}") from None
    return blob
