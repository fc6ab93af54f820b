"""Chapter 10 checks for T5 against transformers' T5ForConditionalGeneration.

1. t5_buckets.json: `T5Attention._relative_position_bucket` on every offset
   -300..=300, bidirectional (encoder) and causal (decoder), for (num_buckets,
   max_distance) = (32, 128) (t5-small's), (8, 20) and (12, 40).
2. t5_relu.json/.bin and t5_gated.json/.bin: a tiny T5 (d_model 16, d_kv 8, 4 heads so
   the inner width 32 differs from d_model, d_ff 32, 2 + 2 layers, vocab 40, 8 buckets,
   max_distance 20), eval mode, one source of 25 and one target of 22 tokens (offsets
   past max_distance). "relu": T5 1.0, the tied and d_model^-0.5-scaled head.
   "gated": T5 v1.1, gated-GELU (gelu_new) and an untied, unscaled head. The weights are
   not stored: both sides draw them from SplitMix64 (seed 10 / 11) in the order of
   `names` (Hugging Face's named_parameters), each tensor row-major in Hugging Face's
   layout, value = scale * (2u - 1), u = the top 24 bits / 2^24 (exact in f32), scale
   1 for the shared embedding, 0.5 for the bias tables, 0.3 for linear weights and the
   norm weights 1 + 0.2 (2u - 1). The .bin holds little-endian f32: the logits [22, 40],
   the upstream R [22, 40] (also from the stream, after the weights), then, in `names`
   order, the gradient of every parameter under L = sum(logits * R).

Run: tools/golden/.venv/bin/python tools/golden/ch10_t5.py
"""
import numpy as np
import torch
from transformers import T5Config, T5ForConditionalGeneration
from transformers.models.t5.modeling_t5 import T5Attention

from common import ROOT, write

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed: int):
        self.state = seed & MASK

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self, n: int, scale: float, offset: float = 0.0) -> np.ndarray:
        u = np.array([(self.next() >> 40) / 16777216.0 for _ in range(n)], dtype=np.float64)
        return (offset + scale * (2.0 * u - 1.0)).astype(np.float32)


def scale_of(name: str) -> tuple[float, float]:
    if "layer_norm" in name:
        return 0.2, 1.0
    if name == "shared.weight":
        return 1.0, 0.0
    if "relative_attention_bias" in name:
        return 0.5, 0.0
    return 0.3, 0.0


def buckets() -> None:
    rel = torch.arange(-300, 301)
    cases = {}
    for nb, md in [(32, 128), (8, 20), (12, 40)]:
        for bidirectional in [True, False]:
            b = T5Attention._relative_position_bucket(rel, bidirectional, nb, md)
            key = f"{'bi' if bidirectional else 'causal'}_{nb}_{md}"
            cases[key] = {
                "num_buckets": nb,
                "max_distance": md,
                "bidirectional": bidirectional,
                "first_offset": -300,
                "buckets": b.tolist(),
            }
    write("listings/ch10-encoder-decoder/tests/golden/t5_buckets.json", cases, compact=True)


def model_case(variant: str, seed: int) -> None:
    torch.manual_seed(0)
    gated = variant == "gated"
    cfg = T5Config(
        vocab_size=40,
        d_model=16,
        d_kv=8,
        d_ff=32,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=20,
        dropout_rate=0.0,
        layer_norm_epsilon=1e-6,
        feed_forward_proj="gated-gelu" if gated else "relu",
        tie_word_embeddings=not gated,
        attn_implementation="eager",
    )
    model = T5ForConditionalGeneration(cfg).eval()
    if gated:
        # transformers 5 always ties lm_head to the shared table and only drops the
        # d_model^-0.5 scale; T5 v1.1's checkpoints have a head of their own.
        model.lm_head.weight = torch.nn.Parameter(torch.zeros(40, 16))
    assert model.config.scale_decoder_outputs == (not gated)
    rng = SplitMix64(seed)
    names = []
    with torch.no_grad():
        for name, p in model.named_parameters():
            scale, offset = scale_of(name)
            p.copy_(torch.from_numpy(rng.uniform(p.numel(), scale, offset).reshape(p.shape)))
            names.append([name, list(p.shape)])
    src = torch.tensor([[3, 17, 5, 22, 9, 31, 12, 39, 4, 8, 27, 6, 15, 2, 33, 19, 11, 25, 7, 36, 14, 1, 29, 20, 10]])
    tgt = torch.tensor([[0, 21, 13, 38, 2, 26, 9, 34, 5, 18, 30, 3, 24, 16, 37, 8, 11, 23, 35, 4, 28, 1]])
    out = model(input_ids=src, decoder_input_ids=tgt)
    logits = out.logits[0]
    r = torch.from_numpy(rng.uniform(logits.numel(), 1.0).reshape(logits.shape))
    model.zero_grad()
    (logits * r).sum().backward()
    blobs = [logits.detach(), r]
    grads = dict(model.named_parameters())
    for name, _ in names:
        g = grads[name].grad
        blobs.append(torch.zeros_like(grads[name]) if g is None else g)
    data = np.concatenate([b.detach().numpy().astype("<f4").ravel() for b in blobs])
    stem = f"listings/ch10-encoder-decoder/tests/golden/t5_{variant}"
    (ROOT / f"{stem}.bin").write_bytes(data.tobytes())
    print(f"wrote {stem}.bin ({data.nbytes} bytes)")
    write(
        f"{stem}.json",
        {
            variant: {
                "seed": seed,
                "src": src[0].tolist(),
                "tgt": tgt[0].tolist(),
                "names": names,
                "logits_shape": list(logits.shape),
            }
        },
        compact=True,
    )


def main() -> None:
    buckets()
    model_case("relu", 10)
    model_case("gated", 11)


if __name__ == "__main__":
    main()
