"""Speed of one FFN layer (Linear C -> 4C, GELU, Linear 4C -> C), forward + backward,
the book's Rust against PyTorch eager on CPU, same shapes, same thread count, in one run.

    .venv/bin/python bench_ch04.py   # needs cargo; writes src/figures/ch04/ffn-speed.txt

Both sides: batch 8 x 256 tokens = 2048 rows, d_model 256, hidden 1024, exact GELU,
a fixed upstream gradient, gradients zeroed outside the timed region, best of REPEAT
runs after 3 warm-up runs. The Rust program times only the work (no process start).
The two sides alternate for ROUNDS rounds and each keeps its best time, so that a burst
of other load on the machine does not land on one side only.
"""
import pathlib
import platform
import subprocess
import time

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "src/figures/ch04/ffn-speed.txt"
B, T, C, H = 8, 256, 256, 1024
REPEAT = 20
ROUNDS = 3


def torch_ms(threads: int) -> float:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    ffn = torch.nn.Sequential(torch.nn.Linear(C, H), torch.nn.GELU(), torch.nn.Linear(H, C))
    x = torch.randn(B * T, C, requires_grad=True)
    dy = torch.randn(B * T, C)
    best = float("inf")
    for _ in range(REPEAT + 3):
        x.grad = None
        for p in ffn.parameters():
            p.grad = None
        start = time.perf_counter()
        ffn(x).backward(dy)
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def rust_ms(threads: int) -> float:
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "-p", "ch04-ffn-norms", "--example", "ffn_bench",
         "--", "--threads", str(threads), "--repeat", str(REPEAT)],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    fields = dict(kv.split("=") for kv in out.split())
    return float(fields["best_ms"])


def main() -> None:
    rows = []
    for threads in (1, 2):
        ours = ref = float("inf")
        for _ in range(ROUNDS):
            ours, ref = min(ours, rust_ms(threads)), min(ref, torch_ms(threads))
        rows.append((threads, ref, ours, ref / ours))
    lines = [
        f"FFN forward + backward: [{B}x{T}, {C}] -> {H} -> {C}, exact GELU, f32, "
        f"best of {ROUNDS} alternating rounds x {REPEAT} runs",
        f"PyTorch {torch.__version__.split('+')[0]} eager (CPU) vs this chapter's Rust; "
        f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} CPUs available",
        "",
        "threads | PyTorch ms | ours ms | speed-up = PyTorch ms / ours ms (> 1: ours faster)",
        "------- | ---------- | ------- | --------------------------------------------------",
    ]
    lines += [f"{t:>7} | {r:>10.2f} | {o:>7.2f} | {q:>50.2f}" for t, r, o, q in rows]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
