"""Speed of one training step of Chapter 7's translation model, the book's Rust against
PyTorch eager on CPU, same model, same batch shape, same thread count, in one run.

    .venv/bin/python bench_ch07.py   # needs cargo; writes src/figures/ch07/train-step-speed.txt

The step: teacher-forced forward, CrossEntropyLoss(ignore_index=pad, label_smoothing=0.1),
backward, clip_grad_norm_(1.0), Adam (0.9, 0.98, 1e-9); gradients are zeroed inside the
timed region on both sides, as the book's `train_step` does. The model is the `translate`
example's: d_model 64, 4 heads, d_ff 256, 3 + 3 Post-LN layers with ReLU and no final
norms, embeddings × √C + sinusoidal positions, output tied to the target embedding. The
Rust side (`cargo run --release -p ch07-transformer --example train_step_bench`) trains on the first
batch of the example's run and prints its shape, vocabulary sizes and every source
sentence's length; the PyTorch side builds a batch of that shape with the same padding
pattern from random ids (the ids do not change the work). Each side takes the best of
REPEAT steps after 3 warm-up steps, then times the step's parts in a second loop. The two
sides alternate for ROUNDS rounds and each keeps its best, so that a burst of other load
on the machine does not land on one side only.
"""
import os
import pathlib
import subprocess
import time

import torch
import torch.nn as nn

from seq2seq import Seq2Seq
from common import cpu_model

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "src/figures/ch07/train-step-speed.txt"
C, HEADS, D_FF, LAYERS = 64, 4, 256, 3
PAD, BOS, EOS = 0, 1, 2
REPEAT = 30
ROUNDS = 3


def rust(threads: int) -> dict:
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "-p", "ch07-transformer", "--example",
         "train_step_bench", "--", "--threads", str(threads), "--repeat", str(REPEAT)],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return dict(kv.split("=") for kv in out.split())


def torch_times(threads: int, shape: dict) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    src_vocab, tgt_vocab = int(shape["src_vocab"]), int(shape["tgt_vocab"])
    lens = [int(n) for n in shape["src_lens"].split(",")]
    b, s, t = len(lens), int(shape["src_len"]), int(shape["tgt_len"])
    src = torch.full((b, s), PAD)
    for i, n in enumerate(lens):
        src[i, :n] = torch.randint(3, src_vocab, (n,))
    tgt_out = torch.randint(3, tgt_vocab, (b, t))
    tgt_out[:, -1] = EOS  # every date has the same length: no target padding
    tgt_in = torch.cat([torch.full((b, 1), BOS), tgt_out[:, :-1]], dim=1)
    model = Seq2Seq(src_vocab, tgt_vocab, C, HEADS, D_FF, LAYERS, LAYERS, norm_first=False,
                    tied=True, max_len=int(shape["max_len"]))
    model.train()
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.1)
    adam = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-9)
    targets = tgt_out.reshape(-1)
    best, parts = float("inf"), [float("inf")] * 3
    for _ in range(REPEAT + 3):
        start = time.perf_counter()
        adam.zero_grad()
        loss = loss_fn(model(src, tgt_in, PAD).reshape(-1, tgt_vocab), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        adam.step()
        best = min(best, time.perf_counter() - start)
    for _ in range(REPEAT + 3):
        t0 = time.perf_counter()
        adam.zero_grad()
        loss = loss_fn(model(src, tgt_in, PAD).reshape(-1, tgt_vocab), targets)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        adam.step()
        t3 = time.perf_counter()
        parts = [min(p, d) for p, d in zip(parts, (t1 - t0, t2 - t1, t3 - t2))]
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == int(shape["params"]), (n_params, shape["params"])
    return {"best": best * 1e3, "parts": [p * 1e3 for p in parts]}


def main() -> None:
    rows, shape = [], None
    for threads in (1, 2):
        ours = {"best": float("inf"), "parts": [float("inf")] * 3}
        ref = dict(ours)
        for _ in range(ROUNDS):
            r = rust(threads)
            shape = shape or r
            assert r["src_lens"] == shape["src_lens"], "the Rust batch changed"
            ours = {"best": min(ours["best"], float(r["best_ms"])),
                    "parts": [min(p, float(r[k])) for p, k in
                              zip(ours["parts"], ("fwd_ms", "bwd_ms", "opt_ms"))]}
            p = torch_times(threads, shape)
            ref = {"best": min(ref["best"], p["best"]),
                   "parts": [min(a, b) for a, b in zip(ref["parts"], p["parts"])]}
        rows.append((threads, ref, ours))
    tokens = int(shape["tokens"])
    lines = [
        f"One training step of the translate example: forward, label-smoothed loss, "
        f"backward, clip, Adam; f32, best of {ROUNDS} alternating rounds x {REPEAT} steps",
        f"model: d_model {C}, {HEADS} heads, d_ff {D_FF}, {LAYERS} + {LAYERS} Post-LN layers, "
        f"tied output, {shape['params']} parameters",
        f"batch: {shape['batch']} sentence pairs, source padded to {shape['src_len']}, "
        f"target {shape['tgt_len']}; {tokens} target tokens",
        f"PyTorch {torch.__version__.split('+')[0]} eager (CPU) vs this chapter's Rust; "
        f"{cpu_model()}, {len(os.sched_getaffinity(0))} CPUs available",
        "",
        "threads | PyTorch ms | ours ms | PyTorch tok/s | ours tok/s | "
        "speed-up = PyTorch ms / ours ms (> 1: ours faster)",
        "------- | ---------- | ------- | ------------- | ---------- | "
        "--------------------------------------------------",
    ]
    for t, r, o in rows:
        lines.append(f"{t:>7} | {r['best']:>10.2f} | {o['best']:>7.2f} | "
                     f"{tokens / r['best'] * 1e3:>13.0f} | {tokens / o['best'] * 1e3:>10.0f} | "
                     f"{r['best'] / o['best']:>50.2f}")
    lines += [
        "",
        "parts of the step, ms (each the best of its own, so they need not add up):",
        "threads | side    | forward + loss | backward | clip + Adam",
        "------- | ------- | -------------- | -------- | -----------",
    ]
    for t, r, o in rows:
        for side, d in (("PyTorch", r), ("ours", o)):
            f, b, a = d["parts"]
            lines.append(f"{t:>7} | {side:<7} | {f:>14.2f} | {b:>8.2f} | {a:>11.2f}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
