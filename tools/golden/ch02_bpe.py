"""Chapter 2 byte-level BPE fixtures: parity of the book's tokenizer with tiktoken and
Hugging Face tokenizers, both directions.

    .venv/bin/python ch02_bpe.py   # needs cargo; writes listings/ch02-input/tests/golden/bpe*

(a) The corpus `listings/ch02-input/data/book-ch01.md` is chapter 1's markdown at 45e0a04 (the
    files of src/ch01-foundations/ in name order, concatenated). The book's trainer (the
    `bpe` example) learns a 1000-token vocabulary from it, written as
    `bpe-book-1000.tiktoken`; tiktoken loads that file with the GPT-2 pattern and
    `<|endoftext|>` = 1000 and encodes the test texts.
(b) HF tokenizers' BpeTrainer (byte-level, GPT-2 regex, no prefix space) learns a
    1000-token vocabulary from the same corpus; it is converted to a rank file
    (`bpe-hf-1000.tiktoken`: byte b has rank b, merge i has rank 256 + i) and tiktoken
    encodes the test texts with it; HF's own encoding, mapped to those ranks, is recorded
    as well.
The Rust golden test loads both rank files and must produce every recorded id list.
"""
import json
import os
import pathlib
import subprocess
import sys
# tiktoken caches every file it loads by *path* (even local ones) in a temp dir, so a
# rewritten rank file would be read stale: an empty cache dir turns the cache off.
os.environ["TIKTOKEN_CACHE_DIR"] = ""

import regex
import tiktoken
import tokenizers
from tiktoken.load import load_tiktoken_bpe
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "listings/ch02-input/tests/golden"
CORPUS = GOLDEN.parent.parent / "data" / "book-ch01.md"
CORPUS_REV = "45e0a04"
PAT = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
EOT = "<|endoftext|>"
VOCAB = 1000

TEXTS = {
    "accents": "Café naïve résumé, Ångström and Øresund; déjà vu? Ça va très bien.",
    "cjk": "日本語のテキストと中文文本，한국어 텍스트도 있습니다。",
    "emoji": "Family: 👨‍👩‍👧 and 👩🏽‍💻 coder, flags 🇫🇷🇯🇵, a heart ❤️ and 🎉🎉!",
    "whitespace": "a  b   c\t\td\n\n\ne    \n  \t f  \r\n trailing   \n\n   ",
    "digits": "In 2024, 3.14159 × 10^5 = 314159; 1,000,000 and ١٢٣ and ²³ and Ⅻ.",
    "contractions": "It's, I'm, you're, they've, we'll, he'd, don't; IT'S 'tis 'sup '''",
    "code": "fn main() {\n    let x: Vec<u32> = (0..10).map(|i| i * i).collect();\n}\n",
    "special": f"First document.{EOT}Second one, with a space before {EOT} and after.",
    "mixed": (
        "The softmax of [1.0, 2.0, 3.0] is ≈ [0.09, 0.24, 0.67]. Let's see:\n\n"
        "  naïve → NaN; stable → ok 👍🏾\t\t<|endoftext|>  日本 1️⃣2️⃣ x²+y²   \n"
    ),
}


def corpus() -> bytes:
    files = subprocess.run(
        ["git", "ls-tree", "--name-only", CORPUS_REV, "src/ch01-foundations/"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split()
    return b"".join(
        subprocess.run(["git", "show", f"{CORPUS_REV}:{f}"], cwd=ROOT, check=True,
                       capture_output=True).stdout
        for f in sorted(files)
    )


def encoding(name: str, ranks: dict) -> tiktoken.Encoding:
    return tiktoken.Encoding(name, pat_str=PAT, mergeable_ranks=ranks,
                             special_tokens={EOT: len(ranks)})


def hf_rank_file(path: pathlib.Path) -> tuple[dict, Tokenizer]:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train([str(CORPUS)], trainer)
    model = json.loads(tok.to_str())["model"]
    # ByteLevel maps each byte to a printable character; invert it.
    byte_of = {}
    for b in range(256):
        byte_of[bytes_to_unicode()[b]] = b
    to_bytes = lambda s: bytes(byte_of[c] for c in s)
    ranks = {bytes([b]): b for b in range(256)}
    for i, m in enumerate(model["merges"]):
        left, right = m if isinstance(m, list) else m.split(" ")
        token = to_bytes(left) + to_bytes(right)
        assert token not in ranks, f"HF merge {i} repeats token {token!r}"
        ranks[token] = 256 + i
    path.write_text("".join(
        f"{__import__('base64').b64encode(t).decode()} {r}\n"
        for t, r in sorted(ranks.items(), key=lambda kv: kv[1])))
    return ranks, tok


def bytes_to_unicode() -> dict:
    """GPT-2's byte -> printable character table (the one HF's ByteLevel uses)."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def main() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    CORPUS.write_bytes(corpus())
    book_path = GOLDEN / f"bpe-book-{VOCAB}.tiktoken"
    subprocess.run(
        ["cargo", "run", "--release", "-q", "-p", "ch02-input", "--example", "bpe", "--",
         "train", "--vocab-size", str(VOCAB), "--input", str(CORPUS),
         "--output", str(book_path)],
        cwd=ROOT, check=True,
    )
    book = encoding("book", load_tiktoken_bpe(str(book_path)))
    hf_path = GOLDEN / f"bpe-hf-{VOCAB}.tiktoken"
    hf_ranks, hf_tok = hf_rank_file(hf_path)
    hf = encoding("hf", hf_ranks)
    u2b = {c: b for b, c in bytes_to_unicode().items()}

    cases = {}
    for name, text in TEXTS.items():
        hf_own = [hf_ranks[bytes(u2b[c] for c in t)]
                  for t in hf_tok.encode(text.replace(EOT, "")).tokens] \
            if EOT not in text else None
        case = {
            "text": text,
            "pretokens": regex.findall(PAT, text),
            "book_ordinary": book.encode_ordinary(text),
            "book_special": book.encode(text, allowed_special={EOT}),
            "hf_ordinary": hf.encode_ordinary(text),
            "hf_special": hf.encode(text, allowed_special={EOT}),
        }
        if hf_own is not None:
            case["hf_own_as_ranks"] = hf_own
            if hf_own != case["hf_ordinary"]:
                print(f"MISMATCH HF vs tiktoken on {name}: {hf_own} {case['hf_ordinary']}")
        assert book.decode(case["book_ordinary"]) == text
        cases[name] = case
    out = GOLDEN / "bpe.json"
    doc = {
        "generator": "tools/golden/ch02_bpe.py",
        "tiktoken": tiktoken.__version__,
        "tokenizers": tokenizers.__version__,
        "regex": regex.__version__,
        "pattern": PAT,
        "vocab_size": VOCAB,
        "cases": cases,
    }
    out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    for p in (CORPUS, book_path, hf_path, out):
        print(f"wrote {p.relative_to(ROOT)} ({p.stat().st_size} bytes)")


if __name__ == "__main__":
    sys.exit(main())
