"""--net: parsing Caffe net definitions into data layers per phase and the loss."""
from __future__ import annotations

import pytest

from datascan.caffe.netspec import load_net
from datascan.caffe.proto import message_class, parse_net_text
from datascan.errors import UsageError

TRAIN_VAL = """
name: "LeNet"
layer {
  name: "mnist" type: "Data" top: "data" top: "label"
  include { phase: TRAIN }
  transform_param { scale: 0.00390625 mean_value: 104 mean_value: 117 mean_value: 123 }
  data_param { source: "train_lmdb" batch_size: 64 backend: LMDB }
}
layer {
  name: "mnist" type: "Data" top: "data" top: "label"
  include { phase: TEST }
  data_param { source: "test_db" batch_size: 100 scale: 0.5 crop_size: 24 }
}
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  param { lr_mult: 1 } param { lr_mult: 2 }
  convolution_param { num_output: 20 kernel_size: 5 stride: 1 weight_filler { type: "xavier" } } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ip2" type: "InnerProduct" bottom: "pool1" top: "ip2"
  inner_product_param { num_output: 26 } }
layer { name: "relu" type: "ReLU" bottom: "ip2" top: "ip2" }
layer { name: "drop" type: "Dropout" bottom: "ip2" top: "ip2" dropout_param { dropout_ratio: 0.5 } }
layer { name: "accuracy" type: "Accuracy" bottom: "ip2" bottom: "label" top: "accuracy"
  include { phase: TEST } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip2" bottom: "label" top: "loss"
  loss_param { ignore_label: 255 normalize: false } }
"""

V1_NET = """
name: "old"
layers { name: "d" type: HDF5_DATA top: "data" top: "label"
  hdf5_data_param { source: "list.txt" batch_size: 10 } include: { phase: TRAIN } }
layers { name: "ip" type: INNER_PRODUCT bottom: "data" top: "ip" blobs_lr: 1
  inner_product_param { num_output: 7 } }
layers { name: "loss" type: SOFTMAX_LOSS bottom: "ip" bottom: "label" }
"""


def write(tmp_path, text, name="train_val.prototxt"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_phases_backend_transform_and_loss(tmp_path):
    (tmp_path / "train_lmdb").mkdir()
    spec = load_net(write(tmp_path, TRAIN_VAL), cwd=tmp_path / "elsewhere")
    train, test = spec.phase("TRAIN"), spec.phase("TEST")
    (d,) = train.data_layers
    assert (d.type, d.backend, d.batch_size, d.phases) == ("Data", "lmdb", 64, ("TRAIN",))
    assert d.source == tmp_path / "train_lmdb"         # not in cwd: found beside the prototxt
    assert d.transform.scale == 0.00390625 and d.transform.mean_value == (104, 117, 123)
    (t,) = test.data_layers
    assert t.backend == "leveldb" and any("LEVELDB" in n for n in t.notes)
    assert (t.transform.scale, t.transform.crop_size) == (0.5, 24)   # deprecated data_param copies
    assert t.source == tmp_path / "elsewhere" / "test_db"            # missing: the cwd reading
    assert spec.num_classes == 26 == train.num_classes
    assert train.ignore_label == 255 and train.loss.normalization == "BATCH_SIZE"


def test_relative_source_prefers_cwd(tmp_path):
    (tmp_path / "train_lmdb").mkdir()
    cwd = tmp_path / "run"
    (cwd / "train_lmdb").mkdir(parents=True)
    spec = load_net(write(tmp_path, TRAIN_VAL), cwd=cwd)
    assert spec.phase("TRAIN").data_layers[0].source == cwd / "train_lmdb"


def test_layer_without_rules_is_in_both_phases_and_exclude(tmp_path):
    text = TRAIN_VAL.replace("include { phase: TRAIN }", "").replace(
        "include { phase: TEST }\n  data_param", "exclude { phase: TRAIN }\n  data_param")
    spec = load_net(write(tmp_path, text), cwd=tmp_path)
    assert [d.source.name for d in spec.phase("TRAIN").data_layers] == ["train_lmdb"]
    assert [d.source.name for d in spec.phase("TEST").data_layers] == ["train_lmdb", "test_db"]
    assert [d.phases for d in spec.data_layers()] == [("TRAIN", "TEST"), ("TEST",)]


def test_include_and_exclude_together_is_caffes_error(tmp_path):
    text = TRAIN_VAL.replace("include { phase: TRAIN }",
                             "include { phase: TRAIN } exclude { phase: TEST }")
    with pytest.raises(UsageError, match="Specify either include rules or exclude rules"):
        load_net(write(tmp_path, text), cwd=tmp_path)


def test_v1_net(tmp_path):
    spec = load_net(write(tmp_path, V1_NET), cwd=tmp_path)
    (d,) = spec.phase("TRAIN").data_layers
    assert (d.type, d.batch_size, d.backend, d.source.name) == ("HDF5Data", 10, None, "list.txt")
    assert spec.num_classes == 7 and "TEST" in spec.phases   # the loss is in both phases


def test_solver_with_inline_net_and_net_file(tmp_path):
    write(tmp_path, TRAIN_VAL, "net.prototxt")
    solver = write(tmp_path, 'base_lr: 0.01\nnet: "net.prototxt"\nmax_iter: 10\n', "solver.prototxt")
    assert load_net(solver, cwd=tmp_path / "x").num_classes == 26
    inline = write(tmp_path, "base_lr: 0.1\ntrain_net_param {\n" + V1_NET + "}\n", "s2.prototxt")
    spec = load_net(inline, cwd=tmp_path)
    assert list(spec.phases) == ["TRAIN"] and spec.num_classes == 7


def test_euclidean_loss_has_no_num_classes(tmp_path):
    text = V1_NET.replace("SOFTMAX_LOSS", "EUCLIDEAN_LOSS")
    spec = load_net(write(tmp_path, text), cwd=tmp_path)
    assert spec.num_classes is None and spec.phase("TRAIN").loss.kind == "euclidean"


def test_unknown_fields_are_skipped_but_bad_syntax_is_an_error(tmp_path):
    net = parse_net_text('layer { name: "x" type: "Foo" foo_param { a: 1 b { c: "d" } } }')
    assert net.layer[0].type == "Foo"
    with pytest.raises(UsageError, match="not a Caffe NetParameter"):
        load_net(write(tmp_path, "layer { name: "), cwd=tmp_path)
    with pytest.raises(UsageError, match="cannot read net"):
        load_net(tmp_path / "missing.prototxt")


def test_datum_and_blob_messages_match_caffe_wire_format():
    datum = message_class("Datum")(channels=3, height=2, width=1, data=b"abcdef", label=-1)
    datum.float_data.extend([1.5])
    raw = datum.SerializeToString()
    assert raw.startswith(b"\x08\x03\x10\x02\x18\x01\x22\x06abcdef\x28")
    assert b"\x35\x00\x00\xc0\x3f" in raw                    # float_data unpacked (tag 0x35)
    blob = message_class("BlobProto")()
    blob.data.extend([1.0, 2.0])
    assert blob.SerializeToString().startswith(b"\x2a\x08")  # data packed (tag 0x2a)


def _schema_with_descriptor_pb2():
    """The schema built the documented way, with descriptor_pb2, from proto.py's tables."""
    from google.protobuf import descriptor_pb2

    from datascan.caffe import proto
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="datascan_caffe_net.proto", package="caffe",
                                             syntax="proto2")
    messages = {name: fdp.message_type.add(name=name) for name in proto._MESSAGES}
    for enum_name, values in proto._ENUMS.items():
        owner, _, short = enum_name.rpartition(".")
        enum = (messages[owner].enum_type if owner else fdp.enum_type).add(name=short)
        for value_name, number in values.items():
            enum.value.add(name=value_name, number=number)
    types = {"int32": F.TYPE_INT32, "int64": F.TYPE_INT64, "uint32": F.TYPE_UINT32,
             "float": F.TYPE_FLOAT, "double": F.TYPE_DOUBLE, "bool": F.TYPE_BOOL,
             "bytes": F.TYPE_BYTES, "string": F.TYPE_STRING}
    for msg_name, fields in proto._MESSAGES.items():
        for name, number, typ, repeated, default in fields:
            f = messages[msg_name].field.add(name=name, number=number,
                                             label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
            if typ.startswith("."):
                f.type_name = ".caffe" + typ
                f.type = F.TYPE_ENUM if typ[1:] in proto._ENUMS else F.TYPE_MESSAGE
            else:
                f.type = types[typ]
            if default is not None:
                f.default_value = default
            if (msg_name, name) in proto._PACKED:
                f.options.packed = True
    return fdp


def test_the_hand_written_schema_is_what_descriptor_pb2_writes():
    """proto.py writes its FileDescriptorProto without descriptor_pb2 (a slow import): byte
    for byte what descriptor_pb2 serialises from the same tables."""
    from datascan.caffe.proto import serialized_file
    assert serialized_file() == _schema_with_descriptor_pb2().SerializeToString()


@pytest.mark.parametrize("impl", ["python", "default"])
def test_messages_read_the_same_with_every_protobuf_backend(impl):
    """The C backends build the classes from their own pool (no descriptor_pool.py); pure
    Python goes through message_factory. Both read a Datum and a prototxt alike."""
    import os
    import subprocess
    import sys
    probe = ("from datascan.caffe.proto import message_class, parse_net_text\n"
             "from google.protobuf.internal import api_implementation\n"
             "D = message_class('Datum')\n"
             "d = D.FromString(D(channels=3, height=1, width=1, data=b'abc', label=7).SerializeToString())\n"
             "a = message_class('AnnotatedDatum')(datum=d)\n"
             "n = parse_net_text('name: \"n\" layer { name: \"d\" type: \"Data\" include { phase: TEST } }')\n"
             "print(api_implementation.Type(), d.label, d.data, a.datum.channels, n.layer[0].include[0].phase,"
             " d.HasField('encoded'), d.encoded)")
    env = dict(os.environ)
    if impl == "python":
        env["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                         check=True).stdout.split()
    assert (out[0] == "python") == (impl == "python")
    assert out[1:] == ["7", "b'abc'", "3", "1", "False", "False"]
