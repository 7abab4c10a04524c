"""Caffe's own definitions, as datascan reads them: the proto messages (proto.py) and what a
net or solver prototxt says about its data (netspec.py), and the lint of both (lint.py)."""
