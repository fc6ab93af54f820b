"""Fixtures for Chapter 11's learning-rate schedules: the factor of the peak learning
rate after each of STEPS + 1 scheduler steps (step = updates already taken), from

- LambdaLR with each schedule written as its formula (all five, Noam included);
- PyTorch's own pieces where it has them: SequentialLR of LinearLR (the warm-up) and
  CosineAnnealingLR (to eta_min), of LinearLR and LinearLR (to 0), and of LinearLR,
  ConstantLR and LinearLR (warmup-stable-decay).

    .venv/bin/python ch11_schedules.py   -> listings/ch11-training/tests/golden/schedules.json
"""
import math

import torch
from torch.optim.lr_scheduler import ConstantLR, CosineAnnealingLR, LambdaLR, LinearLR, SequentialLR

from common import write

WARMUP, TOTAL, DECAY, FLOOR, STEPS = 10, 100, 20, 0.1, 100


def warm(s: int, w: int) -> float:  # LinearLR(start_factor=1/(w+1)) at step s < w
    return (s + 1) / (w + 1)


def cosine(s):
    if s < WARMUP:
        return warm(s, WARMUP)
    p = min(1.0, (s - WARMUP) / (TOTAL - WARMUP))
    return FLOOR + (1 - FLOOR) * 0.5 * (1 + math.cos(math.pi * p))


def linear(s):
    return warm(s, WARMUP) if s < WARMUP else max(0.0, 1 - (s - WARMUP) / (TOTAL - WARMUP))


def inverse_sqrt(s):
    return min((s + 1) / WARMUP, math.sqrt(WARMUP / (s + 1)))


def wsd(s):
    start = TOTAL - DECAY
    if s < WARMUP:
        return warm(s, WARMUP)
    if s < start:
        return 1.0
    return 1 - (1 - FLOOR) * min(1.0, (s - start) / DECAY)


def factors(make) -> list[float]:
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = make(opt)
    out = []
    for _ in range(STEPS + 1):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def ramp(opt):
    return LinearLR(opt, start_factor=1 / (WARMUP + 1), end_factor=1.0, total_iters=WARMUP)


cases = {"setup": {"warmup": WARMUP, "total": TOTAL, "decay": DECAY, "floor": FLOOR}}
for name, f in [("constant", lambda s: 1.0), ("cosine", cosine), ("linear", linear),
                ("inverse_sqrt", inverse_sqrt), ("wsd", wsd)]:
    cases[f"lambda_{name}"] = {"factors": factors(lambda opt: LambdaLR(opt, f))}
cases["builtin_cosine"] = {"factors": factors(lambda opt: SequentialLR(opt, [
    ramp(opt), CosineAnnealingLR(opt, T_max=TOTAL - WARMUP, eta_min=FLOOR)], milestones=[WARMUP]))}
cases["builtin_linear"] = {"factors": factors(lambda opt: SequentialLR(opt, [
    ramp(opt), LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=TOTAL - WARMUP)],
    milestones=[WARMUP]))}
cases["builtin_wsd"] = {"factors": factors(lambda opt: SequentialLR(opt, [
    ramp(opt), ConstantLR(opt, factor=1.0, total_iters=0),
    LinearLR(opt, start_factor=1.0, end_factor=FLOOR, total_iters=DECAY)],
    milestones=[WARMUP, TOTAL - DECAY]))}
for kind in ("cosine", "linear", "wsd"):
    a, b = cases[f"lambda_{kind}"]["factors"], cases[f"builtin_{kind}"]["factors"]
    print(kind, "LambdaLR vs SequentialLR max diff", max(abs(x - y) for x, y in zip(a, b)))
write("listings/ch11-training/tests/golden/schedules.json", cases, compact=True)
