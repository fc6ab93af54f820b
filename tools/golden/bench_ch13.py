"""Chapter 13's speed table: SmolLM2-135M-Instruct decoding with the chapter's quantized
kernels, beside the book's own f32 path and llama.cpp on the same GGUF, in one run:

    .venv/bin/python bench_ch13.py     # needs cargo, `cargo xtask models`, requirements-bench.txt

Writes src/figures/ch13/quant-speed.txt. The setup is bench_ch09.py's SmolLM2 table (a
256-token prompt from the book's frozen Chapter 1 text, then 128 greedy tokens with a KV
cache, the best of SM_REPEAT runs after a warm-up, each side in its own process, the
sides alternating for ROUNDS rounds). The files:

- Q4_1: the models cache's GGUF as it is (Q4_1 linear weights, a Q8_0 token embedding);
- Q8_0: the same file requantized by llama.cpp's own `llama_model_quantize`
  (allow_requantize: 8-bit blocks of the 4-bit weights, so its quality is the Q4_1
  file's; its speed is what this table is about), written under target/bench-ch13/.

The sides: ours, `cargo run --release -p ch13-optimizations --example quant_bench`, with
`--format f32` (Chapter 9's dequantized path) or `--format file` on the Q8_0 or the Q4_1
file (the file's blocks through the chapter's integer kernels); llama.cpp, llama-cpp-python on the same file. The
bandwidth bound is the Rust side's measured read bandwidth over the bytes of weights a
token reads.
"""
import os
import pathlib

from bench_ch09 import (NEW_TOKENS, PROMPT_TOKENS, SM_REPEAT, cargo_example, python_side,
                        write)
from ch09_gguf import GGUF_PATH
from common import cpu_model

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "src/figures/ch13/quant-speed.txt"
Q8_0_PATH = ROOT / "target/bench-ch13/SmolLM2-135M-Instruct.Q8_0.gguf"
ROUNDS = int(os.environ.get("ROUNDS", "3"))
THREADS = (1, 2)


def q8_0_file() -> pathlib.Path:
    import llama_cpp

    if not Q8_0_PATH.exists():
        Q8_0_PATH.parent.mkdir(parents=True, exist_ok=True)
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
        params.allow_requantize = True
        rc = llama_cpp.llama_model_quantize(str(GGUF_PATH).encode(),
                                            str(Q8_0_PATH).encode(), params)
        if rc != 0:
            raise RuntimeError(f"llama_model_quantize returned {rc}")
    return Q8_0_PATH


def ours(fmt: str, path: pathlib.Path, threads: int) -> dict:
    # f32: Chapter 9's dequantized path; q8_0, q4_1: the file's own blocks
    r = cargo_example("quant_bench", "--format", "f32" if fmt == "f32" else "file",
                      "--model", str(path), "--threads",
                      str(threads), "--repeat", str(SM_REPEAT), "--prompt-tokens",
                      str(PROMPT_TOKENS), "--new-tokens", str(NEW_TOKENS), "--bandwidth",
                      package="ch13-optimizations")
    out = {k: float(r[k]) for k in ("decode_ms", "prefill_ms", "bw_gbs", "weights_mib")}
    return {**out, "prompt": [int(i) for i in r["prompt"].split(",")]}


def table() -> str:
    files = {"q4_1": GGUF_PATH, "q8_0": q8_0_file()}
    runs = [(side, fmt, t) for t in THREADS for fmt in ("f32", "q8_0", "q4_1")
            for side in ("ours", "llama.cpp") if not (side == "llama.cpp" and fmt == "f32")]
    best: dict = {}
    prompt = ours("f32", GGUF_PATH, 1)["prompt"]  # the ids every side is fed
    for _ in range(ROUNDS):
        for side, fmt, t in runs:
            path = files.get(fmt, GGUF_PATH)
            if side == "ours":
                r = ours(fmt, path, t)
            else:
                r = python_side("_llamacpp", t, prompt, model=str(path))
            key = (side, fmt, t)
            if key not in best or r["decode_ms"] < best[key]["decode_ms"]:
                best[key] = r
    tok_s = {k: NEW_TOKENS / (v["decode_ms"] / 1e3) for k, v in best.items()}
    lines = [f"# SmolLM2-135M-Instruct decode, {PROMPT_TOKENS}-token prompt then "
             f"{NEW_TOKENS} tokens, best of {ROUNDS} rounds x {SM_REPEAT}",
             f"# cpu: {cpu_model()}",
             "format  threads  weights_mib  bound_tok_s  ours_tok_s  llamacpp_tok_s  "
             "vs_ours_f32  vs_llamacpp"]
    for t in THREADS:
        for fmt in ("f32", "q8_0", "q4_1"):
            o = best[("ours", fmt, t)]
            bound = o["bw_gbs"] * 1e9 / (o["weights_mib"] * 1024 * 1024)
            ours_ts = tok_s[("ours", fmt, t)]
            lc = tok_s.get(("llama.cpp", fmt, t))
            lines.append(
                f"{fmt:<7} {t:>7}  {o['weights_mib']:>11.1f}  {bound:>11.1f}  {ours_ts:>10.1f}  "
                + (f"{lc:>14.1f}" if lc else f"{'-':>14}")
                + f"  {ours_ts / tok_s[('ours', 'f32', t)]:>11.2f}"
                + (f"  {ours_ts / lc:>11.2f}" if lc else f"  {'-':>11}"))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    write(OUT, table())
