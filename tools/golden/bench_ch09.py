"""Chapter 9's speed, the book's Rust beside what a reader would use instead, in one run:

    .venv/bin/python bench_ch09.py            # both tables; needs cargo and `cargo xtask models`
    .venv/bin/python bench_ch09.py train      # src/figures/ch09/train-step-speed.txt only
    .venv/bin/python bench_ch09.py smollm2    # src/figures/ch09/smollm2-speed.txt only

1. One training step of the chapter's GPT-2 (4 layers, width 128, 4 heads, context 128,
   batch 16, dropout 0) against the same model in PyTorch eager, written as nanoGPT
   writes it (`F.scaled_dot_product_attention(is_causal=True)`, tanh GELU, tied head),
   at 1 and 2 threads and at two vocabularies: GPT-2's 50,257, where the tied head and
   its softmax are most of the work, and 256 (bytes), where the blocks are. The step:
   zero the gradients, forward, cross-entropy of the next token (127 targets a
   sequence), backward, AdamW (β = 0.9, 0.95, ε = 1e-8, lr 3e-4, weight decay 0.1 on
   the matrices only, nanoGPT's groups). The Rust side is
   `cargo run --release -p ch09-decoder-only --example gpt_step_bench`. Each side takes
   the best of a few steps after warm-up steps (VOCABS), then times the step's parts in
   a second loop; the two sides alternate for ROUNDS rounds and each keeps its best, so
   that a burst of other load on the machine does not land on one side only.

2. SmolLM2-135M-Instruct on f32 weights dequantized from the same Q4_1 GGUF: prefill of
   a 256-token prompt (the first 256 ids of the book's frozen Chapter 1 text) and 128
   greedy decoding steps with a KV cache, against Hugging Face transformers (PyTorch
   fp32, the GGUF loaded as ch09_smollm2.py loads it; a manual loop over
   `past_key_values`, logits of the last position only), at 1 and 2 threads; and
   llama.cpp (llama-cpp-python, built from source, requirements-bench.txt) on the Q4_1
   file itself, as the reference Chapter 13's quantized kernels chase. Every side runs
   in its own process, so each peak resident set (VmHWM, on both sides) is its
   own; each takes the best of SM_REPEAT runs after a warm-up, and the sides alternate
   for SM_ROUNDS rounds.
"""
import json
import os
import pathlib
import subprocess
import sys
import time
from common import cpu_model

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
TRAIN_OUT = ROOT / "src/figures/ch09/train-step-speed.txt"
SMOLLM2_OUT = ROOT / "src/figures/ch09/smollm2-speed.txt"
LAYERS, WIDTH, HEADS, CONTEXT, BATCH = 4, 128, 4, 128, 16
# vocab: (timed steps, warm-up steps); a step at 50,257 takes seconds on this machine
VOCABS = {50257: (3, 1), 256: (5, 2)}
ROUNDS = 2
PROMPT_TOKENS, NEW_TOKENS = 256, 128
SM_REPEAT, SM_ROUNDS = 1, 3


def cargo_example(example: str, *args: str, package: str = "ch09-decoder-only") -> dict:
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "-p", package, "--example",
         example, "--", *args],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return dict(kv.split("=", 1) for kv in out.split())


def peak_mib() -> float:
    """This process's peak resident set, VmHWM, as the Rust side reads it. Not ru_maxrss:
    Linux carries that over from the parent through fork and exec, so a side started
    after the training table would report the PyTorch training run's peak."""
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


# ---------------------------------------------------------------------------------------
# 1. The training step


def torch_train(threads: int, vocab: int, repeat: int, warmup: int) -> dict:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
            self.c_attn = nn.Linear(WIDTH, 3 * WIDTH)
            self.c_proj = nn.Linear(WIDTH, WIDTH)
            self.c_fc = nn.Linear(WIDTH, 4 * WIDTH)
            self.mlp_proj = nn.Linear(4 * WIDTH, WIDTH)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
            q, k, v = (z.view(b, t, HEADS, c // HEADS).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))
            return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocab, WIDTH), nn.Embedding(CONTEXT, WIDTH)
            self.h = nn.ModuleList(Block() for _ in range(LAYERS))
            self.ln_f = nn.LayerNorm(WIDTH)

        def forward(self, ids):
            x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
            for block in self.h:
                x = block(x)
            return F.linear(self.ln_f(x), self.wte.weight)  # the tied head

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = GPT()
    model.train()
    ids = torch.randint(0, vocab, (BATCH, CONTEXT))
    targets = torch.cat([ids[:, 1:], torch.full((BATCH, 1), -1)], dim=1).reshape(-1)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=3e-4, betas=(0.9, 0.95), eps=1e-8)

    def loss_of():
        return F.cross_entropy(model(ids).view(-1, vocab), targets, ignore_index=-1)

    best, parts = float("inf"), [float("inf")] * 3
    for _ in range(repeat + warmup):
        start = time.perf_counter()
        opt.zero_grad()
        loss_of().backward()
        opt.step()
        best = min(best, time.perf_counter() - start)
    for _ in range(repeat + warmup):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_of()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        parts = [min(p, d) for p, d in zip(parts, (t1 - t0, t2 - t1, t3 - t2))]
    return {"best": best * 1e3, "parts": [p * 1e3 for p in parts],
            "params": sum(p.numel() for p in model.parameters())}


def train_table() -> str:
    import torch

    rows = []
    for vocab in VOCABS:
        for threads in (1, 2):
            ours = {"best": float("inf"), "parts": [float("inf")] * 3}
            ref = dict(ours)
            for _ in range(ROUNDS):
                repeat, warmup = VOCABS[vocab]
                r = cargo_example("gpt_step_bench", "--threads", str(threads),
                                  "--repeat", str(repeat), "--warmup", str(warmup),
                                  "--vocab", str(vocab))
                ours = {"best": min(ours["best"], float(r["best_ms"])),
                        "parts": [min(p, float(r[k])) for p, k in
                                  zip(ours["parts"], ("fwd_ms", "bwd_ms", "opt_ms"))]}
                p = torch_train(threads, vocab, repeat, warmup)
                assert p["params"] == int(r["params"]), (p["params"], r["params"])
                ref = {"best": min(ref["best"], p["best"]),
                       "parts": [min(a, b) for a, b in zip(ref["parts"], p["parts"])]}
            rows.append((vocab, int(r["params"]), threads, ref, ours))
    tokens = BATCH * CONTEXT
    lines = [
        f"One training step of the chapter's GPT-2: zero grads, forward, next-token "
        f"cross-entropy, backward, AdamW; f32, best of {ROUNDS} alternating rounds x "
        + ", ".join(f"{r} steps after {w} warm-up (vocab {v})" for v, (r, w) in VOCABS.items()),
        f"model: {LAYERS} layers, d_model {WIDTH}, {HEADS} heads, context {CONTEXT}, "
        f"dropout 0, tied head; batch {BATCH} x {CONTEXT} = {tokens} tokens",
        f"PyTorch {torch.__version__.split('+')[0]} eager (CPU), nanoGPT-style, vs this "
        f"chapter's Rust; {cpu_model()}, {len(os.sched_getaffinity(0))} CPUs available, "
        f"load average {os.getloadavg()[0]:.1f} at the end",
        "",
        "vocab | params  | threads | PyTorch ms | ours ms | PyTorch tok/s | ours tok/s | "
        "speed-up = PyTorch ms / ours ms (> 1: ours faster)",
        "----- | ------- | ------- | ---------- | ------- | ------------- | ---------- | "
        "--------------------------------------------------",
    ]
    for vocab, params, t, r, o in rows:
        lines.append(f"{vocab:>5} | {params:>7} | {t:>7} | {r['best']:>10.1f} | "
                     f"{o['best']:>7.1f} | {tokens / r['best'] * 1e3:>13.0f} | "
                     f"{tokens / o['best'] * 1e3:>10.0f} | {r['best'] / o['best']:>50.2f}")
    lines += [
        "",
        "parts of the step, ms (each the best of its own, so they need not add up):",
        "vocab | threads | side    | zero grads + forward + loss | backward | AdamW",
        "----- | ------- | ------- | --------------------------- | -------- | -----",
    ]
    for vocab, _, t, r, o in rows:
        for side, d in (("PyTorch", r), ("ours", o)):
            f, b, a = d["parts"]
            lines.append(f"{vocab:>5} | {t:>7} | {side:<7} | {f:>27.1f} | {b:>8.1f} | "
                         f"{a:>5.1f}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# 2. SmolLM2: each side in its own process (`bench_ch09.py _hf|_llamacpp ARGS_JSON`)


def load_hf_smollm2(threads: int):
    """SmolLM2 in transformers on `threads` threads, as ch09_smollm2.py loads it: every
    tensor of the GGUF dequantized to float32. Returns (model, seconds to load)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM

    from ch09_gguf import GGUF_PATH

    torch.set_num_threads(threads)
    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(
        str(GGUF_PATH.parent), gguf_file=GGUF_PATH.name, dtype=torch.float32).eval()
    return model, time.perf_counter() - start


def hf_side(threads: int, prompt: list, new_tokens: int, repeat: int) -> dict:
    import torch
    import transformers

    model, load = load_hf_smollm2(threads)
    ids = torch.tensor([prompt])

    def run():
        with torch.inference_mode():
            t0 = time.perf_counter()
            out = model(ids, use_cache=True, logits_to_keep=1)
            nxt = out.logits[0, -1].argmax()
            t1 = time.perf_counter()
            new, past = [int(nxt)], out.past_key_values
            for _ in range(new_tokens):
                out = model(nxt.view(1, 1), past_key_values=past, use_cache=True,
                            logits_to_keep=1)
                past, nxt = out.past_key_values, out.logits[0, -1].argmax()
                new.append(int(nxt))
            return t1 - t0, time.perf_counter() - t1, new

    run()
    prefill, decode, new = float("inf"), float("inf"), []
    for _ in range(repeat):
        p, d, new = run()
        prefill, decode = min(prefill, p), min(decode, d)
    return {"prefill_ms": prefill * 1e3, "decode_ms": decode * 1e3, "load_s": load,
            "peak_mib": peak_mib(), "new": new, "transformers": transformers.__version__,
            "torch": torch.__version__.split("+")[0]}


def llamacpp_side(threads: int, prompt: list, new_tokens: int, repeat: int,
                  model: str = "") -> dict:
    """llama.cpp on `model` (a GGUF path; the models cache's SmolLM2 Q4_1 file if empty)."""
    import llama_cpp
    import numpy as np

    from ch09_gguf import GGUF_PATH

    start = time.perf_counter()
    llm = llama_cpp.Llama(model_path=model or str(GGUF_PATH), n_ctx=512, n_batch=512,
                          n_ubatch=512, n_threads=threads, n_threads_batch=threads,
                          logits_all=False, verbose=False)
    load = time.perf_counter() - start

    def last_argmax() -> int:
        # Llama.scores holds logits only with logits_all=True, which would run the head
        # on every prompt position; read the last position's logits from the context.
        logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),))
        return int(np.argmax(logits))

    def run():
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        nxt = last_argmax()
        t1 = time.perf_counter()
        new = [nxt]
        for _ in range(new_tokens):
            llm.eval([nxt])
            nxt = last_argmax()
            new.append(nxt)
        return t1 - t0, time.perf_counter() - t1, new

    run()
    prefill, decode, new = float("inf"), float("inf"), []
    for _ in range(repeat):
        p, d, new = run()
        prefill, decode = min(prefill, p), min(decode, d)
    return {"prefill_ms": prefill * 1e3, "decode_ms": decode * 1e3, "load_s": load,
            "peak_mib": peak_mib(), "new": new, "llama_cpp": llama_cpp.__version__}


def python_side(kind: str, threads: int, prompt: list, script: str = __file__,
                **extra) -> dict:
    """Runs `script kind ARGS_JSON` (this file's sides, or bench_ch12.py's) in its own
    process and returns the JSON it prints last; `extra` joins the side's arguments."""
    arg = json.dumps({"threads": threads, "prompt": prompt, "new_tokens": NEW_TOKENS,
                      "repeat": SM_REPEAT, **extra})
    out = subprocess.run([sys.executable, script, kind, arg], cwd=HERE, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def agreeing_prefix(a: list, b: list) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def smollm2_table() -> str:
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        sys.exit("bench_ch09.py smollm2 needs llama-cpp-python: "
                 "see tools/golden/requirements-bench.txt")
    sides = ("HF", "ours", "llama.cpp")
    rows, meta = [], {}
    for threads in (1, 2):
        best = {s: {"prefill_ms": float("inf"), "decode_ms": float("inf"), "peak_mib": 0.0}
                for s in sides}
        for _ in range(SM_ROUNDS):
            r = cargo_example("smollm2_bench", "--threads", str(threads), "--repeat",
                              str(SM_REPEAT), "--prompt-tokens", str(PROMPT_TOKENS),
                              "--new-tokens", str(NEW_TOKENS), "--bandwidth")
            prompt = [int(i) for i in r["prompt"].split(",")]
            got = {"ours": {"prefill_ms": float(r["prefill_ms"]),
                            "decode_ms": float(r["decode_ms"]),
                            "peak_mib": float(r["peak_mib"]),
                            "new": [int(i) for i in r["new"].split(",")]}}
            bw = meta.setdefault("bandwidth", {})
            bw[threads] = max(bw.get(threads, 0.0), float(r["bw_gbs"]))
            meta["weights_mib"] = float(r["weights_mib"])
            got["HF"] = python_side("_hf", threads, prompt)
            got["llama.cpp"] = python_side("_llamacpp", threads, prompt)
            for s in sides:
                b = best[s]
                b["prefill_ms"] = min(b["prefill_ms"], got[s]["prefill_ms"])
                b["decode_ms"] = min(b["decode_ms"], got[s]["decode_ms"])
                b["peak_mib"] = max(b["peak_mib"], got[s]["peak_mib"])
                b["new"] = got[s]["new"]
            meta["transformers"] = got["HF"]["transformers"]
            meta["torch"] = got["HF"]["torch"]
            meta["llama_cpp"] = got["llama.cpp"]["llama_cpp"]
        rows.append((threads, best))
    lines = [
        f"SmolLM2-135M-Instruct (the Q4_1 GGUF), greedy: prefill of a {PROMPT_TOKENS}-token "
        f"prompt, then {NEW_TOKENS} decoding steps with a KV cache; best of {SM_ROUNDS} "
        f"alternating rounds x {SM_REPEAT} runs after a warm-up, each side in its own process",
        f"HF = transformers {meta['transformers']} on PyTorch {meta['torch']} (CPU), fp32 "
        f"weights dequantized from the GGUF; ours = this chapter's Rust, the same f32 "
        f"weights; llama.cpp = llama-cpp-python {meta['llama_cpp']} on the Q4_1 weights "
        f"themselves",
        f"{cpu_model()}, {len(os.sched_getaffinity(0))} CPUs available, load average "
        f"{os.getloadavg()[0]:.1f} at the end",
        "",
        "threads | side      | prefill ms | prefill tok/s | decode ms/tok | decode tok/s | "
        "peak MiB",
        "------- | --------- | ---------- | ------------- | ------------- | ------------ | "
        "--------",
    ]
    for t, best in rows:
        for s in sides:
            b = best[s]
            per_tok = b["decode_ms"] / NEW_TOKENS
            lines.append(f"{t:>7} | {s:<9} | {b['prefill_ms']:>10.1f} | "
                         f"{PROMPT_TOKENS / b['prefill_ms'] * 1e3:>13.0f} | "
                         f"{per_tok:>13.2f} | {1e3 / per_tok:>12.1f} | {b['peak_mib']:>8.0f}")
    lines += [
        "",
        "speed-up = their ms / ours ms (> 1: ours faster)",
        "threads | HF prefill | HF decode | llama.cpp prefill | llama.cpp decode",
        "------- | ---------- | --------- | ----------------- | ----------------",
    ]
    for t, best in rows:
        o, h, l = best["ours"], best["HF"], best["llama.cpp"]
        lines.append(f"{t:>7} | {h['prefill_ms'] / o['prefill_ms']:>10.2f} | "
                     f"{h['decode_ms'] / o['decode_ms']:>9.2f} | "
                     f"{l['prefill_ms'] / o['prefill_ms']:>17.2f} | "
                     f"{l['decode_ms'] / o['decode_ms']:>16.2f}")
    t, best = rows[-1]
    lines += [
        "",
        f"greedy tokens identical to ours, of {NEW_TOKENS + 1} ({t} threads): "
        f"HF {agreeing_prefix(best['ours']['new'], best['HF']['new'])}, "
        f"llama.cpp (Q4_1 arithmetic) "
        f"{agreeing_prefix(best['ours']['new'], best['llama.cpp']['new'])} (the first "
        f"difference ends the count)",
    ]
    mb = meta["weights_mib"] * 1024 * 1024 / 1e6
    lines += ["", f"f32 weights read per decoding step: {meta['weights_mib']:.1f} MiB "
              f"({mb:.0f} MB); memory bandwidth measured by the Rust side (one pass "
              f"summing a 512 MiB array, best of {SM_ROUNDS} x 5) and the decode speed it "
              f"bounds (bandwidth / weight bytes):"]
    for t, bw in meta["bandwidth"].items():
        lines.append(f"  {t} thread(s): {bw:.1f} GB/s, at most {bw * 1e3 / mb:.1f} tok/s")
    return "\n".join(lines) + "\n"


def write(path: pathlib.Path, text: str) -> None:
    print(text, end="")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] in ("_hf", "_llamacpp"):
        a = json.loads(sys.argv[2])
        side = hf_side if sys.argv[1] == "_hf" else llamacpp_side
        print(json.dumps(side(**a)))
        return
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    if which in ("all", "train"):
        write(TRAIN_OUT, train_table())
    if which in ("all", "smollm2"):
        write(SMOLLM2_OUT, smollm2_table())


if __name__ == "__main__":
    main()
