"""Chapter 6 fixtures: one decoder-only block is PyTorch's nn.TransformerEncoderLayer
(batch_first, dropout 0, ReLU) called with a causal src_mask, with and without a key
padding mask, in both wirings (norm_first=False: Post-LN; True: Pre-LN). Output, input
gradient and every parameter gradient for a fixed upstream gradient, float32 on CPU.

    .venv/bin/python ch06_decoder.py   # writes listings/ch06-decoder/tests/golden/ch06.json

Weights are stored in PyTorch's layout (Linear computes x Wᵀ); the Rust test transposes.
"""
import torch

from common import tensor, write

torch.manual_seed(0)
cases = {}


def block_case(norm_first, pad_lens, b=2, t=5, c=8, h=2, d_ff=16):
    layer = torch.nn.TransformerEncoderLayer(
        c, h, dim_feedforward=d_ff, dropout=0.0, batch_first=True, norm_first=norm_first
    )
    with torch.no_grad():  # non-trivial biases and norm parameters, so all are exercised
        for name, p in layer.named_parameters():
            if "bias" in name or "norm" in name:
                p.add_(torch.randn_like(p) * 0.1)
    x = torch.randn(b, t, c, requires_grad=True)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(t, dtype=torch.bool)
    kpm = None
    if pad_lens is not None:  # True = padding
        kpm = torch.arange(t)[None, :] >= torch.tensor(pad_lens)[:, None]
    y = layer(x, src_mask=causal, src_key_padding_mask=kpm, is_causal=True)
    g = torch.randn_like(y)
    y.backward(g)
    case = {"x": tensor(x), "upstream": tensor(g), "out": tensor(y), "dx": tensor(x.grad),
            "heads": h, "norm_first": int(norm_first)}
    if pad_lens is not None:
        case["pad_lens"] = list(pad_lens)
    for name, p in layer.named_parameters():
        case[name] = tensor(p)
        case["d_" + name] = tensor(p.grad)
    return case


for norm_first in (False, True):
    tag = "pre_ln" if norm_first else "post_ln"
    cases[f"{tag}_causal"] = block_case(norm_first, None)
    cases[f"{tag}_causal_padding"] = block_case(norm_first, [5, 3])
write("listings/ch06-decoder/tests/golden/ch06.json", cases)
