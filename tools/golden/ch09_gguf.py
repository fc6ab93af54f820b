"""Chapter 9 fixtures for the GGUF reader, from the `gguf` Python package (llama.cpp's own).

Writes, under listings/ch09-decoder-only/tests/golden/:
- gguf.json: the real SmolLM2-135M-Instruct GGUF from the models cache (`cargo xtask
  models` puts it there; $BOOK_MODELS_DIR overrides the cache as in tools/models):
  header, selected metadata, the chat template, the first tokens and merges, the whole
  tensor table, and for real tensors of each type (Q8_0, Q4_1, F32) three slices of
  gguf.quants.dequantize's values and the float64 sum and sum of squares of the tensor.
- tiny.gguf + tiny.json: a small file written by gguf.GGUFWriter with a key of every value
  type (a nested array too), 64-byte alignment, and F32, F16, Q8_0 and Q4_1 tensors; the
  JSON holds what gguf.GGUFReader reads back and dequantizes.
"""
import json
import os
import pathlib

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "listings/ch09-decoder-only/tests/golden"
VERSION = "0.19.0"


def cache_dir() -> pathlib.Path:
    if os.environ.get("BOOK_MODELS_DIR"):
        return pathlib.Path(os.environ["BOOK_MODELS_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.environ["HOME"], ".cache")
    return pathlib.Path(base) / "transformers-deep-dive" / "models"


GGUF_PATH = cache_dir() / "SmolLM2-135M-Instruct" / "SmolLM2-135M-Instruct.Q4_1.gguf"

KEYS = [
    "general.architecture", "general.name", "llama.context_length",
    "llama.embedding_length", "llama.block_count", "llama.feed_forward_length",
    "llama.attention.head_count", "llama.attention.head_count_kv", "llama.rope.freq_base",
    "llama.attention.layer_norm_rms_epsilon", "llama.vocab_size",
    "llama.rope.dimension_count", "general.file_type", "tokenizer.ggml.model",
    "tokenizer.ggml.pre", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id",
    "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_space_prefix",
]

TENSORS = [
    "token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight",
    "blk.29.ffn_down.weight", "blk.0.attn_norm.weight", "output_norm.weight",
]


def f(x) -> float:
    return float(x)


def values(t) -> dict:
    x = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
    n = x.size
    x64 = x.astype(np.float64)
    return {
        "type": t.tensor_type.name,
        "dims": [int(d) for d in t.shape],
        "slices": {str(s): [f(v) for v in x[s:s + 8]] for s in [0, n // 2 + 3, n - 8]},
        "sum": f(x64.sum()),
        "sum_sq": f((x64 * x64).sum()),
    }


def real() -> dict:
    r = gguf.GGUFReader(str(GGUF_PATH))
    meta = {}
    for k in KEYS:
        v = r.fields[k].contents()
        meta[k] = v if not isinstance(v, np.generic) else v.item()
    tokens = r.fields["tokenizer.ggml.tokens"].contents()
    merges = r.fields["tokenizer.ggml.merges"].contents()
    ttypes = r.fields["tokenizer.ggml.token_type"].contents()
    template = r.fields["tokenizer.chat_template"].contents()
    return {
        "version": int(r.fields["GGUF.version"].contents()),
        "n_keys": int(r.fields["GGUF.kv_count"].contents()),
        "n_tensors": len(r.tensors),
        "alignment": 32 if "general.alignment" not in r.fields else int(r.fields["general.alignment"].contents()),
        "data_offset": int(r.data_offset),
        "metadata": meta,
        "chat_template": template,
        "n_tokens": len(tokens),
        "first_tokens": tokens[:16],
        "tokens_at": {str(i): tokens[i] for i in [100, 1000, 10000, 49151]},
        "n_merges": len(merges),
        "first_merges": merges[:8],
        "token_type_counts": {str(t): ttypes.count(t) for t in sorted(set(ttypes))},
        "tensor_table": [
            [t.name, t.tensor_type.name, [int(d) for d in t.shape], int(t.data_offset - r.data_offset)]
            for t in r.tensors
        ],
        "tensors": {t.name: values(t) for t in r.tensors if t.name in TENSORS},
    }


# An array of arrays of int32. GGUFReader's contents() flattens nested arrays, so the
# fixture states what was written.
NESTED = [[1, 2], [3]]


def tiny() -> dict:
    path = OUT / "tiny.gguf"
    w = gguf.GGUFWriter(str(path), "tiny")
    w.add_custom_alignment(64)
    w.add_key_value("t.u8", 200, V.UINT8)
    w.add_key_value("t.i8", -100, V.INT8)
    w.add_key_value("t.u16", 60000, V.UINT16)
    w.add_key_value("t.i16", -30000, V.INT16)
    w.add_key_value("t.u32", 4_000_000_000, V.UINT32)
    w.add_key_value("t.i32", -2_000_000_000, V.INT32)
    w.add_key_value("t.f32", 0.1, V.FLOAT32)
    w.add_key_value("t.bool", True, V.BOOL)
    w.add_key_value("t.string", "héllo, wörld ✓", V.STRING)
    w.add_key_value("t.u64", 18_000_000_000_000_000_000, V.UINT64)
    w.add_key_value("t.i64", -9_000_000_000_000_000_000, V.INT64)
    w.add_key_value("t.f64", 1e-300, V.FLOAT64)
    w.add_key_value("t.strings", ["a", "", "ĠHello"], V.ARRAY, sub_type=V.STRING)
    w.add_key_value("t.i32s", [1, -2, 3], V.ARRAY, sub_type=V.INT32)
    w.add_key_value("t.nested", NESTED, V.ARRAY)
    rng = np.random.default_rng(0)
    f32 = rng.standard_normal(5).astype(np.float32)
    f16 = (rng.standard_normal((3, 8)) * 4).astype(np.float16)
    f16.flat[0] = np.float16(6e-8)     # subnormal
    f16.flat[1] = np.float16(-0.0)
    f16.flat[2] = np.float16(65504.0)  # the largest half
    q8 = rng.standard_normal((2, 64)).astype(np.float32)
    q4 = rng.standard_normal((3, 32)).astype(np.float32)
    w.add_tensor("f32.vec", f32)
    w.add_tensor("f16.mat", f16)
    w.add_tensor("q8_0.mat", gguf.quants.quantize(q8, Q.Q8_0), raw_dtype=Q.Q8_0)
    w.add_tensor("q4_1.mat", gguf.quants.quantize(q4, Q.Q4_1), raw_dtype=Q.Q4_1)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    r = gguf.GGUFReader(str(path))
    meta = {}
    for k, field in r.fields.items():
        if k.startswith("t.") or k == "general.alignment":
            v = field.contents()
            meta[k] = v.item() if isinstance(v, np.generic) else v
    assert meta["t.nested"] == [1, 2, 3], meta["t.nested"]
    meta["t.nested"] = NESTED
    return {
        "data_offset": int(r.data_offset),
        "n_bytes": path.stat().st_size,
        "metadata": meta,
        "tensors": {
            t.name: {
                "type": t.tensor_type.name,
                "dims": [int(d) for d in t.shape],
                "offset": int(t.data_offset - r.data_offset),
                "data": [f(v) for v in gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)],
            }
            for t in r.tensors
        },
    }


def write(name: str, cases: dict) -> None:
    doc = {"generator": "tools/golden/ch09_gguf.py", "gguf": VERSION, "cases": cases}
    path = OUT / name
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    from importlib.metadata import version
    assert version("gguf") == VERSION, version("gguf")
    OUT.mkdir(parents=True, exist_ok=True)
    write("tiny.json", tiny())
    write("gguf.json", real())


if __name__ == "__main__":
    main()
