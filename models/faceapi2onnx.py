#!/usr/bin/env python3
"""Rebuild face-api.js's faceRecognitionNet (dlib's ResNet face descriptor) as ONNX.

The npm package @vladmandic/face-api ships the network as TF.js weights (a manifest and one
.bin shard, most tensors stored quantised as uint8: value = q * scale + min) and the graph
as code (src/faceRecognitionNet/). This script reads the weights and writes the same network
with the `onnx` package; no TensorFlow is needed. The graph:

  input [N,150,150,3] RGB 0-255 (an aligned face chip)
  -> (x - [122.782, 117.001, 104.298]) / 255, NHWC -> NCHW
  -> conv 7x7/2 'valid' (32) + scale + relu -> max-pool 3/2 'valid'
  -> residual x3 (32) -> residual-down + x3 (64) -> down + x2 (128) -> down + x2 (256) -> down (256)
  -> global mean -> fully connected 256 -> 128 = descriptor [N,128]

A residual block is conv3x3 + scale + relu, conv3x3 + scale, add the input, relu. A down block
starts with a 3x3/2 'valid' convolution and adds the input average-pooled 2/2 'valid',
zero-padded to the doubled channel count; when the pooled map is one pixel larger, the
convolution's output is padded with a zero row and column at the end (as face-api.js does).
Each conv bias and scale layer folds into the convolution: w' = w * s, b' = b * s + t.

Usage: faceapi2onnx.py MANIFEST.json OUT.onnx   (the .bin shard beside the manifest)
The output is byte-reproducible for a given input and onnx version.
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MEAN_RGB = [122.782, 117.001, 104.298]


def load_weights(manifest_path):
    manifest = json.loads(Path(manifest_path).read_text())
    out = {}
    for group in manifest:
        data = b"".join((Path(manifest_path).parent / p).read_bytes() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            n = int(np.prod(w["shape"]))
            q = w.get("quantization")
            if q:
                assert q["dtype"] == "uint8", q
                raw = np.frombuffer(data, np.uint8, n, offset).astype(np.float64)
                offset += n
                value = raw * q["scale"] + q["min"]
            else:
                assert w["dtype"] == "float32", w
                value = np.frombuffer(data, np.float32, n, offset).astype(np.float64)
                offset += 4 * n
            out[w["name"]] = value.reshape(w["shape"]).astype(np.float32)
        assert offset == len(data), f"{offset} of {len(data)} bytes read"
    return out


class Graph:
    def __init__(self, weights):
        self.w = weights
        self.nodes = []
        self.inits = []
        self.n = 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, base, array):
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, **attrs):
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x, prefix, stride, relu, valid):
        f = self.w[f"{prefix}/conv/filters"]  # [kh, kw, in, out]
        b = self.w[f"{prefix}/conv/bias"]
        s = self.w[f"{prefix}/scale/weights"]
        t = self.w[f"{prefix}/scale/biases"]
        kernel = (f * s).transpose(3, 2, 0, 1)  # -> [out, in, kh, kw]
        bias = b * s + t
        k = f.shape[0]
        pad = [0, 0, 0, 0] if valid else [k // 2] * 4
        y = self.op(
            "Conv",
            [x, self.const(prefix.replace("/", "_") + "_w", kernel.astype(np.float32)),
             self.const(prefix.replace("/", "_") + "_b", bias.astype(np.float32))],
            kernel_shape=[k, k], strides=[stride, stride], pads=pad,
        )
        return self.op("Relu", [y]) if relu else y

    def residual(self, x, prefix):
        y = self.conv(x, f"{prefix}/conv1", 1, True, False)
        y = self.conv(y, f"{prefix}/conv2", 1, False, False)
        return self.op("Relu", [self.op("Add", [y, x])])

    def residual_down(self, x, prefix, size_in, channels_in):
        y = self.conv(x, f"{prefix}/conv1", 2, True, True)
        y = self.conv(y, f"{prefix}/conv2", 1, False, False)
        channels_out = self.w[f"{prefix}/conv2/conv/filters"].shape[3]
        size_conv = (size_in - 3) // 2 + 1
        size_pool = size_in // 2
        pooled = self.op("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
        if size_pool != size_conv:
            assert size_pool == size_conv + 1
            pads = self.const("pad_end", np.array([0, 0, 0, 0, 0, 0, 1, 1], np.int64))
            y = self.op("Pad", [y, pads])
        if channels_out != channels_in:
            assert channels_out == 2 * channels_in
            pads = self.const("pad_channels", np.array([0, 0, 0, 0, 0, channels_in, 0, 0], np.int64))
            pooled = self.op("Pad", [pooled, pads])
        return self.op("Relu", [self.op("Add", [y, pooled])]), size_pool, channels_out


def build(weights):
    g = Graph(weights)
    x = g.op("Sub", ["input", g.const("mean_rgb", np.array(MEAN_RGB, np.float32))])
    x = g.op("Mul", [x, g.const("inv_255", np.array(1.0 / 255.0, np.float32))])
    x = g.op("Transpose", [x], perm=[0, 3, 1, 2])
    x = g.conv(x, "conv32_down", 2, True, True)  # 150 -> 72
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2])  # 72 -> 35
    size, channels = 35, 32
    for block in ["conv32_1", "conv32_2", "conv32_3"]:
        x = g.residual(x, block)
    for down, blocks in [
        ("conv64_down", ["conv64_1", "conv64_2", "conv64_3"]),
        ("conv128_down", ["conv128_1", "conv128_2"]),
        ("conv256_down", ["conv256_1", "conv256_2"]),
        ("conv256_down_out", []),
    ]:
        x, size, channels = g.residual_down(x, down, size, channels)
        for block in blocks:
            x = g.residual(x, block)
    x = g.op("ReduceMean", [x], axes=[2, 3], keepdims=0)
    out = g.op("MatMul", [x, g.const("fc", weights["fc"])])
    g.nodes.append(helper.make_node("Identity", [out], ["descriptor"], name="descriptor"))
    graph = helper.make_graph(
        g.nodes,
        "face_recognition_net",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 150, 150, 3])],
        [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, ["N", 128])],
        g.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17)],
        producer_name="idv models/faceapi2onnx.py",
        doc_string="dlib ResNet face descriptor (dlib model: CC0) as published in "
                   "@vladmandic/face-api 1.7.15 (MIT); input [N,150,150,3] RGB 0-255 aligned chip",
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    model = build(load_weights(sys.argv[1]))
    Path(sys.argv[2]).write_bytes(model.SerializeToString())


if __name__ == "__main__":
    main()
