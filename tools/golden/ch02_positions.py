"""Chapter 2 fixtures for embeddings and positional encodings, from PyTorch in float32
unless noted:

- sinusoidal: the Annotated Transformer's PositionalEncoding formula, in float64 and in
  float32, at a few positions of a 2048 x 64 table;
- rope_hf_*: Hugging Face Llama's rotate_half / apply_rotary_pos_emb (pairs (i, i + d/2)),
  with autograd gradients for a fixed upstream gradient;
- rope_meta_*: Meta Llama's precompute_freqs_cis / apply_rotary_emb with
  torch.view_as_complex (pairs (2i, 2i + 1)), with autograd gradients;
- alibi: slopes from the ALiBi reference code (ofirpress/attention_with_linear_biases)
  and from Hugging Face BLOOM's build_alibi_tensor, and attention probabilities with
  fairseq's ALiBi bias (m * j, broadcast over rows) plus a causal mask;
- embedding: nn.functional.embedding with repeated ids and a tied output layer.

    .venv/bin/python ch02_positions.py   # writes listings/ch02-input/tests/golden/positions.json
"""
import math

import torch
import torch.nn.functional as F

from common import tensor, write

torch.manual_seed(0)
cases = {}


# --- Sinusoidal (Annotated Transformer, PositionalEncoding) ---------------------------
def annotated_pe(max_len: int, d_model: int, dtype) -> torch.Tensor:
    pe = torch.zeros(max_len, d_model, dtype=dtype)
    position = torch.arange(0, max_len, dtype=dtype).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2, dtype=dtype) * -(math.log(10000.0) / d_model))
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe


positions = [0, 1, 2, 3, 10, 50, 100, 511, 1000, 2047]
cases["sinusoidal"] = {
    "d_model": 64,
    "positions": positions,
    "pe_f64": tensor(annotated_pe(2048, 64, torch.float64)[positions]),
    "pe_f32": tensor(annotated_pe(2048, 64, torch.float32)[positions]),
}


# --- RoPE, Hugging Face Llama (modeling_llama.py) --------------------------------------
def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def hf_cos_sin(position_ids: torch.Tensor, dim: int, base: float):
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    inv_freq_expanded = inv_freq[None, :, None].float()
    position_ids_expanded = position_ids[:, None, :].float()
    freqs = (inv_freq_expanded @ position_ids_expanded).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_rotary_pos_emb(q, k, cos, sin, unsqueeze_dim=1):
    cos = cos.unsqueeze(unsqueeze_dim)
    sin = sin.unsqueeze(unsqueeze_dim)
    q_embed = (q * cos) + (rotate_half(q) * sin)
    k_embed = (k * cos) + (rotate_half(k) * sin)
    return q_embed, k_embed


def rope_case(q, k, g_q, g_k, q_out, k_out, extra):
    (q_out * g_q).sum().add((k_out * g_k).sum()).backward()
    # Stored as [H, T, d_head] whatever the library's layout.
    return {
        **extra,
        "q": tensor(q.detach()[0]),
        "k": tensor(k.detach()[0]),
        "g_q": tensor(g_q[0]),
        "g_k": tensor(g_k[0]),
        "q_rot": tensor(q_out.detach()[0]),
        "k_rot": tensor(k_out.detach()[0]),
        "dq": tensor(q.grad[0]),
        "dk": tensor(k.grad[0]),
    }


H, T, D = 2, 6, 16
for name, pos, base in [
    ("rope_hf_llama", [0, 1, 2, 10, 50, 63], 10000.0),
    ("rope_hf_llama3_base", [5, 6, 7, 8, 9, 1000], 500000.0),
]:
    q = torch.randn(1, H, T, D, requires_grad=True)
    k = torch.randn(1, H, T, D, requires_grad=True)
    g_q, g_k = torch.randn(1, H, T, D), torch.randn(1, H, T, D)
    cos, sin = hf_cos_sin(torch.tensor([pos]), D, base)
    q_out, k_out = apply_rotary_pos_emb(q, k, cos, sin)
    cases[name] = rope_case(q, k, g_q, g_k, q_out, k_out, {"positions": pos, "base": base})


# --- RoPE, Meta Llama (llama/model.py) ----------------------------------------------------
def precompute_freqs_cis(dim: int, end: int, theta: float = 10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    t = torch.arange(end, device=freqs.device, dtype=torch.float32)
    freqs = torch.outer(t, freqs)
    return torch.polar(torch.ones_like(freqs), freqs)  # complex64


def reshape_for_broadcast(freqs_cis, x):
    ndim = x.ndim
    shape = [d if i == 1 or i == ndim - 1 else 1 for i, d in enumerate(x.shape)]
    return freqs_cis.view(*shape)


def apply_rotary_emb(xq, xk, freqs_cis):
    xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
    xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
    freqs_cis = reshape_for_broadcast(freqs_cis, xq_)
    xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
    xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk)


for name, start_pos, theta in [("rope_meta_llama", 0, 10000.0), ("rope_meta_llama3_base", 3, 500000.0)]:
    xq = torch.randn(1, T, H, D, requires_grad=True)  # Meta's layout: [B, T, H, d_head]
    xk = torch.randn(1, T, H, D, requires_grad=True)
    g_q, g_k = torch.randn(1, T, H, D), torch.randn(1, T, H, D)
    freqs_cis = precompute_freqs_cis(D, 64, theta)[start_pos : start_pos + T]
    q_out, k_out = apply_rotary_emb(xq, xk, freqs_cis)
    (q_out * g_q).sum().add((k_out * g_k).sum()).backward()
    hm = lambda t: t.detach().transpose(1, 2)[0]  # -> [H, T, d_head]
    cases[name] = {
        "positions": list(range(start_pos, start_pos + T)),
        "base": theta,
        "q": tensor(hm(xq)),
        "k": tensor(hm(xk)),
        "g_q": tensor(hm(g_q)),
        "g_k": tensor(hm(g_k)),
        "q_rot": tensor(hm(q_out)),
        "k_rot": tensor(hm(k_out)),
        "dq": tensor(hm(xq.grad)),
        "dk": tensor(hm(xk.grad)),
    }


# --- ALiBi --------------------------------------------------------------------------------
def get_slopes(n):  # ofirpress/attention_with_linear_biases, fairseq/models/transformer.py
    def get_slopes_power_of_2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        ratio = start
        return [start * ratio**i for i in range(n)]

    if math.log2(n).is_integer():
        return get_slopes_power_of_2(n)
    closest_power_of_2 = 2 ** math.floor(math.log2(n))
    return (
        get_slopes_power_of_2(closest_power_of_2)
        + get_slopes(2 * closest_power_of_2)[0::2][: n - closest_power_of_2]
    )


def bloom_slopes(num_heads):  # transformers/models/bloom/modeling_bloom.py, build_alibi_tensor
    closest_power_of_2 = 2 ** math.floor(math.log2(num_heads))
    base = torch.tensor(2 ** (-(2 ** -(math.log2(closest_power_of_2) - 3))), dtype=torch.float32)
    powers = torch.arange(1, 1 + closest_power_of_2, dtype=torch.int32)
    slopes = torch.pow(base, powers)
    if closest_power_of_2 != num_heads:
        extra_base = torch.tensor(
            2 ** (-(2 ** -(math.log2(2 * closest_power_of_2) - 3))), dtype=torch.float32
        )
        num_remaining_heads = min(closest_power_of_2, num_heads - closest_power_of_2)
        extra_powers = torch.arange(1, 1 + 2 * num_remaining_heads, 2, dtype=torch.int32)
        slopes = torch.cat([slopes, torch.pow(extra_base, extra_powers)], dim=0)
    return slopes


heads = [1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32]
cases["alibi_slopes"] = {
    "heads": heads,
    **{f"reference_{n}": tensor(torch.tensor(get_slopes(n), dtype=torch.float32)) for n in heads},
    **{f"bloom_{n}": tensor(bloom_slopes(n)) for n in heads},
}

# fairseq adds slope * j to every row (softmax ignores a per-row constant, so this equals
# -slope * (i - j)) and relies on the causal mask for j > i.
n_heads, t = 6, 8
scores = torch.randn(n_heads, t, t) * 2.0
slopes = torch.tensor(get_slopes(n_heads), dtype=torch.float32)
fairseq_bias = slopes[:, None, None] * torch.arange(t)[None, None, :].float()
causal = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
cases["alibi_attention"] = {
    "n_heads": n_heads,
    "scores": tensor(scores),
    "probs": tensor(torch.softmax(scores + fairseq_bias + causal, dim=-1)),
}


# --- Embedding with repeated ids and a tied output layer ---------------------------------
E = torch.randn(10, 6, requires_grad=True)
ids = torch.tensor([3, 1, 3, 7, 3, 0])
x = F.embedding(ids, E)
logits = x @ E.T
g = torch.randn(6, 10)
(logits * g).sum().backward()
cases["embedding_tied"] = {
    "table": tensor(E.detach()),
    "ids": [int(i) for i in ids],
    "g_logits": tensor(g),
    "logits": tensor(logits.detach()),
    "table_grad": tensor(E.grad),
}

write("listings/ch02-input/tests/golden/positions.json", cases)
