"""Chapter 9 fixture for the real GPT-2 tokenizer: tiktoken's `gpt2` encoding.

tiktoken's `gpt2` encoding downloads its ranks from OpenAI's servers; the book has no
network at test time, so this script builds the same Encoding from the rank file the
models cache holds (`cargo xtask models` takes it from the `openai-whisper` package:
whisper/assets/gpt2.tiktoken, whose sha256 is the one tiktoken pins for r50k_base, the
same 50,256 ranks), with the pattern and special token of tiktoken_ext/openai_public.py.
It writes listings/ch09-decoder-only/tests/golden/gpt2_tokenizer.json: per text its ids
from `encode_ordinary` (special-token text is plain text), and for one text the ids of
`encode` with `<|endoftext|>` allowed.
"""
import hashlib
import json

import tiktoken
from tiktoken.load import load_tiktoken_bpe
from tiktoken_ext import openai_public

from ch09_gguf import OUT, ROOT, cache_dir

RANKS = cache_dir() / "openai-whisper-assets" / "gpt2.tiktoken"
SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"

TEXTS = {
    "empty": "",
    "plain": "The quick brown fox jumps over the lazy dog.",
    "digits": "In 2024, 3.14159 and 1,000,000 and 0x1F and 42nd and 007 and 123456789.",
    "whitespace": "  two spaces,\ta tab,   three\n\nnewlines \n  and trailing   ",
    "newlines": "line one\nline two\r\n\r\nline four\n\n\n",
    "contractions": "It's what they'll say, I'd think; we're sure you've seen THEY'RE don't.",
    "accents": "Crème brûlée à la française, s'il vous plaît: naïve café!",
    "cjk": "東京は日本の首都です。机器学习很有趣。한국어도 있습니다.",
    "emoji": "I love pizza 🍕 and sunshine 😀👍🏽 👨‍👩‍👧",
    "code": "fn main() {\n    let x: Vec<u32> = (0..10).map(|i| i * i).collect();\n    println!(\"{x:?}\");\n}\n",
    "python": "def f(a, b=2):\n\treturn a ** b  # power\n",
    "endoftext": "end of one<|endoftext|>start of the next",
    "math": "E = mc², ∑_{i=1}^{n} x_i ≤ √2 · π ≈ 3.14",
    "unicode_space": "a\u00a0b\u3000c\u2028d \u200be",
}
# One page of the book itself, as it was when the fixture was written (the text is kept).
BOOK_PAGE = ROOT / "src/ch02-input/bpe.md"


def main() -> None:
    data = RANKS.read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHA256, f"{RANKS}: not the pinned file"
    ranks = load_tiktoken_bpe(str(RANKS))
    enc = tiktoken.Encoding(
        "gpt2",
        pat_str=openai_public.r50k_pat_str,
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 50256},
        explicit_n_vocab=50257,
    )
    texts = dict(TEXTS)
    texts["book_page"] = BOOK_PAGE.read_text(encoding="utf-8")[:6000]
    cases = {name: {"text": t, "ids": enc.encode_ordinary(t)} for name, t in texts.items()}
    cases["endoftext_allowed"] = {
        "text": TEXTS["endoftext"],
        "ids": enc.encode(TEXTS["endoftext"], allowed_special={"<|endoftext|>"}),
    }
    doc = {
        "generator": "tools/golden/ch09_gpt2_tokenizer.py",
        "tiktoken": tiktoken.__version__,
        "ranks_sha256": SHA256,
        "pat_str": openai_public.r50k_pat_str,
        "cases": cases,
    }
    # One line a case: the ids of a whole page would make thousands of lines.
    lines = [
        f" {json.dumps(name)}: {json.dumps(case, ensure_ascii=False)}"
        for name, case in cases.items()
    ]
    head = {k: v for k, v in doc.items() if k != "cases"}
    text = json.dumps(head, indent=1, ensure_ascii=False)[:-2]
    text += ',\n "cases": {\n' + ",\n".join(" " + line for line in lines) + "\n }\n}\n"
    json.loads(text)
    path = OUT / "gpt2_tokenizer.json"
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
