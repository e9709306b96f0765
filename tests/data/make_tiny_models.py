#!/usr/bin/python3
"""Build the tiny ONNX test models in tests/data/models/ and their golden
values (tests/data/models/tiny_expected.json).

Deterministic (fixed weights, fixed-seed test images, no clock). Needs only
Debian's /usr/bin/python3 (numpy, onnx, cv2); every model is checked with
onnx.checker and loaded and run through cv2.dnn.readNetFromONNX (OpenCV 4.6),
and cv2.dnn's outputs are compared with the numpy expectations.

Usage:
    /usr/bin/python3 make_tiny_models.py [OUTPUT_DIR]

OUTPUT_DIR defaults to models/ next to this script.

Files written:
  tiny_nhwc_bgr.onnx   input `pixels` [1, 8, 6, 3] (NHWC: H=8, W=6, C=3)
                       -> Transpose(0,3,1,2) -> Conv 1x1 (W = diag(1, 2, 3),
                       B = [0, 0, 0.5]: out0 = c0, out1 = 2*c1, out2 = 3*c2 + 0.5)
                       -> output `map` [1, 3, 8, 6]
                       -> GlobalAveragePool -> Flatten -> output `vector` [1, 3]
  tiny_nhwc_bgr.json   its sidecar (layout NHWC, channel_order BGR,
                       mean [10, 20, 30], std [2, 4, 8] in RGB order, scale 1)
  tiny_one_channel.onnx  input `pixels` [1, 1, 8, 8] -> GlobalAveragePool ->
                       Flatten -> `vector` [1, 1] (input is not 3xHxW: for the
                       error path)
  tiny_dynamic_batch.onnx  input `pixels` ['N', 3, 8, 6] (NCHW, dynamic batch)
                       -> the same Conv -> `map` ['N', 3, 8, 6] -> GAP ->
                       Flatten -> `vector` ['N', 3]; meant to be used as RGB
  tiny_identity_weights.onnx  tiny_dynamic_batch with the Conv weight read
                       through Identity(mix_W) (as torch exports shared weights):
                       OpenCV 4.6 refuses it as it is; lessmore normalises it, and
                       its outputs are tiny_dynamic_batch's ("nchw_rgb" below)
  tiny_expected.json   golden values, structure:
    {"generator": ..., "opencv": str, "numpy": str,
     "sidecar": {copy of tiny_nhwc_bgr.json},
     "conv": {"weight_diag": [1, 2, 3], "bias": [0, 0, 0.5]},
     "node_names": {onnx output name: node name},  # they differ on purpose
     "images": [
       {"name": str, "width": int, "height": int,
        "base64": str,             # the grey uint8 image, row-major, w*h bytes
        "resized_base64": str,     # cv2.resize(img, (6, 8), INTER_AREA), 48 bytes
        "nhwc_bgr": {              # tiny_nhwc_bgr.onnx with its sidecar
           "vector": [3 floats],          # output "vector"
           "map_pooled": [3 floats],      # output "map", global-average-pooled
                                          # (== vector for this graph)
           "map": [3][8][6] floats},      # output "map" itself (CHW, batch 0)
        "nchw_rgb": {              # tiny_dynamic_batch.onnx with the SAME
                                   # mean/std/scale but layout NCHW, RGB
           "vector": [3 floats], "map_pooled": [3 floats]}
       }, ...],
     "opencv_max_abs_diff": float}   # cv2.dnn vs these numbers, all checks

Preprocessing (lessmore's contract): cv2.resize(img, (6, 8), INTER_AREA), 3
equal channels, value = (p * scale - mean[c]) / std[c] in float32 where mean
and std are in RGB order and c follows the blob's channel order, so for BGR
blob channel 0 (B) uses mean[2] = 30, std[2] = 8, channel 1 (G) mean[1] = 20,
std[1] = 4 and channel 2 (R) mean[0] = 10, std[0] = 2. The expected outputs
are computed in float64 from that float32 blob.
"""

import base64
import json
import os
import sys

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 11
IR_VERSION = 6          # the IR version that goes with opset 11
H, W = 8, 6
CONV_DIAG = [1.0, 2.0, 3.0]
CONV_BIAS = [0.0, 0.0, 0.5]
SIDECAR = {"input_size": [W, H], "layout": "NHWC", "channel_order": "BGR",
           "mean": [10, 20, 30], "std": [2, 4, 8], "scale": 1.0, "output": "vector"}
NODE_NAMES = {"nhwc_to_nchw": "transpose_nhwc_to_nchw", "map": "mix_conv",
              "pooled": "gap", "vector": "flatten"}


# ----------------------------------------------------------------- models ----
def conv_initializers():
    w = np.zeros((3, 3, 1, 1), np.float32)
    for i, v in enumerate(CONV_DIAG):
        w[i, i, 0, 0] = v
    return [numpy_helper.from_array(w, "mix_W"),
            numpy_helper.from_array(np.array(CONV_BIAS, np.float32), "mix_B")]


def head_nodes(conv_input):
    return [
        helper.make_node("Conv", [conv_input, "mix_W", "mix_B"], ["map"],
                         name=NODE_NAMES["map"], kernel_shape=[1, 1], strides=[1, 1],
                         pads=[0, 0, 0, 0], group=1),
        helper.make_node("GlobalAveragePool", ["map"], ["pooled"], name=NODE_NAMES["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["vector"], name=NODE_NAMES["vector"], axis=1),
    ]


def finish(graph, path):
    model = helper.make_model(graph, producer_name="lessmore tests/data/make_tiny_models.py",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, path)


def make_nhwc_bgr(path):
    nodes = [helper.make_node("Transpose", ["pixels"], ["nhwc_to_nchw"],
                              name=NODE_NAMES["nhwc_to_nchw"], perm=[0, 3, 1, 2])]
    nodes += head_nodes("nhwc_to_nchw")
    g = helper.make_graph(
        nodes, "tiny_nhwc_bgr",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, H, W, 3])],
        [helper.make_tensor_value_info("map", TensorProto.FLOAT, [1, 3, H, W]),
         helper.make_tensor_value_info("vector", TensorProto.FLOAT, [1, 3])],
        conv_initializers())
    finish(g, path)


def make_dynamic_batch(path):
    g = helper.make_graph(
        head_nodes("pixels"), "tiny_dynamic_batch",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 3, H, W])],
        [helper.make_tensor_value_info("map", TensorProto.FLOAT, ["N", 3, H, W]),
         helper.make_tensor_value_info("vector", TensorProto.FLOAT, ["N", 3])],
        conv_initializers())
    finish(g, path)


def make_identity_weights(path):
    """tiny_dynamic_batch with the conv weight behind Identity(initializer), as
    torch.onnx.export writes shared weights: OpenCV 4.6 refuses the raw file."""
    nodes = [helper.make_node("Identity", ["mix_W"], ["mix_W_shared"], name="shared_weight")]
    nodes += head_nodes("pixels")
    nodes[1].input[1] = "mix_W_shared"
    g = helper.make_graph(
        nodes, "tiny_identity_weights",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 3, H, W])],
        [helper.make_tensor_value_info("map", TensorProto.FLOAT, ["N", 3, H, W]),
         helper.make_tensor_value_info("vector", TensorProto.FLOAT, ["N", 3])],
        conv_initializers())
    finish(g, path)


def make_one_channel(path):
    nodes = [helper.make_node("GlobalAveragePool", ["pixels"], ["pooled"], name="gap"),
             helper.make_node("Flatten", ["pooled"], ["vector"], name="flatten", axis=1)]
    g = helper.make_graph(
        nodes, "tiny_one_channel",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("vector", TensorProto.FLOAT, [1, 1])], [])
    finish(g, path)


# ---------------------------------------------------------- test images ----
def test_images():
    rng = np.random.default_rng(20240601)
    yy, xx = np.mgrid[0:40, 0:30]
    grad = np.rint((xx * 3 + yy * 4) * 255.0 / (29 * 3 + 39 * 4)).astype(np.uint8)
    return [
        ("random_12x16", rng.integers(0, 256, (16, 12), dtype=np.uint8)),
        ("constant100_6x8", np.full((8, 6), 100, np.uint8)),
        ("gradient_30x40", grad),
        ("random_9x13", rng.integers(0, 256, (13, 9), dtype=np.uint8)),   # non-integer ratio
        ("random_4x3", rng.integers(0, 256, (3, 4), dtype=np.uint8)),     # upscale
    ]


# ------------------------------------------------------- numpy reference ----
def make_blob(img, layout, order, sc=SIDECAR):
    rs = cv2.resize(img, (sc["input_size"][0], sc["input_size"][1]), interpolation=cv2.INTER_AREA)
    p = rs.astype(np.float32)
    rgb_index = [0, 1, 2] if order == "RGB" else [2, 1, 0]   # blob channel -> RGB index
    chans = [(p * np.float32(sc["scale"]) - np.float32(sc["mean"][i])) / np.float32(sc["std"][i])
             for i in rgb_index]
    chw = np.stack(chans).astype(np.float32)
    blob = chw[None] if layout == "NCHW" else chw.transpose(1, 2, 0)[None]
    return rs, np.ascontiguousarray(blob)


def ref_forward(blob, layout):
    x = blob.astype(np.float64)
    if layout == "NHWC":
        x = x.transpose(0, 3, 1, 2)
    m = x * np.array(CONV_DIAG).reshape(1, 3, 1, 1) + np.array(CONV_BIAS).reshape(1, 3, 1, 1)
    return m, m.mean(axis=(2, 3))


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "models")
    os.makedirs(out_dir, exist_ok=True)
    p_nhwc = os.path.join(out_dir, "tiny_nhwc_bgr.onnx")
    p_one = os.path.join(out_dir, "tiny_one_channel.onnx")
    p_dyn = os.path.join(out_dir, "tiny_dynamic_batch.onnx")
    make_nhwc_bgr(p_nhwc)
    make_one_channel(p_one)
    make_dynamic_batch(p_dyn)
    p_ident = os.path.join(out_dir, "tiny_identity_weights.onnx")
    make_identity_weights(p_ident)
    try:  # the problem lessmore's ONNX normalisation solves
        cv2.dnn.readNetFromONNX(p_ident)
        sys.exit("OpenCV loaded tiny_identity_weights.onnx: it no longer needs the normalisation")
    except cv2.error:
        pass
    with open(os.path.join(out_dir, "tiny_nhwc_bgr.json"), "w") as f:
        json.dump(SIDECAR, f, indent=2)
        f.write("\n")

    net_nhwc = cv2.dnn.readNetFromONNX(p_nhwc)
    net_dyn = cv2.dnn.readNetFromONNX(p_dyn)
    net_one = cv2.dnn.readNetFromONNX(p_one)
    worst = 0.0
    images = []
    dyn_blobs, dyn_expect = [], []
    for name, img in test_images():
        rs, blob = make_blob(img, "NHWC", "BGR")
        m, v = ref_forward(blob, "NHWC")
        net_nhwc.setInput(blob)
        cm, cv = net_nhwc.forward(["map", "vector"])
        worst = max(worst, float(np.abs(cm - m).max()), float(np.abs(cv - v).max()))
        _, blob2 = make_blob(img, "NCHW", "RGB")
        m2, v2 = ref_forward(blob2, "NCHW")
        dyn_blobs.append(blob2)
        dyn_expect.append((m2, v2))
        images.append({
            "name": name, "width": int(img.shape[1]), "height": int(img.shape[0]),
            "base64": base64.b64encode(img.tobytes()).decode("ascii"),
            "resized_base64": base64.b64encode(rs.tobytes()).decode("ascii"),
            "nhwc_bgr": {"vector": [float(x) for x in v[0]],
                         "map_pooled": [float(x) for x in m[0].mean(axis=(1, 2))],
                         "map": [[[float(x) for x in row] for row in ch] for ch in m[0]]},
            "nchw_rgb": {"vector": [float(x) for x in v2[0]],
                         "map_pooled": [float(x) for x in m2[0].mean(axis=(1, 2))]},
        })
        print(f"{name}: vector(NHWC,BGR) = {v[0]}  vector(NCHW,RGB) = {v2[0]}")

    # batch of 5 through the dynamic-batch model
    batch = np.concatenate(dyn_blobs)
    net_dyn.setInput(batch)
    bm, bv = net_dyn.forward(["map", "vector"])
    assert bm.shape == (5, 3, H, W) and bv.shape == (5, 3), (bm.shape, bv.shape)
    for i, (m2, v2) in enumerate(dyn_expect):
        worst = max(worst, float(np.abs(bm[i] - m2[0]).max()), float(np.abs(bv[i] - v2[0]).max()))
    print("dynamic batch of 5: map", bm.shape, "vector", bv.shape)

    # the one-channel model runs on its own 1x1x8x8 input
    net_one.setInput(np.arange(64, dtype=np.float32).reshape(1, 1, 8, 8))
    one = net_one.forward("vector")
    assert one.shape == (1, 1) and abs(float(one[0, 0]) - 31.5) < 1e-5, one
    print("tiny_one_channel: vector", one.ravel())

    expected = {
        "generator": "tests/data/make_tiny_models.py",
        "opencv": cv2.__version__, "numpy": np.__version__, "onnx": onnx.__version__,
        "sidecar": SIDECAR,
        "conv": {"weight_diag": CONV_DIAG, "bias": CONV_BIAS},
        "node_names": NODE_NAMES,
        "images": images,
        "opencv_max_abs_diff": worst,
    }
    with open(os.path.join(out_dir, "tiny_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print("max |opencv - numpy| =", worst)
    assert worst < 1e-4
    for fn in ("tiny_nhwc_bgr.onnx", "tiny_nhwc_bgr.json", "tiny_one_channel.onnx",
               "tiny_dynamic_batch.onnx", "tiny_expected.json"):
        size = os.path.getsize(os.path.join(out_dir, fn))
        assert size < 50_000, (fn, size)
        print(f"  {fn}: {size} bytes")


if __name__ == "__main__":
    main()
