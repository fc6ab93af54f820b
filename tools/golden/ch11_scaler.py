"""Fixtures for Chapter 11's mixed precision: float32 values rounded to float16 and
bfloat16 by torch (round to nearest, ties to even) with their bit patterns, and
torch.amp.GradScaler's scale, skipped steps and unscaled gradients over a scripted
sequence of clean and overflowing steps (growth_interval 3 so that growth shows)."""
import torch

from common import write

VALUES = [1.0, 1 / 3, -2.5, 0.1, 65504.0, 65520.0, 1e5, 6.1e-5, 1e-6, 6e-8, 2e-8, 1e-8,
          1e-30, 3e38, 1.00390625, 1.005859375, float("inf"), float("nan")]


def bits(x: torch.Tensor) -> list:
    return [int(b) & 0xFFFF for b in x.view(torch.int16).tolist()]


def num(v: float):
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    return v


x = torch.tensor(VALUES, dtype=torch.float32)
rounding = {
    "input": [num(v) for v in x.tolist()],
    "f16": [num(v) for v in x.to(torch.float16).float().tolist()],
    "f16_bits": bits(x.to(torch.float16)),
    "bf16": [num(v) for v in x.to(torch.bfloat16).float().tolist()],
    "bf16_bits": bits(x.to(torch.bfloat16)),
}

# One parameter, SGD with lr 1, the loss g . p so that the true gradient is g. On the
# steps marked overflow, the gradient holds an inf (as an fp16 overflow leaves it).
SCRIPT = ["clean", "overflow", "clean", "clean", "clean", "clean", "overflow",
          "overflow", "clean", "clean", "clean", "clean", "clean", "clean", "nan", "clean"]
torch.manual_seed(0)
p = torch.nn.Parameter(torch.zeros(4))
opt = torch.optim.SGD([p], lr=1.0)
scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16, growth_factor=2.0,
                              backoff_factor=0.5, growth_interval=3)
steps = []
for kind in SCRIPT:
    g = torch.randn(4)
    if kind == "overflow":
        g[1] = float("inf")
    if kind == "nan":
        g[2] = float("nan")
    opt.zero_grad()
    before = p.detach().clone()
    scale_before = scaler.get_scale()
    scaler.scale((g * p).sum()).backward()
    scaler.step(opt)
    scaler.update()
    steps.append({
        "kind": kind,
        "grad": [num(v) for v in g.tolist()],
        "scale_before": scale_before,
        "scale_after": scaler.get_scale(),
        "stepped": bool(not torch.equal(before, p.detach())),
        "param": [num(v) for v in p.detach().tolist()],
    })
write("listings/ch11-training/tests/golden/scaler.json",
      {"rounding": rounding, "scaler": {"init_scale": 2.0**16, "growth_factor": 2.0,
                                         "backoff_factor": 0.5, "growth_interval": 3,
                                         "steps": steps}})
