"""Chapter 1 fixtures: softmax, log_softmax, logsumexp, cross-entropy (with its gradient),
the matmul gradients, and entropy / KL, all from PyTorch in float32.

    .venv/bin/python ch01_foundations.py   # writes listings/ch01-foundations/tests/golden/ch01.json
"""
import torch
import torch.nn.functional as F

from common import tensor, write

torch.manual_seed(0)
cases = {}

# Softmax family along the last axis and along axis 0, including rows whose logits are far
# outside exp's f32 range (±1e4) and a row with one -inf (a masked position).
x = torch.randn(6, 7) * 3.0
x[4] = torch.tensor([1e4, 0.0, -1e4, 5e3, -5e3, 1.0, 2.0])
x[5] = torch.tensor([float("-inf"), 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
cases["softmax"] = {
    "x": tensor(x),
    "softmax_last": tensor(torch.softmax(x, dim=-1)),
    "log_softmax_last": tensor(torch.log_softmax(x, dim=-1)),
    "logsumexp_last": tensor(torch.logsumexp(x, dim=-1)),
}
x0 = torch.randn(5, 3) * 4.0
cases["softmax_axis0"] = {
    "x": tensor(x0),
    "softmax": tensor(torch.softmax(x0, dim=0)),
    "log_softmax": tensor(torch.log_softmax(x0, dim=0)),
    "logsumexp": tensor(torch.logsumexp(x0, dim=0)),
}

# Mean cross-entropy over integer targets and its gradient by autograd.
logits = (torch.randn(8, 11) * 2.0)
logits[7] = logits[7] * 1e3  # a confidently wrong or right row
logits.requires_grad_(True)
targets = torch.tensor([0, 3, 10, 5, 5, 2, 9, 4])
loss = F.cross_entropy(logits, targets)
loss.backward()
cases["cross_entropy"] = {
    "logits": tensor(logits),
    "targets": [int(t) for t in targets],
    "loss": float(loss.detach()),
    "dlogits": tensor(logits.grad),
}

# Y = X W with upstream gradient G: dX = G Wᵀ, dW = Xᵀ G.
X = torch.randn(3, 4, requires_grad=True)
W = torch.randn(4, 5, requires_grad=True)
G = torch.randn(3, 5)
(X @ W).backward(G)
cases["matmul"] = {"x": tensor(X), "w": tensor(W), "dy": tensor(G), "dx": tensor(X.grad), "dw": tensor(W.grad)}

# Entropy, cross-entropy and KL of two categorical distributions (nats).
p = torch.softmax(torch.randn(6), dim=0)
q = torch.softmax(torch.randn(6), dim=0)
P, Q = torch.distributions.Categorical(probs=p), torch.distributions.Categorical(probs=q)
cases["information"] = {
    "p": tensor(p),
    "q": tensor(q),
    "entropy_p": float(P.entropy()),
    "cross_entropy_pq": float(-(p * q.log()).sum()),
    "kl_pq": float(torch.distributions.kl_divergence(P, Q)),
}

write("listings/ch01-foundations/tests/golden/ch01.json", cases)
