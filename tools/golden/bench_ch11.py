"""Chapter 11's speed: one AdamW step over the parameters of Chapter 9's training Llama
(`TrainConfig::full().llama(2048)`), the book's Rust against torch.optim.AdamW on CPU,
same tensor shapes, same two parameter groups, same thread count, in one run:

    .venv/bin/python bench_ch11.py   # needs cargo; writes src/figures/ch11/adamw-speed.txt

- ours: `cargo run --release -p ch11-training --example adamw_bench` (it also prints the
  tensors' names, shapes and groups, which this script builds for PyTorch);
- PyTorch's three implementations: the per-tensor loop (foreach=False, the CPU default),
  foreach=True (one multi-tensor call per operation) and fused=True (one kernel per
  tensor), each `opt.step()` as a training loop calls it.

Both sides: β = (0.9, 0.95), ε = 1e-8, lr 3e-4, weight decay 0.1 on the decayed group
and 0 on the other, gradients of seeded noise set once; the best of REPEAT steps after
REPEAT / 10 warm-up steps. The sides alternate for ROUNDS rounds and each keeps its best,
so that a burst of other load on the machine does not land on one side only.
"""
import os
import pathlib
import subprocess
import time

import torch

from common import cpu_model

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "src/figures/ch11/adamw-speed.txt"
THREADS = (1, 2)
REPEAT, ROUNDS = 200, 3
SIDES = ("foreach=False", "foreach=True", "fused=True")


def ours(threads: int) -> tuple[float, int, list]:
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "-p", "ch11-training", "--example",
         "adamw_bench", "--", "--threads", str(threads), "--repeat", str(REPEAT)],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    kv = dict(f.split("=", 1) for f in out.split())
    shapes = []
    for item in kv["shapes"].split(","):
        name, dims, decay = item.split(":")
        shapes.append((name, [int(d) for d in dims.split("x")], decay == "1"))
    return float(kv["best_us"]), int(kv["params"]), shapes


def theirs(threads: int, side: str, shapes: list) -> float:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    params = []
    for _, dims, decay in shapes:
        p = torch.nn.Parameter(torch.randn(dims) * 0.02)
        p.grad = torch.rand(dims) * 2 - 1
        params.append((p, decay))
    groups = [{"params": [p for p, d in params if d], "weight_decay": 0.1},
              {"params": [p for p, d in params if not d], "weight_decay": 0.0}]
    kind = {"foreach=False": {"foreach": False}, "foreach=True": {"foreach": True},
            "fused=True": {"fused": True}}[side]
    opt = torch.optim.AdamW(groups, lr=3e-4, betas=(0.9, 0.95), eps=1e-8, **kind)
    for _ in range(REPEAT // 10):
        opt.step()
    best = float("inf")
    for _ in range(REPEAT):
        start = time.perf_counter()
        opt.step()
        best = min(best, time.perf_counter() - start)
    return best * 1e6


def main() -> None:
    best: dict[tuple[str, int], float] = {}
    shapes, n_params = None, 0
    for r in range(ROUNDS):
        for threads in THREADS:
            us, n_params, shapes = ours(threads)
            best[("ours", threads)] = min(best.get(("ours", threads), float("inf")), us)
            for side in SIDES:
                try:
                    t = theirs(threads, side, shapes)
                except RuntimeError as e:  # fused AdamW on this CPU build
                    print(f"{side}: {e}")
                    t = float("nan")
                best[(side, threads)] = min(best.get((side, threads), float("inf")), t)
            print(f"round {r + 1}, {threads} thread(s): "
                  + ", ".join(f"{s} {best[(s, threads)]:.1f} us" for s in ("ours",) + SIDES),
                  flush=True)
    lines = [
        f"One AdamW step over the parameters of Chapter 9's training Llama ({n_params:,} in "
        f"{len(shapes)} tensors, f32), beta (0.9, 0.95), eps 1e-8, weight decay 0.1 on the "
        "decayed group; best of "
        f"{ROUNDS} alternating rounds x {REPEAT} steps after {REPEAT // 10} warm-up steps",
        f"ours = this chapter's AdamW; PyTorch {torch.__version__.split('+')[0]} "
        "torch.optim.AdamW on CPU, opt.step() with foreach=False (the CPU default), "
        "foreach=True, fused=True",
        f"{cpu_model()}, {len(os.sched_getaffinity(0))} CPUs available, load average "
        f"{os.getloadavg()[0]:.1f} at the end",
        "",
        "threads | ours us | foreach=False us | foreach=True us | fused=True us",
        "------- | ------- | ---------------- | --------------- | -------------",
    ]
    for t in THREADS:
        b = [best[(s, t)] for s in ("ours",) + SIDES]
        lines.append(f"{t:>7} | {b[0]:>7.1f} | {b[1]:>16.1f} | {b[2]:>15.1f} | {b[3]:>13.1f}")
    lines += ["", "speed-up = their time / ours (> 1: ours faster)",
              "threads | foreach=False | foreach=True | fused=True",
              "------- | ------------- | ------------ | ----------"]
    for t in THREADS:
        o = best[("ours", t)]
        r = [best[(s, t)] / o for s in SIDES]
        lines.append(f"{t:>7} | {r[0]:>13.2f} | {r[1]:>12.2f} | {r[2]:>10.2f}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
