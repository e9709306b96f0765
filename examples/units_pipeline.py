"""From CT volumes to a 3-D pre-training loop with lessmore (docs/python.md, "3-D units"):
reduce near-duplicate 3-D patches, split by patient leak-free (lessmore split), the kept
patches as 1 x D x H x W tensors (KeptUnits) in a DataLoader, and a few steps of a tiny
masked 3-D autoencoder (the loss only on the voxels it was not shown).
Usage: python3 examples/units_pipeline.py INPUT... OUT"""
import sys

import torch
from torch.utils.data import DataLoader

import lessmore
from lessmore.torch import KeptUnits

*inputs, out = sys.argv[1:]
summary = lessmore.reduce(inputs, out, unit="patch:8,64,64:8,32,32", threshold=6, format="npy", force=True)
print(f"kept {summary.kept} of {summary.slices} patches")

splits = f"{out}/splits.json"  # each patient's patches in one split
print(lessmore.split(out, splits, fractions=(0.8, 0.2), force=True).parts)

data = KeptUnits(out, split=(splits, "training"), values="window:40,400")
loader = DataLoader(data, batch_size=4, shuffle=True, num_workers=2)  # batches of 4 x 1 x 8 x 64 x 64
net = torch.nn.Sequential(torch.nn.Conv3d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv3d(8, 8, 3, padding=1),
                          torch.nn.ReLU(), torch.nn.Conv3d(8, 1, 1))
optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)

step = 0
while step < 3:
    for x in loader:
        hidden = (torch.rand(x.shape[0], 1, 2, 8, 8) < 0.5).float()  # mask blocks of 4 x 8 x 8 voxels
        hidden = hidden.repeat_interleave(4, 2).repeat_interleave(8, 3).repeat_interleave(8, 4)
        y = net(x * (1 - hidden))
        loss = ((y - x) ** 2 * hidden).sum() / hidden.sum().clamp(min=1)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        step += 1
        print(f"step {step}: loss {loss.item():.4f}")
        if step == 3:
            break
