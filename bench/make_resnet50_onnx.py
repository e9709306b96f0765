#!/usr/bin/python3
"""Write a ResNet50-sized ONNX model with random weights, for benchmarking
lessmore's DeepNet method on a realistically heavy network.

Topology: torchvision's ResNet50 (v1.5: the stride sits on the 3x3 conv of a
bottleneck): conv1 7x7/2, 64 -> ReLU -> MaxPool 3x3/2 -> bottleneck stages
[3, 4, 6, 3] with widths 64/128/256/512 (x4 expansion, 1x1 projection
shortcut on the first block of each stage) -> GlobalAveragePool -> Flatten
(output `avgpool`, N x 2048) -> Gemm 2048 -> 1000 (output `logits`).
BatchNorm is folded into the convolutions (every Conv has a bias), so the
parameter count is 25.53 M (torchvision's 25.56 M counts BN's gamma and beta
instead of one conv bias per channel).

Weights: numpy default_rng(0), He-normal (std sqrt(2 / fan_in)); the last 1x1
conv of every bottleneck is scaled by RESIDUAL_GAIN so the residual sums (and
the activations) stay O(1) through the 16 blocks without BatchNorm; biases
N(0, 0.01). Not a trained network: the outputs mean nothing, only the cost does.

Input `input` [N, 3, 224, 224] float32 (dynamic batch N), opset 11. The file is
~102 MB, so it is not committed: generate it where the benchmark needs it.

Usage:
    /usr/bin/python3 make_resnet50_onnx.py OUT.onnx [--no-verify]

Unless --no-verify is given, the model is then loaded with OpenCV's
cv2.dnn.readNetFromONNX, run on a batch of 2 (checked against two single
runs), and one single-image forward is timed.
"""

import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 11
IR_VERSION = 6
STAGES = [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]   # width, blocks, stride
EXPANSION = 4
RESIDUAL_GAIN = 0.2
NUM_CLASSES = 1000


class Builder:
    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.params = 0

    def _init(self, name, arr):
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        self.inits.append(numpy_helper.from_array(arr, name))
        self.params += arr.size
        return name

    def conv(self, name, x, cin, cout, k, stride=1, pad=0, gain=1.0):
        fan_in = cin * k * k
        w = self.rng.standard_normal((cout, cin, k, k), dtype=np.float32) * np.float32(gain * np.sqrt(2.0 / fan_in))
        b = self.rng.standard_normal(cout, dtype=np.float32) * np.float32(0.01)
        self.nodes.append(helper.make_node(
            "Conv", [x, self._init(name + ".weight", w), self._init(name + ".bias", b)], [name],
            name=name, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4,
            dilations=[1, 1], group=1))
        return name

    def relu(self, name, x):
        self.nodes.append(helper.make_node("Relu", [x], [name], name=name))
        return name

    def add(self, name, a, b):
        self.nodes.append(helper.make_node("Add", [a, b], [name], name=name))
        return name

    def bottleneck(self, prefix, x, cin, width, stride):
        cout = width * EXPANSION
        y = self.relu(prefix + ".relu1", self.conv(prefix + ".conv1", x, cin, width, 1))
        y = self.relu(prefix + ".relu2", self.conv(prefix + ".conv2", y, width, width, 3, stride, 1))
        y = self.conv(prefix + ".conv3", y, width, cout, 1, gain=RESIDUAL_GAIN)
        if stride != 1 or cin != cout:
            x = self.conv(prefix + ".downsample", x, cin, cout, 1, stride)
        return self.relu(prefix + ".relu", self.add(prefix + ".add", y, x)), cout

    def build(self):
        x = self.relu("relu", self.conv("conv1", "input", 3, 64, 7, 2, 3))
        self.nodes.append(helper.make_node("MaxPool", [x], ["maxpool"], name="maxpool",
                                           kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
        x, cin = "maxpool", 64
        for si, (width, blocks, stride) in enumerate(STAGES, start=1):
            for bi in range(blocks):
                x, cin = self.bottleneck(f"layer{si}.{bi}", x, cin, width, stride if bi == 0 else 1)
        self.nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"], name="gap"))
        self.nodes.append(helper.make_node("Flatten", ["gap"], ["avgpool"], name="flatten", axis=1))
        w = self.rng.standard_normal((NUM_CLASSES, cin), dtype=np.float32) * np.float32(np.sqrt(1.0 / cin))
        b = self.rng.standard_normal(NUM_CLASSES, dtype=np.float32) * np.float32(0.01)
        self.nodes.append(helper.make_node(
            "Gemm", ["avgpool", self._init("fc.weight", w), self._init("fc.bias", b)], ["logits"],
            name="fc", alpha=1.0, beta=1.0, transA=0, transB=1))
        graph = helper.make_graph(
            self.nodes, "resnet50_random",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", NUM_CLASSES]),
             helper.make_tensor_value_info("avgpool", TensorProto.FLOAT, ["N", cin])],
            self.inits)
        model = helper.make_model(graph, producer_name="lessmore bench/make_resnet50_onnx.py",
                                  opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = IR_VERSION
        return model


def verify(path):
    import cv2
    t0 = time.perf_counter()
    net = cv2.dnn.readNetFromONNX(path)
    print(f"cv2.dnn {cv2.__version__}: readNetFromONNX {time.perf_counter() - t0:.2f} s;"
          f" unconnected outputs {net.getUnconnectedOutLayersNames()}")
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (2, 3, 224, 224)).astype(np.float32)
    net.setInput(x)
    t0 = time.perf_counter()
    logits, feat = net.forward(["logits", "avgpool"])
    print(f"batch of 2: logits {logits.shape}, avgpool {feat.shape}, first forward"
          f" {time.perf_counter() - t0:.2f} s")
    assert logits.shape == (2, NUM_CLASSES) and feat.shape == (2, 2048)
    assert np.isfinite(logits).all() and np.isfinite(feat).all()
    print(f"  |avgpool| mean {np.abs(feat).mean():.4g} max {np.abs(feat).max():.4g};"
          f" logits std {logits.std():.4g}")
    worst = 0.0
    times = []
    for i in range(2):
        net.setInput(x[i:i + 1])
        t0 = time.perf_counter()
        one = net.forward("logits")
        times.append(time.perf_counter() - t0)
        worst = max(worst, float(np.abs(one[0] - logits[i]).max() / (np.abs(logits[i]).max() + 1e-30)))
    print(f"  batch vs single: max relative diff {worst:.3g}")
    for _ in range(3):
        net.setInput(x[:1])
        t0 = time.perf_counter()
        net.forward("logits")
        times.append(time.perf_counter() - t0)
    print("single-image forward times (s): " + ", ".join(f"{t:.3f}" for t in times)
          + f"  (cv2 threads: {cv2.getNumThreads()})")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        sys.exit(__doc__)
    out = args[0]
    b = Builder(seed=0)
    model = b.build()
    onnx.checker.check_model(model)
    onnx.save(model, out)
    import os
    print(f"wrote {out}: {os.path.getsize(out) / 1e6:.1f} MB, {b.params:,} parameters,"
          f" {len(model.graph.node)} nodes")
    if "--no-verify" not in sys.argv:
        verify(out)


if __name__ == "__main__":
    main()
