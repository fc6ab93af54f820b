"""Chapter 4 fixtures: Linear, ReLU / GELU (exact and tanh) / SiLU, erf, LayerNorm,
RMSNorm, a GELU FFN and a SwiGLU FFN, each with its output and, for a fixed upstream
gradient dy, the input and parameter gradients by autograd. All float32.

    .venv/bin/python ch04_ffn_norms.py   # writes listings/ch04-ffn-norms/tests/golden/ch04.json

PyTorch stores a Linear weight as [out, in] and computes x Wᵀ; the book stores W as
[in, out] and computes x W, so every weight (and its gradient) is written transposed.
"""
import torch
import torch.nn.functional as F

from common import tensor, write

torch.manual_seed(0)
cases = {}


def backward(y, dy, *tensors):
    y.backward(dy)
    return [t.grad for t in tensors]


# Activations on a spread of inputs, including the tails and exact zeros.
x = torch.cat([torch.linspace(-8, 8, 33), torch.randn(31) * 3]).reshape(4, 16)
dy = torch.randn(4, 16)
for name, f in [
    ("relu", F.relu),
    ("gelu", lambda t: F.gelu(t, approximate="none")),
    ("gelu_tanh", lambda t: F.gelu(t, approximate="tanh")),
    ("silu", F.silu),
]:
    xi = x.clone().requires_grad_(True)
    y = f(xi)
    (dx,) = backward(y, dy, xi)
    cases[name] = {"x": tensor(x), "dy": tensor(dy), "y": tensor(y), "dx": tensor(dx)}

# erf on a fine grid, computed in float64 and rounded once to float32.
grid = torch.linspace(-6, 6, 241, dtype=torch.float64)
cases["erf"] = {"x": tensor(grid), "y": tensor(torch.erf(grid))}

# Linear: 5 rows, 6 -> 4.
lin = torch.nn.Linear(6, 4)
x = torch.randn(5, 6, requires_grad=True)
dy = torch.randn(5, 4)
y = lin(x)
dx, dw, db = backward(y, dy, x, lin.weight, lin.bias)
cases["linear"] = {
    "x": tensor(x), "w": tensor(lin.weight.T), "b": tensor(lin.bias), "dy": tensor(dy),
    "y": tensor(y), "dx": tensor(dx), "dw": tensor(dw.T), "db": tensor(db),
}

# LayerNorm over 8 features; row 0 has a large mean offset, row 1 a tiny spread.
ln = torch.nn.LayerNorm(8, eps=1e-5)
with torch.no_grad():
    ln.weight.copy_(torch.randn(8))
    ln.bias.copy_(torch.randn(8))
x = torch.randn(4, 8)
x[0] += 100.0
x[1] *= 1e-2
x.requires_grad_(True)
dy = torch.randn(4, 8)
y = ln(x)
dx, dg, dbeta = backward(y, dy, x, ln.weight, ln.bias)
cases["layernorm"] = {
    "x": tensor(x), "gamma": tensor(ln.weight), "beta": tensor(ln.bias), "eps": 1e-5,
    "dy": tensor(dy), "y": tensor(y), "dx": tensor(dx), "dgamma": tensor(dg),
    "dbeta": tensor(dbeta),
}

# RMSNorm: torch's nn.RMSNorm (eps inside the square root, as in Llama).
rms = torch.nn.RMSNorm(8, eps=1e-6)
with torch.no_grad():
    rms.weight.copy_(torch.randn(8))
x = torch.randn(4, 8)
x[0] += 5.0
x.requires_grad_(True)
dy = torch.randn(4, 8)
y = rms(x)
manual = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * rms.weight
assert torch.allclose(y, manual, atol=1e-6), "nn.RMSNorm is not the Llama formula"
dx, dw = backward(y, dy, x, rms.weight)
cases["rmsnorm"] = {
    "x": tensor(x), "weight": tensor(rms.weight), "eps": 1e-6, "dy": tensor(dy),
    "y": tensor(y), "dx": tensor(dx), "dweight": tensor(dw),
}

# FFN: Linear(8 -> 32), exact GELU, Linear(32 -> 8), as nn.Sequential.
ffn = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.GELU(), torch.nn.Linear(32, 8))
x = torch.randn(6, 8, requires_grad=True)
dy = torch.randn(6, 8)
y = ffn(x)
fc1, fc2 = ffn[0], ffn[2]
dx, dw1, db1, dw2, db2 = backward(y, dy, x, fc1.weight, fc1.bias, fc2.weight, fc2.bias)
cases["ffn"] = {
    "x": tensor(x), "w1": tensor(fc1.weight.T), "b1": tensor(fc1.bias),
    "w2": tensor(fc2.weight.T), "b2": tensor(fc2.bias), "dy": tensor(dy), "y": tensor(y),
    "dx": tensor(dx), "dw1": tensor(dw1.T), "db1": tensor(db1), "dw2": tensor(dw2.T),
    "db2": tensor(db2),
}

# SwiGLU as in Llama's FeedForward: w2(silu(w1(x)) * w3(x)), no biases; 8 -> 12 -> 8.
w1 = torch.nn.Linear(8, 12, bias=False)
w2 = torch.nn.Linear(12, 8, bias=False)
w3 = torch.nn.Linear(8, 12, bias=False)
x = torch.randn(5, 8, requires_grad=True)
dy = torch.randn(5, 8)
y = w2(F.silu(w1(x)) * w3(x))
dx, g1, g2, g3 = backward(y, dy, x, w1.weight, w2.weight, w3.weight)
cases["swiglu"] = {
    "x": tensor(x), "w1": tensor(w1.weight.T), "w2": tensor(w2.weight.T),
    "w3": tensor(w3.weight.T), "dy": tensor(dy), "y": tensor(y), "dx": tensor(dx),
    "dw1": tensor(g1.T), "dw2": tensor(g2.T), "dw3": tensor(g3.T),
}

write("listings/ch04-ffn-norms/tests/golden/ch04.json", cases)
