"""Fixtures for Chapter 7's optimizer: torch.optim.Adam (betas 0.9/0.98, eps 1e-9, as in
Vaswani et al. 2017) driven by LambdaLR with the Noam schedule, after
torch.nn.utils.clip_grad_norm_, for a few steps on fixed gradients."""
import torch

from common import tensor, write

torch.manual_seed(0)
D_MODEL, WARMUP, SCALE, MAX_NORM, STEPS = 64, 3, 2.0, 1.0, 6


def noam(step: int) -> float:  # LambdaLR passes 0, 1, ...; the schedule counts from 1
    step = step + 1
    return SCALE * D_MODEL ** -0.5 * min(step ** -0.5, step * WARMUP ** -1.5)


a = torch.nn.Parameter(torch.randn(3, 4))
b = torch.nn.Parameter(torch.randn(5))
cases = {"init": {"a": tensor(a), "b": tensor(b)}}
opt = torch.optim.Adam([a, b], lr=1.0, betas=(0.9, 0.98), eps=1e-9)
sched = torch.optim.lr_scheduler.LambdaLR(opt, noam)
for t in range(STEPS):
    # big gradients on some steps, so clipping both acts and does not
    scale = 3.0 if t % 2 == 0 else 0.1
    ga, gb = scale * torch.randn(3, 4), scale * torch.randn(5)
    a.grad, b.grad = ga.clone(), gb.clone()
    lr = opt.param_groups[0]["lr"]
    norm = torch.nn.utils.clip_grad_norm_([a, b], MAX_NORM)
    opt.step()
    sched.step()
    cases[f"step{t + 1}"] = {
        "grad_a": tensor(ga),
        "grad_b": tensor(gb),
        "lr": lr,
        "norm": float(norm),
        "a": tensor(a),
        "b": tensor(b),
    }
write("listings/ch07-transformer/tests/golden/optim.json", cases)
