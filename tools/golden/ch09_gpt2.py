"""Chapter 9 whole-model check for GPT-2: transformers' GPT2LMHeadModel (tiny config,
dropout 0, eval mode, eager attention) on a batch of two sequences. Records every
parameter by its Hugging Face name, the logits, a seeded random tensor R and, after
backward of L = sum(logits * R), the gradient of every parameter (the tied wte /
lm_head once, with the sum of both uses). Hugging Face's Conv1D stores weights as
[in, out], the book's layout, so nothing is transposed. Floats to 9 significant digits
(exact for f32), written compactly.

Run: tools/golden/.venv/bin/python tools/golden/ch09_gpt2.py
"""
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from common import ints, rounded, write


def main() -> None:
    torch.manual_seed(0)
    cfg = GPT2Config(
        vocab_size=40,
        n_positions=16,
        n_embd=16,
        n_layer=2,
        n_head=2,
        activation_function="gelu_new",
        layer_norm_epsilon=1e-5,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        attn_implementation="eager",
        bos_token_id=None,  # the defaults (50256) lie outside this vocabulary
        eos_token_id=None,
    )
    model = GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln_" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:  # weights and tables: std 0.2, larger than GPT-2's 0.02
                p.copy_(0.2 * torch.randn_like(p))
    ids = torch.randint(0, cfg.vocab_size, (2, 12))
    out = model(input_ids=ids)
    r = torch.randn_like(out.logits)
    model.zero_grad()
    (out.logits * r).sum().backward()
    case = {"ids": ints(ids), "logits": rounded(out.logits), "r": rounded(r)}
    names = []
    for name, p in model.named_parameters():  # tied tensors are listed once
        names.append(name)
        case["param." + name] = rounded(p)
        case["grad." + name] = rounded(p.grad)
    case["names"] = names
    assert model.lm_head.weight is model.transformer.wte.weight
    write("listings/ch09-decoder-only/tests/golden/gpt2.json", {"gpt2": case}, compact=True)


if __name__ == "__main__":
    main()
