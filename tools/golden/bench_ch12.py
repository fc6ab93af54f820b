"""Chapter 12's speed table: SmolLM2-135M-Instruct generating 128 tokens greedily with a
KV cache after a 256-token prompt, the book's Rust beside what a reader would use
instead, in one run:

    .venv/bin/python bench_ch12.py     # needs cargo, `cargo xtask models`, requirements-bench.txt

Writes src/figures/ch12/speed.txt: for each side and thread count (1 and 2), the time to
the first token (TTFT: the 256-token prompt through the model and the arg max of the last
position's logits) and the decode speed (128 more tokens, one forward each with the
cache). The prompt is Chapter 9's bench prompt, the first 256 ids of the book's frozen
Chapter 1 text; the setup is bench_ch09.py's SmolLM2 table, whose helpers this script
imports. The sides:

- ours: Chapter 9's `Llama` with `hidden_cached` on f32 weights dequantized from the
  Q4_1 GGUF (`cargo run --release -p ch09-decoder-only --example smollm2_bench`);
- HF: transformers' `generate` (PyTorch fp32, greedy, use_cache=True, no early stop at
  the end token), on the same dequantized weights as ch09_smollm2.py loads them; a
  streamer stamps the time of the first new token, so TTFT and the decode time come out
  of one `generate` call, its own overheads included (what a reader calling it sees);
- llama.cpp: llama-cpp-python on the Q4_1 file itself (bench_ch09.py's side, unchanged):
  a different precision, 4-bit weights with an 8-bit quantized activation dot product;
- candle: candle-transformers' quantized Llama on the same Q4_1 file, from the separate
  cargo workspace tools/bench-candle (built here, `--release`, its own target folder),
  fed the prompt ids ours tokenized.

Each side runs in its own process, takes the best of SM_REPEAT runs after a warm-up, and
the sides alternate for ROUNDS rounds (ROUNDS=1 in the environment for a quick look).
"same ids" counts how many of the 129 greedy ids agree with ours before the first
difference.
"""
import json
import os
import pathlib
import subprocess
import sys
import time

from bench_ch09 import (NEW_TOKENS, PROMPT_TOKENS, SM_REPEAT, agreeing_prefix,
                        cargo_example, load_hf_smollm2, peak_mib, python_side)
from common import cpu_model

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
OUT = ROOT / "src/figures/ch12/speed.txt"
CANDLE = ROOT / "tools/bench-candle"
ROUNDS = int(os.environ.get("ROUNDS", "3"))
SIDES = ("ours", "HF", "llama.cpp", "candle")


def hf_generate_side(threads: int, prompt: list, new_tokens: int, repeat: int) -> dict:
    import torch
    import transformers
    from transformers import GenerationConfig
    from transformers.generation.streamers import BaseStreamer

    model, load = load_hf_smollm2(threads)
    ids = torch.tensor([prompt])
    # 1 + new_tokens ids, as ours makes: the first from the prompt, then one a step.
    # eos_token_id=None: never stop early, so every run does the same work.
    config = GenerationConfig(max_new_tokens=new_tokens + 1, do_sample=False,
                              use_cache=True, eos_token_id=None,
                              pad_token_id=model.config.pad_token_id or 0)

    class Stamps(BaseStreamer):
        """generate() calls put() with the prompt, then once with each new token."""

        def __init__(self):
            self.times = []

        def put(self, value):
            self.times.append(time.perf_counter())

        def end(self):
            pass

    def run():
        stamps = Stamps()
        with torch.inference_mode():
            t0 = time.perf_counter()
            out = model.generate(ids, generation_config=config, streamer=stamps)
            t2 = time.perf_counter()
        new = out[0, len(prompt):].tolist()
        assert len(new) == new_tokens + 1 and len(stamps.times) == new_tokens + 2, \
            (len(new), len(stamps.times))
        t1 = stamps.times[1]  # the first new token
        return t1 - t0, t2 - t1, new

    run()
    prefill, decode, new = float("inf"), float("inf"), []
    for _ in range(repeat):
        p, d, new = run()
        prefill, decode = min(prefill, p), min(decode, d)
    return {"prefill_ms": prefill * 1e3, "decode_ms": decode * 1e3, "load_s": load,
            "peak_mib": peak_mib(), "new": new, "transformers": transformers.__version__,
            "torch": torch.__version__.split("+")[0]}


def candle_build() -> pathlib.Path:
    env = dict(os.environ, CARGO_TARGET_DIR=str(CANDLE / "target"))
    subprocess.run(["cargo", "build", "--quiet", "--release", "--manifest-path",
                    str(CANDLE / "Cargo.toml")], cwd=ROOT, env=env, check=True)
    return CANDLE / "target/release/bench-candle"


def candle_side(binary: pathlib.Path, threads: int, prompt: list) -> dict:
    from ch09_gguf import GGUF_PATH

    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    out = subprocess.run([str(binary), str(GGUF_PATH), ",".join(map(str, prompt)),
                          str(NEW_TOKENS), str(SM_REPEAT)], env=env, check=True,
                         capture_output=True, text=True).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert got["threads"] == threads, (got["threads"], threads)
    return got


def table() -> str:
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        sys.exit("bench_ch12.py needs llama-cpp-python: see tools/golden/requirements-bench.txt")
    candle = candle_build()
    rows, meta = [], {}
    for threads in (1, 2):
        best = {s: {"prefill_ms": float("inf"), "decode_ms": float("inf")} for s in SIDES}
        for _ in range(ROUNDS):
            r = cargo_example("smollm2_bench", "--threads", str(threads), "--repeat",
                              str(SM_REPEAT), "--prompt-tokens", str(PROMPT_TOKENS),
                              "--new-tokens", str(NEW_TOKENS))
            prompt = [int(i) for i in r["prompt"].split(",")]
            got = {"ours": {"prefill_ms": float(r["prefill_ms"]),
                            "decode_ms": float(r["decode_ms"]),
                            "new": [int(i) for i in r["new"].split(",")]}}
            got["HF"] = python_side("_hf_generate", threads, prompt, __file__)
            got["llama.cpp"] = python_side("_llamacpp", threads, prompt)
            got["candle"] = candle_side(candle, threads, prompt)
            for s in SIDES:
                b = best[s]
                b["prefill_ms"] = min(b["prefill_ms"], got[s]["prefill_ms"])
                b["decode_ms"] = min(b["decode_ms"], got[s]["decode_ms"])
                b["new"] = got[s]["new"]
            meta.update(transformers=got["HF"]["transformers"], torch=got["HF"]["torch"],
                        llama_cpp=got["llama.cpp"]["llama_cpp"], candle=got["candle"]["candle"])
        rows.append((threads, best))
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    lines = [
        f"SmolLM2-135M-Instruct, greedy with a KV cache: TTFT = a {PROMPT_TOKENS}-token prompt "
        f"through the model and the first new token; decode = {NEW_TOKENS} more tokens; "
        f"best of {ROUNDS} alternating rounds x {SM_REPEAT} runs after a warm-up, each side "
        f"in its own process",
        f"ours = Chapter 9's Llama (hidden_cached), f32 weights dequantized from the Q4_1 "
        f"GGUF; HF = transformers {meta['transformers']} generate() on PyTorch "
        f"{meta['torch']} (CPU), fp32, the same dequantized weights",
        f"llama.cpp = llama-cpp-python {meta['llama_cpp']} and candle = candle-transformers "
        f"{meta['candle']} quantized_llama, both on the Q4_1 weights themselves (a different "
        f"precision)",
        f"{cpu_model()}, {len(os.sched_getaffinity(0))} CPUs available; uptime at the end: "
        f"{uptime}",
        "",
        "threads | side      | TTFT ms | decode tok/s | same ids",
        "------- | --------- | ------- | ------------ | --------",
    ]
    for t, best in rows:
        for s in SIDES:
            b = best[s]
            same = agreeing_prefix(best["ours"]["new"], b["new"])
            lines.append(f"{t:>7} | {s:<9} | {b['prefill_ms']:>7.1f} | "
                         f"{NEW_TOKENS / b['decode_ms'] * 1e3:>12.1f} | "
                         f"{same:>3}/{NEW_TOKENS + 1}")
    lines += [
        "",
        "speed-up = their time / ours (> 1: ours faster)",
        "threads | HF TTFT | HF decode | llama.cpp TTFT | llama.cpp decode | candle TTFT | "
        "candle decode",
        "------- | ------- | --------- | -------------- | ---------------- | ----------- | "
        "-------------",
    ]
    for t, best in rows:
        o = best["ours"]
        cells = []
        for s, w in (("HF", 7), ("llama.cpp", 14), ("candle", 11)):
            cells.append(f"{best[s]['prefill_ms'] / o['prefill_ms']:>{w}.2f}")
            cells.append(f"{best[s]['decode_ms'] / o['decode_ms']:>{w + 2}.2f}")
        lines.append(f"{t:>7} | " + " | ".join(cells))
    lines += ["", f"same ids: greedy ids equal to ours before the first difference, of "
              f"{NEW_TOKENS + 1} (llama.cpp and candle compute in Q4_1/Q8 arithmetic)"]
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "_hf_generate":
        a = json.loads(sys.argv[2])
        print(json.dumps(hf_generate_side(a["threads"], a["prompt"], a["new_tokens"],
                                          a["repeat"])))
        return
    text = table()
    print(text, end="")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
