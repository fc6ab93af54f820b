"""Fixtures for Chapter 11's cross-entropy: torch.nn.functional.cross_entropy with
ignore_index, label_smoothing and both, mean and sum reductions, extreme and -inf logits,
every row ignored; and PaLM's z-loss written out in torch (it has none built in). The loss
and the gradient of the logits by autograd, in float32 as torch computes them."""
import torch
import torch.nn.functional as F

from common import number, write

torch.manual_seed(11)


def case(logits, targets, ignore=None, eps=0.0, z=0.0, reduction="mean"):
    x = logits.clone().requires_grad_(True)
    kw = {} if ignore is None else {"ignore_index": ignore}
    loss = F.cross_entropy(x, targets, label_smoothing=eps, reduction=reduction, **kw)
    if z > 0.0:
        keep = torch.ones_like(targets, dtype=torch.bool) if ignore is None else targets != ignore
        lz2 = torch.logsumexp(x, dim=1)[keep] ** 2
        loss = loss + z * (lz2.mean() if reduction == "mean" else lz2.sum())
    loss.backward()
    return {
        "logits": tensor(logits),
        "targets": targets.tolist(),
        "ignore_index": ignore,
        "label_smoothing": eps,
        "z_loss": z,
        "reduction": reduction,
        "loss": tensor(loss),
        "dlogits": tensor(x.grad),
    }


def tensor(t):
    """Nine significant digits give back the exact float32; NaN and inf as strings."""
    t = t.detach().to(torch.float32).contiguous()
    data = [number(float(f"{v:.9g}")) for v in t.flatten().tolist()]
    return {"shape": list(t.shape), "data": data}


N, V, PAD = 7, 11, 0
logits = 3.0 * torch.randn(N, V)
targets = torch.randint(1, V, (N,))
padded = targets.clone()
padded[[1, 4, 5]] = PAD
big = 2.0 * torch.randn(5, 300)
big_t = torch.randint(0, 300, (5,))
big_t[[0, 4]] = 299
extreme = logits.clone()
extreme[0, 3], extreme[2, 0], extreme[5, :] = 1e4, -1e4, 5e3
masked = logits.clone()
masked[:, 7:] = float("-inf")  # a vocabulary cut to 7 classes
masked_t = torch.randint(0, 7, (N,))
cases = {
    "plain": case(logits, targets),
    "ignore_index": case(logits, padded, ignore=PAD),
    "label_smoothing": case(logits, targets, eps=0.1),
    "both": case(logits, padded, ignore=PAD, eps=0.1),
    "both_sum": case(logits, padded, ignore=PAD, eps=0.1, reduction="sum"),
    "all_ignored_mean": case(logits, torch.full((N,), PAD), ignore=PAD),
    "all_ignored_sum": case(logits, torch.full((N,), PAD), ignore=PAD, reduction="sum"),
    "smoothing_one": case(logits, targets, eps=1.0),
    "extreme_logits": case(extreme, targets, eps=0.1),
    "minus_inf_logits": case(masked, masked_t),
    "vocab_300": case(big, big_t, ignore=299, eps=0.2),
    "z_loss": case(logits, padded, ignore=PAD, eps=0.1, z=1e-2),
    "z_loss_sum": case(big, big_t, ignore=299, z=1e-4, reduction="sum"),
}
write("listings/ch11-training/tests/golden/ch11_loss.json", cases, compact=True)
