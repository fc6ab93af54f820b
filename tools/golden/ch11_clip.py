"""Fixtures for Chapter 11's gradient clipping: torch.nn.utils.clip_grad_norm_ (L2, the
default foreach path) on three gradients of different shapes, with max_norm below and
above their global norm, a norm of about 1e-6 where the 1e-6 torch adds to the norm
matters, zero gradients, and max_norm 0: the returned total norm and the clipped grads."""
import torch

from common import tensor, write

torch.manual_seed(11)
shapes = {"embed": (7, 3), "layer.w": (4, 5), "layer.b": (5,)}
base = {name: torch.randn(*s) for name, s in shapes.items()}


def case(scale: float, max_norm: float):
    params = {name: torch.nn.Parameter(torch.zeros(s)) for name, s in shapes.items()}
    for name, p in params.items():
        p.grad = scale * base[name].clone()
    out = {"max_norm": max_norm}
    out.update({f"grad.{name}": tensor(p.grad) for name, p in params.items()})
    out["total_norm"] = float(torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm))
    out.update({f"clipped.{name}": tensor(p.grad) for name, p in params.items()})
    return out


norm = float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in base.values()])))
cases = {
    "above": case(1.0, 0.5 * norm),  # clipped to half
    "below": case(1.0, 2.0 * norm),  # untouched
    "large": case(10.0, 1.0),  # a spike's gradient, clipped at the usual 1.0
    "tiny": case(1e-6 / norm, 1.5e-6),  # below max_norm, yet scaled by 1.5e-6 / 2e-6
    "zero": case(0.0, 1.0),
    "max_norm_zero": case(1.0, 0.0),
}
write("listings/ch11-training/tests/golden/ch11_clip.json", cases)
