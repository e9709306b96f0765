#!/usr/bin/python3
"""Torch's own CPU forward pass over a series' slices, the reference lessmore's DeepNet is
measured against (bench/bench_models.sh).

  torch_forward.py export WORK              write WORK/<model>.onnx, .pt and .json for the
                                            benchmarked models (torchvision, weights=None)
  torch_forward.py forward WORK MODEL SERIES THREADS BATCH [LIMIT]
                                            prints the seconds torch takes for the forward
                                            passes alone over the series' slices (first
                                            LIMIT), preprocessed as lessmore does (per-slice
                                            min-max to 8 bits, OpenCV's INTER_AREA resize,
                                            (p * scale - mean) / std), in batches of BATCH on
                                            THREADS threads; preprocessing is not timed.

Debian's python3-torch/python3-torchvision, pydicom and cv2.
"""
import json
import os
import sys
import time

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "data"))

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def export(work):
    from export_torch_models import models  # the test suite's models, the same seeds
    os.makedirs(work, exist_ok=True)
    for name, (model, size, channels, opset, extra) in models().items():
        model.eval()
        x = torch.zeros(1, channels, size, size)
        if not os.path.exists(os.path.join(work, name + ".onnx")):
            torch.onnx.export(model, x, os.path.join(work, name + ".onnx"), opset_version=opset,
                              input_names=["input"], output_names=["embedding"],
                              dynamic_axes={"input": {0: "N"}, "embedding": {0: "N"}})
        if not os.path.exists(os.path.join(work, name + ".pt")):
            with torch.no_grad():
                torch.jit.trace(model, x).save(os.path.join(work, name + ".pt"))
        with open(os.path.join(work, name + ".json"), "w") as f:
            json.dump({"input_size": [size, size], **extra}, f)


def slices(series, limit):
    """The series' slices in InstanceNumber order (make_series.py numbers them along the
    normal), as rescaled values."""
    from dicom_source import read_dicom_dir
    dss = sorted((ds for _, ds in read_dicom_dir(series)), key=lambda ds: int(ds.InstanceNumber))
    if limit:
        dss = dss[:limit]
    return np.stack([ds.pixel_array * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0))
                     for ds in dss])


def preprocess(vol, size, channels, sidecar):
    out = []
    for s in vol.astype(np.float64):
        if sidecar.get("values") == "hu":
            v = np.clip(s, *sidecar["window"]).astype(np.float32)
            v = cv2.resize(v, (size, size), interpolation=cv2.INTER_AREA)
            x = (v * sidecar["scale"] - sidecar["mean"]) / sidecar["std"]
            out.append(x[None].astype(np.float32))
            continue
        lo, hi = s.min(), s.max()
        p = np.round((s - lo) / (hi - lo) * 255) if hi > lo else np.zeros_like(s)
        p = cv2.resize(p.astype(np.uint8), (size, size), interpolation=cv2.INTER_AREA).astype(np.float64)
        out.append(np.stack([(p * sidecar["scale"] - sidecar["mean"][c]) / sidecar["std"][c]
                             for c in range(channels)]).astype(np.float32))
    return np.stack(out)


def forward(work, name, series, threads, batch, limit):
    from export_torch_models import models
    torch.set_num_threads(threads)
    model, size, channels, _, _ = models()[name]
    model.eval()
    with open(os.path.join(work, name + ".json")) as f:
        sidecar = json.load(f)
    x = torch.from_numpy(preprocess(slices(series, limit), size, channels, sidecar))
    with torch.no_grad():
        model(x[:batch])  # warm-up
        start = time.perf_counter()
        for i in range(0, len(x), batch):
            model(x[i:i + batch])
        print(f"{time.perf_counter() - start:.3f}")


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(sys.argv[2])
    else:
        forward(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]),
                int(sys.argv[7]) if len(sys.argv) > 7 else 0)
