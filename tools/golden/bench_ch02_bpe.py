"""Speed of the book's BPE against HF tokenizers (training) and tiktoken (encoding), all
measured in one run on the same corpus, single-threaded; plus the naive trainer against
the incremental one.

    .venv/bin/python bench_ch02_bpe.py   # needs cargo; writes src/figures/ch02/bpe-speed.txt
                                         # and src/figures/ch02/bpe-naive.txt

The corpus is the repository's own text: every src/**/*.md and listings/**/*.rs file
(sorted by path) concatenated, then the whole repeated until it reaches 8 MB, so word
counts are those of the real text times the number of copies. Every timing is the best
of 3 runs. The book's programs time only the work (no process start, no file read);
HF's `train` reads the file itself, which is part of its time.
"""
import os

os.environ["RAYON_NUM_THREADS"] = "1"  # must be set before tokenizers is imported
os.environ["TOKENIZERS_PARALLELISM"] = "false"
# tiktoken caches every file it loads by *path* (even local ones) in a temp dir, so a
# rewritten rank file would be read stale: an empty cache dir turns the cache off.
os.environ["TIKTOKEN_CACHE_DIR"] = ""

import pathlib  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import tiktoken  # noqa: E402
import tokenizers  # noqa: E402
from tiktoken.load import load_tiktoken_bpe  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers, trainers  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORK = ROOT / "target/bpe-bench"
FIGURES = ROOT / "src/figures/ch02"
PAT = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
TARGET = 8_000_000
VOCAB = 4096
REPEAT = 3
# Where cargo builds: CARGO_TARGET_DIR when set, as cargo itself does.
BIN = (pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
       / "release/examples/bpe_bench")


def build_corpus() -> tuple[pathlib.Path, int, int]:
    files = sorted(ROOT.glob("src/**/*.md")) + sorted(ROOT.glob("listings/**/*.rs"))
    files = [f for f in files if "target" not in f.parts]
    once = b"".join(f.read_bytes() for f in files)
    copies = -(-TARGET // len(once))
    path = WORK / "corpus.txt"
    path.write_bytes(once * copies)
    return path, len(once), copies


def best(f, repeat=REPEAT):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def book(*args) -> dict:
    out = subprocess.run([str(BIN), "--repeat", str(REPEAT), *map(str, args)],
                         check=True, capture_output=True, text=True).stdout
    # Integers (counts, checksums) must stay exact: a 64-bit checksum does not fit a float.
    return {k: int(v) if v.isdigit() else float(v)
            for k, v in (kv.split("=") for kv in out.split())}


def hf_train(corpus: pathlib.Path, vocab: int) -> None:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train([str(corpus)], trainer)


def fnv(ids) -> int:
    h = 0xCBF29CE484222325
    for i in ids:
        h = ((h ^ i) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def cpu() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    FIGURES.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "ch02-input",
                    "--example", "bpe_bench"], cwd=ROOT, check=True)
    corpus, once, copies = build_corpus()
    size = corpus.stat().st_size
    ranks = WORK / f"book-{VOCAB}.tiktoken"

    # (1) Training, vocabulary 4096.
    hf_s, _ = best(lambda: hf_train(corpus, VOCAB))
    ours = book("train", "--vocab-size", VOCAB, "--input", corpus, "--output", ranks)
    book_train = ours["train_seconds"]

    # (2) Encoding the whole corpus with the book's 4096-token ranks.
    text = corpus.read_text()
    mergeable = load_tiktoken_bpe(str(ranks))
    enc = tiktoken.Encoding("book4096", pat_str=PAT, mergeable_ranks=mergeable,
                            special_tokens={})
    tk_s, tk_ids = best(lambda: enc.encode_ordinary(text))
    ours = book("encode", "--ranks", ranks, "--input", corpus)
    same = ours["n_ids"] == len(tk_ids) and ours["checksum"] == fnv(tk_ids)
    tk_mbps, book_mbps = size / 1e6 / tk_s, ours["mb_per_s"]

    lines = [
        f"Measured by `tools/golden/bench_ch02_bpe.py` on {cpu()}, one thread, best of "
        f"{REPEAT}. Corpus: the book's own `src/**/*.md` and `listings/**/*.rs` "
        f"({once / 1e3:.0f} kB) repeated {copies} times, {size / 1e6:.1f} MB; "
        f"tiktoken {tiktoken.__version__}, tokenizers {tokenizers.__version__}.",
        "",
        "| task | reference | reference's result | the book's code "
        "| speed-up = reference's time / the book's time (> 1: the book faster) |",
        "|---|---|---|---|---|",
        f"| train, vocabulary {VOCAB} | HF tokenizers BpeTrainer | {hf_s:.2f} s | "
        f"{book_train:.2f} s | {hf_s / book_train:.1f}x |",
        # Both sides encode the same bytes, so the ratio of throughputs is the inverse
        # ratio of times.
        f"| encode_ordinary, {len(tk_ids):,} ids | tiktoken | {tk_mbps:.1f} MB/s | "
        f"{book_mbps:.1f} MB/s | {book_mbps / tk_mbps:.2f}x |",
        "",
        f"Same ids as tiktoken on the whole corpus: {'yes' if same else 'NO'}.",
    ]
    (FIGURES / "bpe-speed.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    # Naive against incremental training, on one copy of the text (no repeats) and on
    # its first quarter.
    rows = ["| corpus | vocabulary | naive trainer | incremental trainer "
            "| speed-up = naive time / incremental time |",
            "|---|---|---|---|---|"]
    for n_bytes, vocab in [(once // 4, 1000), (once, 1000), (once, 2000), (once, 4096)]:
        small = WORK / f"corpus-{n_bytes}.txt"
        data = corpus.read_bytes()[:n_bytes]
        while data and (data[-1] & 0xC0) == 0x80:  # do not end inside a character
            data = data[:-1]
        small.write_bytes(data)
        out_naive, out_fast = WORK / "naive.tiktoken", WORK / "fast.tiktoken"
        naive = book("train", "--naive", "--vocab-size", vocab, "--input", small,
                     "--output", out_naive)["train_seconds"]
        fast = book("train", "--vocab-size", vocab, "--input", small,
                    "--output", out_fast)["train_seconds"]
        assert out_naive.read_bytes() == out_fast.read_bytes(), "the trainers disagree"
        rows.append(f"| {len(data) / 1e3:.0f} kB | {vocab} | {naive:.3f} s | {fast:.3f} s | "
                    f"{naive / fast:.0f}x |")
    naive_txt = [f"Measured by `tools/golden/bench_ch02_bpe.py` on {cpu()}, one thread, "
                 f"best of {REPEAT}; both trainers learn the same merges.", ""] + rows
    (FIGURES / "bpe-naive.txt").write_text("\n".join(naive_txt) + "\n")
    print("\n".join(naive_txt))


if __name__ == "__main__":
    main()
