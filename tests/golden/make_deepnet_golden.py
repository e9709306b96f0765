#!/usr/bin/python3
"""Independent golden-value generator for lessmore's DeepNet method.

The reference here is a from-scratch numpy (float64) interpreter of the ONNX
graph, loaded with the `onnx` package; OpenCV's dnn module is only used as a
cross-check (its max abs difference is recorded, its outputs are not).

Preprocessing (lessmore's contract, see DeepNet docs):
  * slice k of the NIfTI sample = nib.load(f).get_fdata()[:, :, k].T
  * 8-bit image: v = (x - min) / (max - min) * 255, np.rint (half-even),
    clip 0..255, uint8   (a constant slice becomes all zeros)
  * cv2.resize(u8, (W, H), interpolation=cv2.INTER_AREA)
  * 3 equal channels, each value (p * scale - mean[c]) / std[c] in float32,
    blob NCHW; for the bundled model scale = 1/127.5, mean = std = [1, 1, 1]
    (i.e. p/127.5 - 1), RGB.
  The numpy forward pass runs in float64 on that float32 blob.

Usage:
    /usr/bin/python3 make_deepnet_golden.py [MODELS_DIR] [NIFTI] [OUTPUT_JSON]

MODELS_DIR is the folder holding the embedding model, the classifier
variant and imagenet_labels.txt (e.g. ../shared/models). Without it the
copies kept in the repository are used: the embedding model from
../../models/ and the classifier variant and imagenet_labels.txt from
../data/models/ (byte-identical to the shared ones). NIFTI defaults to
../../data/sample/example_ct_sm.nii.gz relative to this script, OUTPUT_JSON
to deepnet_golden.json next to this script. The dog photograph is
/usr/share/darknet/data/dog.jpg (Debian package `darknet`); if it is missing
the "classifier" section is written as null.

JSON structure (all floats are Python repr, i.e. full double precision):
{
  "generator": "tests/golden/make_deepnet_golden.py",
  "numpy": str, "onnx": str, "opencv": str,
  "model": {"file": str, "sha256": str, "input": "input",
            "output": "embedding", "ops": {op_type: count}},
  "preprocessing": {"input_size": [224, 224] (W, H), "layout": "NCHW",
                    "channel_order": "RGB", "scale": 1/127.5,
                    "mean": [1,1,1], "std": [1,1,1],
                    "resize": "cv2.INTER_AREA", "blob_dtype": "float32"},
  "nifti": {"file": str (relative to repo root), "shape": [X, Y, Z]},
  "slices": [                      # one per slice index, in order 0,7,15,29
    {"index": k,
     "width": w, "height": h,     # of the 8-bit slice image (before resize)
     "raw_min": float, "raw_max": float,
     "u8_sha256": hex,            # sha256 of the 8-bit slice, row-major bytes
     "resized_sha256": hex,       # sha256 of the 224x224 uint8 INTER_AREA
                                  # resize (single channel, row-major bytes)
     "resized_sum": int,          # sum of the resized pixels (debug aid)
     "embedding": [256 floats],   # numpy forward pass, NOT L2-normalised
     "embedding_l2norm": float,
     "opencv_max_abs_diff": float # |numpy - cv2.dnn| max over the 256 values
    }, ...],
  "cosine": {"indices": [0, 7, 15, 29],
             "matrix": 4x4 floats},  # dot products of L2-normalised embeddings
  "opencv_max_abs_diff": float,      # max over all slices
  "classifier": null or {
     "model": {"file": str, "sha256": str, "output": "output"},
     "image": {"file": "/usr/share/darknet/data/dog.jpg", "sha256": hex,
               "width": int, "height": int},
     "colour": {"preprocessing": "cv2.imread (BGR) -> cv2.cvtColor BGR2RGB ->
                  cv2.resize 224x224 INTER_AREA -> float32 x/127.5 - 1, NCHW",
                "resized_sha256": hex,  # 224x224x3 RGB uint8, HWC row-major
                "top5": [{"class": int, "label": str, "prob": float}, ...],
                "opencv_top5": [same, from cv2.dnn],
                "opencv_max_abs_diff": float},   # over all 1000 probs
     "grey":   {"preprocessing": "cv2.imread -> cv2.cvtColor BGR2GRAY ->
                  cv2.resize 224x224 INTER_AREA -> 3 equal channels ->
                  x/127.5 - 1, NCHW",
                "resized_sha256": hex,  # 224x224 uint8 grey, row-major
                ... same keys as "colour"}
     Note: in "grey", Siberian husky and malamute differ by only ~2.5e-6, so
     their order may legitimately flip in a float32 implementation.
  }
}
"""

import hashlib
import json
import os
import sys

import cv2
import nibabel as nib
import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SLICES = [0, 7, 15, 29]
INPUT_W, INPUT_H = 224, 224
SCALE = 1.0 / 127.5
MEAN = [1.0, 1.0, 1.0]
STD = [1.0, 1.0, 1.0]
DOG = "/usr/share/darknet/data/dog.jpg"


# ------------------------------------------------------- numpy ONNX ops ----
def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def op_conv(node, x, w, b=None):
    a = _attrs(node)
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("Conv auto_pad")
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    group = a.get("group", 1)
    assert cg * group == c and m % group == 0, (x.shape, w.shape, group)
    if "kernel_shape" in a:
        assert list(a["kernel_shape"]) == [kh, kw]
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])   # x1_begin x2_begin x1_end x2_end
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    ekh, ekw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    win = np.lib.stride_tricks.sliding_window_view(xp, (ekh, ekw), axis=(2, 3))
    win = win[:, :, ::sh, ::sw, ::dh, ::dw]          # N C Ho Wo kh kw
    ho, wo = win.shape[2], win.shape[3]
    assert ho == (h + pt + pb - ekh) // sh + 1 and wo == (wd + pl + pr - ekw) // sw + 1
    win = win.reshape(n, group, cg, ho, wo, kh, kw)
    wg = w.reshape(group, m // group, cg, kh, kw)
    y = np.einsum("ngchwij,gmcij->ngmhw", win, wg, optimize=True)
    y = y.reshape(n, m, ho, wo)
    if b is not None:
        y = y + b.reshape(1, m, 1, 1)
    return y


def op_clip(node, x, lo=None, hi=None):
    a = _attrs(node)
    lo = a.get("min", -np.inf) if lo is None else float(lo)
    hi = a.get("max", np.inf) if hi is None else float(hi)
    return np.clip(x, lo, hi)


def op_relu(node, x):
    return np.maximum(x, 0)


def op_gap(node, x):
    return x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)


def op_flatten(node, x):
    axis = _attrs(node).get("axis", 1)
    axis = axis if axis >= 0 else axis + x.ndim
    return x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)


def op_softmax(node, x, opset):
    axis = _attrs(node).get("axis", 1 if opset < 13 else -1)
    axis = axis if axis >= 0 else axis + x.ndim
    if opset < 13:   # coerce to 2-D at `axis`, softmax over the trailing block
        shp = x.shape
        x2 = x.reshape(int(np.prod(shp[:axis], dtype=np.int64)), -1)
        e = np.exp(x2 - x2.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).reshape(shp)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def op_add(node, a, b):
    return a + b


def op_reshape(node, x, shape):
    shape = [int(s) for s in shape]
    shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def op_bn(node, x, scale, bias, mean, var):
    eps = _attrs(node).get("epsilon", 1e-5)
    sh = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + eps) * scale.reshape(sh) + bias.reshape(sh)


def op_reduce_mean(node, x):
    a = _attrs(node)
    return x.mean(axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))


OPS = {"Conv": op_conv, "Clip": op_clip, "Relu": op_relu,
       "GlobalAveragePool": op_gap, "Flatten": op_flatten, "Add": op_add,
       "Reshape": op_reshape, "BatchNormalization": op_bn,
       "ReduceMean": op_reduce_mean}


class NumpyOnnx:
    """Minimal float64 interpreter for the ops the bundled models use."""

    def __init__(self, path):
        self.model = onnx.load(path)
        g = self.model.graph
        self.opset = max(o.version for o in self.model.opset_import if o.domain in ("", "ai.onnx"))
        self.init = {t.name: numpy_helper.to_array(t).astype(np.float64)
                     if numpy_helper.to_array(t).dtype.kind == "f" else numpy_helper.to_array(t)
                     for t in g.initializer}
        self.inputs = [i.name for i in g.input if i.name not in self.init]
        self.outputs = [o.name for o in g.output]
        for n in g.node:
            if n.op_type not in OPS and n.op_type != "Softmax":
                raise NotImplementedError(n.op_type)

    def ops(self):
        out = {}
        for n in self.model.graph.node:
            out[n.op_type] = out.get(n.op_type, 0) + 1
        return out

    def run(self, blob):
        env = dict(self.init)
        env[self.inputs[0]] = np.asarray(blob, dtype=np.float64)
        for n in self.model.graph.node:
            args = [env[i] if i else None for i in n.input]
            if n.op_type == "Softmax":
                y = op_softmax(n, args[0], self.opset)
            else:
                y = OPS[n.op_type](n, *args)
            env[n.output[0]] = y
        return {o: env[o] for o in self.outputs}


# ---------------------------------------------------------- preprocessing ----
def to_u8(x):
    x = np.asarray(x, dtype=np.float64)
    lo, hi = x.min(), x.max()
    if hi == lo:
        return np.zeros(x.shape, np.uint8)
    v = (x - lo) / (hi - lo) * 255.0
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)


def blob_from_channels(chw_u8):
    """chw_u8: 3 x H x W uint8 in blob channel order (RGB here)."""
    p = chw_u8.astype(np.float32)
    out = np.empty(p.shape, np.float32)
    for c in range(3):
        out[c] = (p[c] * np.float32(SCALE) - np.float32(MEAN[c])) / np.float32(STD[c])
    return out[None]


def sha256(b):
    return hashlib.sha256(np.ascontiguousarray(b).tobytes() if isinstance(b, np.ndarray) else b).hexdigest()


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def top5(probs, labels):
    idx = np.argsort(-probs, kind="stable")[:5]
    return [{"class": int(i), "label": labels[i], "prob": float(probs[i])} for i in idx]


def cv_forward(net, blob, name):
    net.setInput(np.ascontiguousarray(blob, dtype=np.float32))
    return net.forward(name).astype(np.float64)


def classify(models_dir, labels):
    path = os.path.join(models_dir, "mobilenet_v1_0.25_224_imagenet.onnx")
    ref = NumpyOnnx(path)
    net = cv2.dnn.readNetFromONNX(path)
    bgr = cv2.imread(DOG, cv2.IMREAD_COLOR)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    colour = cv2.resize(rgb, (INPUT_W, INPUT_H), interpolation=cv2.INTER_AREA)
    grey = cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), (INPUT_W, INPUT_H),
                      interpolation=cv2.INTER_AREA)
    res = {"model": {"file": os.path.basename(path), "sha256": file_sha256(path),
                     "output": ref.outputs[0]},
           "image": {"file": DOG, "sha256": file_sha256(DOG),
                     "width": int(bgr.shape[1]), "height": int(bgr.shape[0])}}
    cases = {
        "colour": (colour.transpose(2, 0, 1),
                   "cv2.imread (BGR) -> cv2.cvtColor BGR2RGB -> cv2.resize 224x224 INTER_AREA"
                   " -> float32 x/127.5 - 1, NCHW"),
        "grey": (np.stack([grey] * 3),
                 "cv2.imread -> cv2.cvtColor BGR2GRAY -> cv2.resize 224x224 INTER_AREA"
                 " -> 3 equal channels -> float32 x/127.5 - 1, NCHW"),
    }
    for key, (chw, desc) in cases.items():
        blob = blob_from_channels(chw)
        p = ref.run(blob)[ref.outputs[0]].reshape(-1)
        q = cv_forward(net, blob, ref.outputs[0]).reshape(-1)
        d = {"preprocessing": desc, "resized_sha256": sha256(np.ascontiguousarray(chw.transpose(1, 2, 0)) if key == "colour" else grey),
             "top5": top5(p, labels), "opencv_top5": top5(q, labels),
             "opencv_max_abs_diff": float(np.abs(p - q).max())}
        res[key] = d
        print(f"dog {key}: " + ", ".join(f"{t['label']} {t['prob']:.4f}" for t in d["top5"]))
        print("  opencv: " + ", ".join(f"{t['label']} {t['prob']:.4f}" for t in d["opencv_top5"])
              + f"   max|diff|={d['opencv_max_abs_diff']:.3g}")
    return res


def main():
    if len(sys.argv) > 1:
        models_dir = classifier_dir = sys.argv[1]
    else:
        models_dir = os.path.join(REPO, "models")
        classifier_dir = os.path.join(REPO, "tests", "data", "models")
    nifti = sys.argv[2] if len(sys.argv) > 2 else os.path.join(REPO, "data", "sample", "example_ct_sm.nii.gz")
    out_path = sys.argv[3] if len(sys.argv) > 3 else os.path.join(HERE, "deepnet_golden.json")

    model_path = os.path.join(models_dir, "mobilenet_v1_0.25_224_imagenet_embed.onnx")
    ref = NumpyOnnx(model_path)
    net = cv2.dnn.readNetFromONNX(model_path)
    out_name = ref.outputs[0]
    data = nib.load(nifti).get_fdata()

    slices, embs, worst = [], [], 0.0
    for k in SLICES:
        raw = data[:, :, k].T
        u8 = to_u8(raw)
        rs = cv2.resize(u8, (INPUT_W, INPUT_H), interpolation=cv2.INTER_AREA)
        blob = blob_from_channels(np.stack([rs] * 3))
        e = ref.run(blob)[out_name].reshape(-1)
        q = cv_forward(net, blob, out_name).reshape(-1)
        diff = float(np.abs(e - q).max())
        worst = max(worst, diff)
        embs.append(e)
        slices.append({"index": k, "width": int(u8.shape[1]), "height": int(u8.shape[0]),
                       "raw_min": float(raw.min()), "raw_max": float(raw.max()),
                       "u8_sha256": sha256(u8), "resized_sha256": sha256(rs),
                       "resized_sum": int(rs.astype(np.int64).sum()),
                       "embedding": [float(v) for v in e],
                       "embedding_l2norm": float(np.linalg.norm(e)),
                       "opencv_max_abs_diff": diff})
        print(f"slice {k}: |e|={np.linalg.norm(e):.6f} max|numpy-opencv|={diff:.3g}"
              f" (max|e|={np.abs(e).max():.4f})")

    E = np.array(embs)
    En = E / np.linalg.norm(E, axis=1, keepdims=True)
    cos = En @ En.T
    print("cosine matrix (slices %s):" % SLICES)
    for row in cos:
        print("  " + " ".join(f"{v:.6f}" for v in row))

    labels_path = os.path.join(classifier_dir, "imagenet_labels.txt")
    classifier = None
    if os.path.exists(DOG) and os.path.exists(labels_path):
        with open(labels_path) as f:
            labels = [l.rstrip("\n") for l in f]
        classifier = classify(classifier_dir, labels)
    else:
        print("dog.jpg or labels missing: classifier section skipped")

    try:
        nifti_rel = os.path.relpath(nifti, REPO)
    except ValueError:
        nifti_rel = nifti
    out = {
        "generator": "tests/golden/make_deepnet_golden.py",
        "numpy": np.__version__, "onnx": onnx.__version__, "opencv": cv2.__version__,
        "model": {"file": os.path.basename(model_path), "sha256": file_sha256(model_path),
                  "input": ref.inputs[0], "output": out_name, "ops": ref.ops()},
        "preprocessing": {"input_size": [INPUT_W, INPUT_H], "layout": "NCHW",
                          "channel_order": "RGB", "scale": SCALE, "mean": MEAN,
                          "std": STD, "resize": "cv2.INTER_AREA", "blob_dtype": "float32"},
        "nifti": {"file": nifti_rel, "shape": [int(s) for s in data.shape]},
        "slices": slices,
        "cosine": {"indices": SLICES, "matrix": [[float(v) for v in r] for r in cos]},
        "opencv_max_abs_diff": worst,
        "classifier": classifier,
    }
    with open(out_path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("max |numpy - opencv| over slices:", worst)
    print("wrote", out_path)


if __name__ == "__main__":
    main()
