"""Chapter 9 whole-model check for the trainable Llama: transformers' LlamaForCausalLM
(tiny config: hidden 16, 2 layers, 4 query heads sharing 2 K/V heads, SwiGLU 32, vocab
40, RoPE base 10000, RMSNorm eps 1e-6, no biases, untied LM head; eager attention, eval
mode) on a batch of two unpadded sequences. Records every parameter by its Hugging Face
name, the logits, a seeded random tensor R and, after backward of L = sum(logits * R),
the gradient of every parameter. Floats to 9 significant digits (exact for f32).

Run: tools/golden/.venv/bin/python tools/golden/ch09_llama.py
"""
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from common import ints, rounded, write


def main() -> None:
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=40,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=32,
        rope_theta=10000.0,
        rms_norm_eps=1e-6,
        attention_bias=False,
        mlp_bias=False,
        tie_word_embeddings=False,
        hidden_act="silu",
        attention_dropout=0.0,
        attn_implementation="eager",
    )
    model = LlamaForCausalLM(cfg).eval()
    assert model.model.layers[0].self_attn.head_dim == 4
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:  # Linear weights and the table: std 0.2 (Llama's own is 0.02)
                p.copy_(0.2 * torch.randn_like(p))
    ids = torch.tensor([[1, 11, 17, 5, 23, 8, 31, 12, 39], [1, 9, 14, 27, 6, 3, 0, 19, 2]])
    out = model(input_ids=ids)
    r = torch.randn_like(out.logits)
    model.zero_grad()
    (out.logits * r).sum().backward()
    case = {
        "ids": ints(ids),
        "logits": rounded(out.logits),
        "r": rounded(r),
    }
    names = []
    for name, p in model.named_parameters():
        names.append(name)
        case["param." + name] = rounded(p)
        case["grad." + name] = rounded(p.grad)
    case["names"] = names
    write("listings/ch09-decoder-only/tests/golden/llama_train.json", {"llama": case}, compact=True)


if __name__ == "__main__":
    main()
