"""Chapter 13's NF4 reference: bitsandbytes' code points and its block-wise 4-bit
quantization on CPU (its default PyTorch backend), with and without double
quantization of the absmax scales.

Writes listings/ch13-optimizations/tests/golden/nf4.json:
- the 16 NF4 code points from `get_4bit_type('nf4')`, the distinct values of
  `create_normal_map()` (the paper's construction with scipy's norm.ppf), and the same
  construction redone here with scipy in float64 (no torch float32 linspace);
- a tensor made by a generator both sides can run bit-exactly (splitmix64 integers,
  an Irwin-Hall sum of four 24-bit uniforms, a per-block scale, all exact or single
  IEEE roundings), quantized with `quantize_4bit(blocksize=64, quant_type='nf4')`:
  packed codes (hex), absmax, dequantized values; and with `compress_statistics=True`:
  the reconstructed absmax, the offset (mean), the second-level absmax and block size.
"""
import numpy as np
import torch
from scipy.stats import norm

import bitsandbytes
import bitsandbytes.functional as F
from common import write

MASK = (1 << 64) - 1


def splitmix64(state: int):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def weights(n: int, seed: int, block: int) -> np.ndarray:
    """w_i = (u1 + u2 + u3 + u4 - 2) * 0.005 * (1 + (i // block) % 7), u = top 24 bits / 2^24."""
    state, out = seed, np.empty(n, dtype=np.float32)
    for i in range(n):
        s = 0.0
        for _ in range(4):
            state, z = splitmix64(state)
            s += (z >> 40) / 16777216.0
        out[i] = np.float32((s - 2.0) * (0.005 * (1 + (i // block) % 7)))
    return out


def paper_table() -> list:
    offset = 0.5 * ((1 - 1 / 30) + (1 - 1 / 32))
    pos = norm.ppf(np.linspace(offset, 0.5, 9)[:-1])
    neg = -norm.ppf(np.linspace(offset, 0.5, 8)[:-1])
    v = np.sort(np.concatenate([neg, [0.0], pos]))
    return (v / v.max()).tolist()


def case(n: int, seed: int, zero_block: bool) -> dict:
    w = weights(n, seed, 64)
    if zero_block:
        w[128:192] = 0.0  # an all-zero block: scale 0, every code the zero code
    x = torch.from_numpy(w)
    q, st = F.quantize_4bit(x, blocksize=64, quant_type="nf4", compress_statistics=False)
    y = F.dequantize_4bit(q, st)
    qc, stc = F.quantize_4bit(x, blocksize=64, quant_type="nf4", compress_statistics=True)
    yc = F.dequantize_4bit(qc, stc)
    absmax_c = F.dequantize_blockwise(stc.absmax, stc.state2) + stc.offset
    return {
        "n": n,
        "seed": seed,
        "zero_block": zero_block,
        "w_sum": float(np.sum(w, dtype=np.float64)),
        "packed_hex": bytes(q.flatten().tolist()).hex(),
        "absmax": [float(f"{v:.9g}") for v in st.absmax.tolist()],
        "dequantized": [float(f"{v:.9g}") for v in y.tolist()] if n <= 1000 else None,
        "double": {
            "packed_hex_equal": bool(torch.equal(q, qc)),
            "offset": float(stc.offset),
            "scale_block": stc.state2.blocksize,
            "n_absmax2": stc.state2.absmax.numel(),
            "absmax_codes_dtype": str(stc.absmax.dtype),
            "absmax": [float(f"{v:.9g}") for v in absmax_c.tolist()],
            "rel_rms_error": float(((yc - x).norm() / x.norm())),
        },
    }


nf4 = F.get_4bit_type("nf4", device="cpu")
normal_map = F.create_normal_map()
write(
    "listings/ch13-optimizations/tests/golden/nf4.json",
    {
        "bitsandbytes": bitsandbytes.__version__,
        "code_points": [float(f"{v:.9g}") for v in nf4.tolist()],
        "create_normal_map": sorted({float(f"{v:.9g}") for v in normal_map.tolist()}),
        "scipy_float64": paper_table(),
        "small": case(999, 13, True),
        "large": case(20001, 7, False),
    },
    compact=True,
)
