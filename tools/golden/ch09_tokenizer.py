"""Chapter 9 fixture for the tokenizer stored in SmolLM2-135M-Instruct's GGUF.

Hugging Face transformers builds a tokenizer from the GGUF's metadata
(AutoTokenizer.from_pretrained(dir, gguf_file=...)); this script runs it on varied text
and writes listings/ch09-decoder-only/tests/golden/tokenizer.json: per text its ids (as
`tok.encode(text)` gives them: special tokens in the text are matched whole, no BOS is
added), and the chat prompt of one user turn (apply_chat_template with a generation
prompt), as text and ids.
"""
import json
import os
import pathlib

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import transformers
from transformers import AutoTokenizer

from ch09_gguf import GGUF_PATH, OUT

TEXTS = {
    "empty": "",
    "plain": "The quick brown fox jumps over the lazy dog.",
    "digits": "In 2024, 3.14159 and 1,000,000 and 0x1F and 42nd and 007.",
    "whitespace": "  two spaces,\ta tab,   three\n\nnewlines \n  and trailing   ",
    "accents": "Crème brûlée à la française, s'il vous plaît: naïve café!",
    "cjk": "東京は日本の首都です。机器学习很有趣。",
    "emoji": "I love pizza 🍕 and sunshine 😀👍🏽",
    "code": "fn main() {\n    let x: Vec<u32> = (0..10).map(|i| i * i).collect();\n    println!(\"{x:?}\");\n}\n",
    "python": "def f(a, b=2):\n\treturn a ** b  # power\n",
    "contractions": "It's what they'll say, I'd think; we're sure you've seen THEY'RE.",
    "specials": "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    "special_like": "<|im_start |> and <|endoftext|> and <|im_en",
    # Bytes 0x04, 0x06 and 0x1d are not in SmolLM2's vocabulary.
    "missing_bytes": "a\x04b \x1dc\x06 d",
    "math": "E = mc², ∑_{i=1}^{n} x_i ≤ √2 · π ≈ 3.14",
}

CHAT_USER = "What is the capital of France?"


def main() -> None:
    tok = AutoTokenizer.from_pretrained(str(GGUF_PATH.parent), gguf_file=GGUF_PATH.name)
    cases = {}
    for name, text in TEXTS.items():
        cases[name] = {"text": text, "ids": tok.encode(text)}
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": CHAT_USER}], tokenize=False, add_generation_prompt=True
    )
    cases["chat"] = {"user": CHAT_USER, "text": prompt, "ids": tok.encode(prompt)}
    doc = {
        "generator": "tools/golden/ch09_tokenizer.py",
        "transformers": transformers.__version__,
        "cases": cases,
    }
    path = OUT / "tokenizer.json"
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
