"""From CT volumes to a SimCLR-style training loop with lessmore (docs/python.md):
reduce near-duplicate slices, split by patient leak-free (lessmore split), two augmented views
per slice, a DataLoader and a few steps of a tiny encoder with the NT-Xent loss.
Usage: python3 examples/simclr_pipeline.py INPUT... OUT"""
import sys

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

import lessmore
from lessmore.torch import KeptSlices

*inputs, out = sys.argv[1:]
summary = lessmore.reduce(inputs, out, threshold=6, format="npy", force=True)
print(f"kept {summary.kept} of {summary.slices} slices")

splits = f"{out}/splits.json"  # patients tied by similar slices stay in one split
print(lessmore.split(out, splits, fractions=(0.8, 0.2), force=True).parts)


def two_views(x):  # x: 1 x H x W in [0, 1]
    def view():
        y = F.interpolate(x[None], size=(64, 64), mode="bilinear", align_corners=False)[0]
        if torch.rand(()) < 0.5:
            y = y.flip(-1)
        return (y * (0.8 + 0.4 * torch.rand(())) + 0.05 * torch.randn_like(y)).clamp(0, 1)
    return torch.stack([view(), view()])


data = KeptSlices(out, split=(splits, "training"), values="window:40,400", transform=two_views)
loader = DataLoader(data, batch_size=8, shuffle=True, num_workers=2, drop_last=False)
encoder = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, stride=2), torch.nn.ReLU(), torch.nn.Conv2d(8, 16, 3, stride=2),
                              torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 32))
optimiser = torch.optim.Adam(encoder.parameters(), lr=1e-3)


def nt_xent(z, temperature=0.5):
    z = F.normalize(z, dim=1)
    n = z.shape[0] // 2
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, targets)


step = 0
while step < 3:
    for views in loader:  # batch x 2 x 1 x 64 x 64
        z = encoder(torch.cat([views[:, 0], views[:, 1]]))
        loss = nt_xent(z)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        step += 1
        print(f"step {step}: loss {loss.item():.4f}")
        if step == 3:
            break
