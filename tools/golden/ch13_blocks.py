"""Chapter 13 fixture for the GGUF block formats, from the `gguf` Python package
(llama.cpp's own numpy port of `quantize_row_q8_0_ref` / `quantize_row_q4_1_ref`).

Writes listings/ch13-optimizations/tests/golden/blocks.json: a few rows of float32
values (seeded normal rows at several scales, and blocks chosen for the edge cases: all
zeros, one constant, a single outlier, exact rounding ties) with the bytes
`gguf.quants.quantize` gives for each in Q8_0 and Q4_1 (and Q4_0, for the exercise), as hex strings, and the values
`gguf.quants.dequantize` reads back from those bytes.
"""
import importlib.metadata

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q

from common import write

VERSION = "0.19.0"


def rows() -> dict:
    rng = np.random.default_rng(1313)
    out = {}
    for i, scale in enumerate([1.0, 0.02, 300.0]):
        out[f"normal_{i}"] = (rng.standard_normal(96) * scale).astype(np.float32)
    edge = np.zeros(160, dtype=np.float32)
    edge[32:64] = 0.75  # one constant block: d = 0 in Q4_1
    edge[64:96] = rng.standard_normal(32).astype(np.float32) * 1e-3
    edge[70] = 40.0  # an outlier sets the whole block's scale
    # Q8_0 ties: amax 127 gives d = 1 exactly, so x = k + 0.5 is a tie for roundf.
    edge[96:128] = np.arange(-16, 16, dtype=np.float32) + 0.5
    edge[96] = -127.0
    # Q4_1 ties: min 0, max 15 gives d = 1, so (x - min) + 0.5 lands on integers.
    edge[128:160] = np.linspace(0, 15, 32, dtype=np.float32)
    edge[128 + 5] = 2.5
    out["edges"] = edge
    return out


def main() -> None:
    assert importlib.metadata.version("gguf") == VERSION, "pin gguf==" + VERSION
    cases = {}
    for name, x in rows().items():
        case = {"x": [float(v) for v in x]}
        for ty in (Q.Q8_0, Q.Q4_1, Q.Q4_0):
            q = gguf.quants.quantize(x.reshape(1, -1), ty)
            back = gguf.quants.dequantize(q, ty).reshape(-1)
            case[ty.name] = {
                "bytes": bytes(q.reshape(-1)).hex(),
                "dequantized": [float(v) for v in back],
            }
        cases[name] = case
    write("listings/ch13-optimizations/tests/golden/blocks.json", cases)


if __name__ == "__main__":
    main()
