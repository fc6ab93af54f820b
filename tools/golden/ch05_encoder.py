"""Chapter 5 fixtures: one nn.TransformerEncoderLayer (batch_first, dropout 0, ReLU) in
both wirings (norm_first False = Post-LN, True = Pre-LN) with a src_key_padding_mask, and
a 2-layer nn.TransformerEncoder (Pre-LN with a final LayerNorm, Post-LN without). For a
fixed upstream gradient we store the output, the input gradient and (for the single
layers) every parameter's gradient, by autograd. All float32.

    .venv/bin/python ch05_encoder.py   # writes listings/ch05-encoder/tests/golden/ch05.json

Parameters are stored under the book's dotted names and in the book's layout (a weight is
[in, out], PyTorch's [out, in] transposed): PyTorch's in_proj_weight [3C, C] becomes
attn.w_qkv [C, 3C], out_proj.weight becomes attn.w_o, linear1 becomes ffn.fc1, and so on.
The Rust test loads them by name and compares each gradient by name ("d." + name).

The layers run with autograd on, so PyTorch takes its ordinary path. In inference mode
nn.TransformerEncoder may use nested tensors and return zeros at padded positions, which
this fixture does not model.
"""
import torch

from common import tensor, write

C, H, D_FF, B, T = 8, 2, 16, 2, 5
PAD_LENS = [5, 3]  # item 1's last two tokens are padding

# book name -> (PyTorch attribute path, transpose?)
LAYER_PARAMS = [
    ("attn.w_qkv", "self_attn.in_proj_weight", True),
    ("attn.b_qkv", "self_attn.in_proj_bias", False),
    ("attn.w_o", "self_attn.out_proj.weight", True),
    ("attn.b_o", "self_attn.out_proj.bias", False),
    ("norm1.gamma", "norm1.weight", False),
    ("norm1.beta", "norm1.bias", False),
    ("ffn.fc1.w", "linear1.weight", True),
    ("ffn.fc1.b", "linear1.bias", False),
    ("ffn.fc2.w", "linear2.weight", True),
    ("ffn.fc2.b", "linear2.bias", False),
    ("norm2.gamma", "norm2.weight", False),
    ("norm2.beta", "norm2.bias", False),
]


def get(module, path):
    for part in path.split("."):
        module = getattr(module, part)
    return module


def layer(norm_first):
    m = torch.nn.TransformerEncoderLayer(
        C, H, dim_feedforward=D_FF, dropout=0.0, activation="relu",
        batch_first=True, norm_first=norm_first,
    )
    with torch.no_grad():  # non-trivial biases and norm affines, so all grads are tested
        for name, path, _ in LAYER_PARAMS:
            p = get(m, path)
            if name.endswith("gamma"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn_like(p))
    return m


def params(prefix, m, case, grads):
    for name, path, transpose in LAYER_PARAMS:
        p = get(m, path)
        case[prefix + name] = tensor(p.T if transpose else p)
        if grads:
            case["d." + prefix + name] = tensor(p.grad.T if transpose else p.grad)


def run(model, prefix_of, final_norm=None, grads=True):
    x = torch.randn(B, T, C, requires_grad=True)
    kpm = torch.arange(T)[None, :] >= torch.tensor(PAD_LENS)[:, None]  # True = pad
    y = model(x, src_key_padding_mask=kpm)
    g = torch.randn_like(y)
    y.backward(g)
    case = {"x": tensor(x), "pad_lens": PAD_LENS, "upstream": tensor(g),
            "y": tensor(y), "dx": tensor(x.grad)}
    for prefix, m in prefix_of:
        params(prefix, m, case, grads)
    if final_norm is not None:
        for name, p in [("final_norm.gamma", final_norm.weight),
                        ("final_norm.beta", final_norm.bias)]:
            case[name] = tensor(p)
            case["d." + name] = tensor(p.grad)
    return case


torch.manual_seed(5)
cases = {}
for wiring, norm_first in [("post_ln", False), ("pre_ln", True)]:
    m = layer(norm_first)
    cases["layer_" + wiring] = run(m, [("", m)])

for wiring, norm_first in [("post_ln", False), ("pre_ln", True)]:
    layers = [layer(norm_first) for _ in range(2)]
    final = None
    if norm_first:
        final = torch.nn.LayerNorm(C)
        with torch.no_grad():
            final.weight.copy_(1.0 + 0.1 * torch.randn(C))
            final.bias.copy_(0.1 * torch.randn(C))
    stack = torch.nn.TransformerEncoder(layers[0], num_layers=2, norm=final,
                                        enable_nested_tensor=False)
    stack.layers = torch.nn.ModuleList(layers)  # the constructor deep-copies one layer
    cases["stack_" + wiring] = run(
        stack, [(f"blocks.{i}.", l) for i, l in enumerate(layers)], final, grads=False)

write("listings/ch05-encoder/tests/golden/ch05.json", cases)
