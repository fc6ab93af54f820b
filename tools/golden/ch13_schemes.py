"""Chapter 13's integer quantization schemes against PyTorch: codes from
torch.quantize_per_tensor / quantize_per_channel (qint8 for absmax, quint8 for a
zero-point), and 4-bit values from torch.fake_quantize_per_channel_affine.

Every scale and zero-point is computed here the way the book's `schemes` computes it
(in float32, round half to even) and handed to PyTorch, so that the fixture checks the
mapping and its rounding, not two ways of picking a range. PyTorch rounds with
nearbyint: to nearest, ties to even. Writes
listings/ch13-optimizations/tests/golden/ch13_schemes.json."""
import torch

from common import ints, rounded, write

F = torch.float32


def absmax_params(x: torch.Tensor, bits: int, dim=None):
    q_max = 2 ** (bits - 1) - 1
    a = x.abs().amax() if dim is None else x.abs().amax(dim=dim)
    d = a / torch.tensor(q_max, dtype=F)
    d = torch.where(d > 0, d, torch.ones_like(d))
    return d, torch.zeros_like(d, dtype=torch.int64), -q_max, q_max


def zero_point_params(x: torch.Tensor, bits: int, dim=None):
    q_max = 2 ** bits - 1
    lo = (x.amin() if dim is None else x.amin(dim=dim)).clamp(max=0)
    hi = (x.amax() if dim is None else x.amax(dim=dim)).clamp(min=0)
    d = (hi - lo) / torch.tensor(q_max, dtype=F)
    d = torch.where(d > 0, d, torch.ones_like(d))
    z = torch.round(-lo / d).clamp(0, q_max).to(torch.int64)  # torch.round: half to even
    return d, z, 0, q_max


def main():
    g = torch.Generator().manual_seed(13)
    x = torch.randn(8, 64, generator=g, dtype=F) * 0.05
    x[3, 17] = 1.5  # an outlier: one entry sets a per-tensor scale
    x[5] += 0.3  # a shifted row: where a zero-point helps
    cases = {"input": {"x": rounded(x)}}

    d, z, _, _ = absmax_params(x, 8)
    q = torch.quantize_per_tensor(x, float(d), 0, torch.qint8)
    cases["tensor_absmax8"] = {"scale": float(d), "codes": ints(q.int_repr()),
                               "dequant": rounded(q.dequantize())}
    d, z, _, _ = zero_point_params(x, 8)
    q = torch.quantize_per_tensor(x, float(d), int(z), torch.quint8)
    cases["tensor_zp8"] = {"scale": float(d), "zero_point": int(z), "codes": ints(q.int_repr()),
                           "dequant": rounded(q.dequantize())}

    d, z, _, _ = absmax_params(x, 8, dim=1)
    q = torch.quantize_per_channel(x, d.double(), z, 0, torch.qint8)
    cases["channel_absmax8"] = {"scales": rounded(d), "codes": ints(q.int_repr()),
                                "dequant": rounded(q.dequantize())}
    d, z, _, _ = zero_point_params(x, 8, dim=1)
    q = torch.quantize_per_channel(x, d.double(), z, 0, torch.quint8)
    cases["channel_zp8"] = {"scales": rounded(d), "zero_points": ints(z), "codes": ints(q.int_repr()),
                            "dequant": rounded(q.dequantize())}

    # Groups of 16 along a row are channels of the [rows * cols / 16, 16] reshape.
    xg = x.reshape(-1, 16)
    d, z, _, _ = absmax_params(xg, 8, dim=1)
    q = torch.quantize_per_channel(xg, d.double(), z, 0, torch.qint8)
    cases["group16_absmax8"] = {"scales": rounded(d.reshape(8, 4)), "codes": ints(q.int_repr().reshape(8, 64)),
                                "dequant": rounded(q.dequantize().reshape(8, 64))}

    # 4 bits: PyTorch has no int4 tensor type; fake quantization takes any code range.
    for name, params in [("group32_absmax4", absmax_params), ("group32_zp4", zero_point_params)]:
        xg = x.reshape(-1, 32)
        d, z, lo, hi = params(xg, 4, dim=1)
        y = torch.fake_quantize_per_channel_affine(xg, d, z.to(torch.int32), 0, lo, hi)
        cases[name] = {"scales": rounded(d.reshape(8, 2)), "dequant": rounded(y.reshape(8, 64))}

    # Exact ties: Δ = 0.5 (a power of two), so x / Δ = k + 1/2 with no rounding error.
    t = torch.tensor([[0.25, 0.75, 1.25, 1.75, -0.25, -0.75, -1.25, 63.5]], dtype=F)
    d, _, _, _ = absmax_params(t, 8)
    q = torch.quantize_per_tensor(t, float(d), 0, torch.qint8)
    cases["ties"] = {"x": rounded(t), "scale": float(d), "codes": ints(q.int_repr())}
    write("listings/ch13-optimizations/tests/golden/ch13_schemes.json", cases, compact=True)


if __name__ == "__main__":
    main()
