"""Fixtures for Chapter 11's optimizers: torch.optim.SGD (momentum with dampening, and
Nesterov), Adam with coupled L2 decay and AdamW with decoupled decay, each with two
parameter groups (decay on the matrices; none on biases, norm gains and embeddings,
chosen by the same dotted names as the book's `decays`), for STEPS steps on fixed
seeded gradients and a learning rate that changes every step. After each step the
parameters and the optimizer's state (momentum_buffer; exp_avg, exp_avg_sq) are
recorded, from one run in float32 and one in float64 that starts from the same values.

    .venv/bin/python ch11_optim.py   -> listings/ch11-training/tests/golden/optim.json
"""
import torch

from common import write

torch.manual_seed(0)
STEPS = 5
# name -> shape, gradient scale: scales far apart, so Adam's per-coordinate step matters
PARAMS = {
    "embed.table": ((4, 3), 1.0),
    "blocks.0.attn.w_q.w": ((3, 3), 3.0),
    "blocks.0.attn.w_q.b": ((3,), 0.01),
    "blocks.0.ffn_norm.weight": ((3,), 0.3),
    "lm_head": ((3, 4), 0.05),
}
NO_DECAY = {"embed.table", "blocks.0.attn.w_q.b", "blocks.0.ffn_norm.weight"}
LRS = [0.05, 0.04, 0.03, 0.02, 0.01]
CONFIGS = {
    "sgd_momentum": lambda g: torch.optim.SGD(g, lr=LRS[0], momentum=0.9, dampening=0.1),
    "sgd_nesterov": lambda g: torch.optim.SGD(g, lr=LRS[0], momentum=0.9, nesterov=True),
    "adam_l2": lambda g: torch.optim.Adam(g, lr=LRS[0], betas=(0.9, 0.999), eps=1e-8),
    "adamw": lambda g: torch.optim.AdamW(g, lr=LRS[0], betas=(0.9, 0.95), eps=1e-8),
}
WEIGHT_DECAY = {"sgd_momentum": 0.01, "sgd_nesterov": 0.01, "adam_l2": 0.1, "adamw": 0.1}

init = {n: torch.randn(s) for n, (s, _) in PARAMS.items()}
grads = [{n: scale * torch.randn(s) for n, (s, scale) in PARAMS.items()} for _ in range(STEPS)]


def data(t: torch.Tensor) -> list:
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().flatten().tolist()]}


def run(config: str, dtype: torch.dtype) -> list:
    params = {n: torch.nn.Parameter(v.to(dtype).clone()) for n, v in init.items()}
    groups = [
        {"params": [p for n, p in params.items() if n not in NO_DECAY],
         "weight_decay": WEIGHT_DECAY[config]},
        {"params": [p for n, p in params.items() if n in NO_DECAY], "weight_decay": 0.0},
    ]
    opt = CONFIGS[config](groups)
    steps = []
    for t in range(STEPS):
        for g in opt.param_groups:
            g["lr"] = LRS[t]
        for n, p in params.items():
            p.grad = grads[t][n].to(dtype).clone()
        opt.step()
        rec = {}
        for n, p in params.items():
            rec[n] = data(p)
            for k, v in opt.state[p].items():
                if k != "step":
                    rec[f"{n}/{k}"] = data(v)
        steps.append(rec)
    return steps


cases = {
    "setup": {
        "init": {n: data(v) for n, v in init.items()},
        "grads": [{n: data(g[n]) for n in PARAMS} for g in grads],
        "lrs": LRS,
        "no_decay": sorted(NO_DECAY),
        "weight_decay": WEIGHT_DECAY,
    }
}
for config in CONFIGS:
    cases[config] = {"f32": run(config, torch.float32), "f64": run(config, torch.float64)}
write("listings/ch11-training/tests/golden/optim.json", cases, compact=True)
