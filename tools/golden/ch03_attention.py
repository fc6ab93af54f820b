"""Chapter 3 fixtures: F.scaled_dot_product_attention (plain, causal, causal with Tq != Tk,
boolean and additive masks, a fully masked row) and nn.MultiheadAttention (self-attention
with causal attn_mask + key_padding_mask, and cross-attention), outputs and gradients for
a fixed upstream gradient, all float32 on CPU.

    .venv/bin/python ch03_attention.py   # writes listings/ch03-attention/tests/golden/ch03.json

Tensors are stored in PyTorch's own layout (in_proj_weight is [3C, C] and computes
x Wᵀ); the Rust tests transpose onto the book's [C, 3C] layout.
"""
import torch
import torch.nn.functional as F

from common import tensor, write

torch.manual_seed(0)
cases = {}


def sdpa_case(tq, tk, d, dv, attn_mask=None, is_causal=False, extra=None):
    q = torch.randn(tq, d, requires_grad=True)
    k = torch.randn(tk, d, requires_grad=True)
    v = torch.randn(tk, dv, requires_grad=True)
    g = torch.randn(tq, dv)
    # SDPA wants a batch dimension; [1, T, d] and back.
    out = F.scaled_dot_product_attention(
        q[None], k[None], v[None], attn_mask=attn_mask, is_causal=is_causal
    )[0]
    out.backward(g)
    case = {
        "q": tensor(q), "k": tensor(k), "v": tensor(v), "upstream": tensor(g),
        "out": tensor(out), "dq": tensor(q.grad), "dk": tensor(k.grad), "dv": tensor(v.grad),
    }
    if attn_mask is not None:
        case["mask"] = tensor(attn_mask.to(torch.float32))
    case.update(extra or {})
    return case


cases["sdpa_plain"] = sdpa_case(4, 6, 8, 5)
cases["sdpa_causal"] = sdpa_case(5, 5, 8, 8, is_causal=True)
# is_causal with Tq != Tk: PyTorch aligns the mask top-left (query i sees keys j <= i).
cases["sdpa_causal_rect"] = sdpa_case(3, 5, 8, 8, is_causal=True)
# The same shapes with PyTorch's bottom-right (KV-cache) alignment, for comparison.
from torch.nn.attention.bias import causal_lower_right  # noqa: E402

torch.manual_seed(1)
cases["sdpa_causal_lower_right"] = sdpa_case(3, 5, 8, 8, attn_mask=causal_lower_right(3, 5))
# A boolean mask (True = may attend) with row 2 fully masked.
bool_mask = torch.rand(4, 6) > 0.4
bool_mask[2] = False
bool_mask[0, 0] = True
cases["sdpa_bool_mask"] = sdpa_case(4, 6, 8, 8, attn_mask=bool_mask)
# An additive float mask: large negatives and ordinary biases.
add_mask = torch.randn(4, 6)
add_mask[1, 3:] = float("-inf")
cases["sdpa_additive_mask"] = sdpa_case(4, 6, 8, 8, attn_mask=add_mask)


def mha_case(b, tq, tk, c, h, causal, pad_lens, cross):
    mha = torch.nn.MultiheadAttention(c, h, bias=True, batch_first=True)
    with torch.no_grad():  # non-zero biases so their gradients are exercised
        mha.in_proj_bias.normal_(0, 0.1)
        mha.out_proj.bias.normal_(0, 0.1)
    x = torch.randn(b, tq, c, requires_grad=True)
    m = torch.randn(b, tk, c, requires_grad=True) if cross else x
    attn_mask = None
    if causal:  # PyTorch's boolean attn_mask here is True = NOT allowed
        attn_mask = torch.ones(tq, tk, dtype=torch.bool).triu(1)
    kpm = torch.arange(tk)[None, :] >= torch.tensor(pad_lens)[:, None]  # True = pad
    y, w = mha(x, m, m, key_padding_mask=kpm, attn_mask=attn_mask,
               need_weights=True, average_attn_weights=False)
    g = torch.randn_like(y)
    y.backward(g)
    case = {
        "x": tensor(x), "upstream": tensor(g), "out": tensor(y), "weights": tensor(w),
        "pad_lens": list(pad_lens), "heads": h, "causal": int(causal),
        "in_proj_weight": tensor(mha.in_proj_weight), "in_proj_bias": tensor(mha.in_proj_bias),
        "out_proj_weight": tensor(mha.out_proj.weight), "out_proj_bias": tensor(mha.out_proj.bias),
        "dx": tensor(x.grad),
        "d_in_proj_weight": tensor(mha.in_proj_weight.grad),
        "d_in_proj_bias": tensor(mha.in_proj_bias.grad),
        "d_out_proj_weight": tensor(mha.out_proj.weight.grad),
        "d_out_proj_bias": tensor(mha.out_proj.bias.grad),
    }
    if cross:
        case["memory"] = tensor(m)
        case["dmemory"] = tensor(m.grad)
    return case


torch.manual_seed(2)
cases["mha_causal_padding"] = mha_case(2, 5, 5, 8, 2, True, [5, 3], cross=False)
cases["mha_padding"] = mha_case(2, 6, 6, 12, 3, False, [4, 6], cross=False)
cases["cross"] = mha_case(2, 4, 7, 8, 2, False, [7, 5], cross=True)
write("listings/ch03-attention/tests/golden/ch03.json", cases)
