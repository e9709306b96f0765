#!/usr/bin/python3
"""Export the torch models the DeepNet tests run, with Debian's python3-torch, into a
temporary folder (a ctest fixture: tests/CMakeLists.txt), and write torch's own forward
pass on a fixed set of preprocessed inputs next to them.

Usage: /usr/bin/python3 export_torch_models.py OUT_DIR
Exit 77 (ctest's "skipped") when torch or torchvision is not installed.

Each model M (weights=None, deterministic seeds, eval mode) is written as
  OUT_DIR/M.onnx  torch.onnx.export, dynamic batch, at the opset listed below
  OUT_DIR/M.pt    torch.jit.trace(model, x).save(...)
  OUT_DIR/M.json  the sidecar of both: input_size, channels, values, window, scale, mean, std
plus the 3-D unit models of docs/models.md, section "3-D models" (unit3d.pt: depth 8, 8-bit,
an embedding; unit3d_map.pt: any depth, values "hu", a feature map lessmore pools; unit3d.onnx
for the refusal of 3-D ONNX; their sidecars; tests/golden/check_unit_model.py runs them),
plus ResNet18 as ONNX at opsets 12-17 and from torch.jit.script (resnet18_opsetN.onnx,
resnet18_scripted.onnx, the same weights as resnet18), and OUT_DIR/images/ holds 8-bit PNG slices at the models' input size (one image folder per
size: a volume whose slices need no resizing), OUT_DIR/expected.json the embeddings torch
computes from exactly the input lessmore must feed: for the 8-bit models
(pixel * scale - mean) / std per channel, grey in every channel; for the HU model the
values of OUT_DIR/hu/volume.nii.gz clipped to the window, then (v * scale - mean) / std.

The images are made with numpy from a fixed seed (smooth blobs, not noise, so the models'
outputs are not all alike), and written with Pillow.
"""

import hashlib
import json
import os
import shutil
import sys

try:
    import torch
    import torchvision
    from torchvision.models import convnext_tiny, resnet18, resnet50
    from torchvision.models.vision_transformer import VisionTransformer
except ImportError as e:  # pragma: no cover
    print(f"skipped: {e} (install python3-torch python3-torchvision)")
    sys.exit(77)

import nibabel as nib
import numpy as np
from PIL import Image

torch.set_num_threads(1)
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
SLICES = 6


class OneChannelCnn(torch.nn.Module):
    """What a CT encoder looks like: one channel (HU) in, an embedding out."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, stride=2, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
            torch.nn.Conv2d(16, 32, 3, stride=2, padding=1), torch.nn.BatchNorm2d(32), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(32, 24))

    def forward(self, x):
        return self.body(x)


class UnitCnn(torch.nn.Module):
    """A tiny 3-D encoder: one channel, N x 1 x D x H x W in; an embedding, or (map=True) the
    last convolution's N x C x D' x H' x W' feature map."""

    def __init__(self, map_out=False):
        super().__init__()
        self.map_out = map_out
        self.body = torch.nn.Sequential(
            torch.nn.Conv3d(1, 8, 3, stride=(1, 2, 2), padding=1), torch.nn.BatchNorm3d(8), torch.nn.ReLU(),
            torch.nn.Conv3d(8, 12, 3, stride=2, padding=1))
        self.head = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.AdaptiveAvgPool3d(1), torch.nn.Flatten(),
                                        torch.nn.Linear(12, 10))

    def forward(self, x):
        y = self.body(x)
        return y if self.map_out else self.head(y)


def unit_models():
    """name -> (model, example input shape, sidecar) for 3-D units."""
    torch.manual_seed(5)
    emb = UnitCnn()
    torch.manual_seed(6)
    fmap = UnitCnn(map_out=True)
    return {
        "unit3d": (emb, (1, 1, 8, 24, 24),
                   {"depth": 8, "channels": 1, "input_size": [24, 24], "scale": 1 / 255, "mean": 0.5, "std": 0.25}),
        "unit3d_map": (fmap, (1, 1, 6, 20, 20),
                       {"depth": "any", "channels": 1, "input_size": [20, 20], "values": "hu",
                        "window": [-300, 400], "scale": 1 / 350, "mean": 0.1, "std": 0.5, "pool": True}),
    }


def models():
    """name -> (model, size, channels, opset, sidecar extras)"""
    torch.manual_seed(0)
    r18 = resnet18(weights=None)
    r18.fc = torch.nn.Identity()
    torch.manual_seed(1)
    r50 = resnet50(weights=None)
    r50.fc = torch.nn.Identity()
    torch.manual_seed(2)
    cnx = convnext_tiny(weights=None)
    cnx.classifier[2] = torch.nn.Identity()
    torch.manual_seed(3)
    vit = VisionTransformer(image_size=64, patch_size=16, num_layers=2, num_heads=2, hidden_dim=64, mlp_dim=128)
    vit.heads = torch.nn.Identity()
    torch.manual_seed(4)
    ct = OneChannelCnn()
    rgb = {"scale": 1 / 255, "mean": MEAN, "std": STD}
    hu = {"channels": 1, "values": "hu", "window": [-1000, 1000], "scale": 1 / 1000, "mean": 0, "std": 1}
    return {
        "resnet18": (r18, 224, 3, 11, rgb),
        "resnet50": (r50, 224, 3, 13, rgb),
        "convnext_tiny": (cnx, 224, 3, 13, rgb),
        "vit_small": (vit, 64, 3, 14, rgb),
        "ct_cnn": (ct, 64, 1, 17, hu),
    }


def blobs(rng, n, size, lo, hi):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    out = []
    for _ in range(n):
        img = np.zeros((size, size))
        for _ in range(5):
            cx, cy = rng.uniform(0, size, 2)
            r = rng.uniform(size / 10, size / 3)
            img += rng.uniform(0.2, 1.0) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        img = img / img.max()
        out.append(lo + img * (hi - lo))
    return out


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    # Exported by this very script before: nothing to do (the suite runs it on every ctest).
    with open(os.path.abspath(__file__), "rb") as f:
        script = hashlib.sha256(f.read()).hexdigest()
    try:
        with open(os.path.join(out, "expected.json")) as f:
            if json.load(f).get("script_sha256") == script:
                print(f"models in {out} are up to date")
                return
    except (OSError, ValueError):
        pass
    rng = np.random.default_rng(20)
    images = {}
    for size in (224, 64):
        folder = os.path.join(out, "images", str(size))
        os.makedirs(folder, exist_ok=True)
        imgs = [np.round(b).astype(np.uint8) for b in blobs(rng, SLICES, size, 0, 255)]
        for i, img in enumerate(imgs):
            Image.fromarray(img).save(os.path.join(folder, f"slice_{i:02d}.png"))
        images[size] = imgs
    # The HU volume: int16 values from -1200 to 1500 (outside the window at both ends).
    hu = np.stack([np.round(b).astype(np.int16) for b in blobs(rng, SLICES, 64, -1200, 1500)], axis=-1)
    os.makedirs(os.path.join(out, "hu"), exist_ok=True)
    # nibabel: array index [x, y, z]; lessmore's slice k is hu[:, :, k] seen as rows y, columns x.
    nib.save(nib.Nifti1Image(hu, np.eye(4)), os.path.join(out, "hu", "volume.nii.gz"))

    expected = {"script_sha256": script, "torch": torch.__version__, "torchvision": torchvision.__version__, "models": {}}
    for name, (model, size, channels, opset, extra) in models().items():
        model.eval()
        sidecar = {"input_size": [size, size], **extra}
        if channels == 1:
            v = np.stack([hu[:, :, k].T.astype(np.float64) for k in range(SLICES)])  # rows y, columns x
            v = np.clip(v, *extra["window"])
            batch = ((v * extra["scale"] - extra["mean"]) / extra["std"]).astype(np.float32)[:, None]
        else:
            g = np.stack(images[size]).astype(np.float64)
            batch = np.stack([(g * extra["scale"] - MEAN[c]) / STD[c] for c in range(3)], axis=1).astype(np.float32)
        x = torch.from_numpy(batch)
        with torch.no_grad():
            y = model(x).numpy()
        example = x[:1]
        torch.onnx.export(model, example, os.path.join(out, name + ".onnx"), opset_version=opset,
                          input_names=["input"], output_names=["embedding"],
                          dynamic_axes={"input": {0: "N"}, "embedding": {0: "N"}})
        with torch.no_grad():
            torch.jit.trace(model, example).save(os.path.join(out, name + ".pt"))
        with open(os.path.join(out, name + ".json"), "w") as f:  # the sidecar of both files
            json.dump(sidecar, f)
        expected["models"][name] = {"opset": opset, "size": size, "channels": channels,
                                    "embeddings": y.astype(np.float64).tolist()}
    # ResNet18 at every other opset torch 1.13 writes, and exported from torch.jit.script
    # rather than traced: the same weights, so the same expected embeddings.
    r18 = models()["resnet18"][0].eval()
    variants = {f"resnet18_opset{o}": (r18, o) for o in (12, 13, 14, 15, 16, 17)}
    variants["resnet18_scripted"] = (torch.jit.script(r18), 13)
    for name, (model, opset) in variants.items():
        torch.onnx.export(model, torch.zeros(1, 3, 224, 224), os.path.join(out, name + ".onnx"), opset_version=opset,
                          input_names=["input"], output_names=["embedding"],
                          dynamic_axes={"input": {0: "N"}, "embedding": {0: "N"}})
        shutil.copy(os.path.join(out, "resnet18.json"), os.path.join(out, name + ".json"))
    expected["resnet18_variants"] = sorted(variants)
    for name, (model, shape, sidecar) in unit_models().items():
        model.eval()
        example = torch.zeros(shape)
        with torch.no_grad():
            torch.jit.trace(model, example).save(os.path.join(out, name + ".pt"))
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(sidecar, f)
    # The same 3-D network as ONNX (which lessmore refuses: OpenCV 4.6 cannot run it), with
    # a sidecar that does not say 'depth': the graph's 5-D input tells.
    torch.onnx.export(unit_models()["unit3d"][0].eval(), torch.zeros(1, 1, 8, 24, 24),
                      os.path.join(out, "unit3d_graph.onnx"), opset_version=13, input_names=["input"],
                      output_names=["embedding"], dynamic_axes={"input": {0: "N"}, "embedding": {0: "N"}})
    expected["unit_models"] = sorted(unit_models())
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)
    print(f"exported {len(expected['models'])} models to {out}")


if __name__ == "__main__":
    main()
