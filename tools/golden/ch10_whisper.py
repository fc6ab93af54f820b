"""Chapter 10 fixture: the real Whisper tiny.en run by CTranslate2 itself, on the
model.bin the book reads (`cargo xtask models` puts it in the cache).

The input is a synthetic log-mel both sides compute from one formula,
x[c, t] = 0.6 sin(0.37 c + 0.011 t) - 0.2 (evaluated in float64, stored as float32),
shape [1, 80, 3000]: no audio front end is involved, so the comparison is of the model
alone. CTranslate2 on the CPU converts the fp16 weights to float32 and computes in
float32 (compute_type="float32"), as the book does.

Writes listings/ch10-encoder-decoder/tests/golden/whisper_ct2.json: rows of the
encoder output and its summary over all 1500 x 384 values; the greedy token ids from the
prompt <|startoftranscript|> <|notimestamps|> with the config's suppress rules; per step
the top-5 logits and the top-1/top-2 margin; and the ids decoded to text by the
Hugging Face tokenizer in tokenizer.json. Two prompts: the bare one, and one with the
text " The quick brown fox" forced after it (the synthetic input alone gives one token
and <|endoftext|>).
"""
import json
import os
import pathlib

import ctranslate2
import numpy as np
import tokenizers

from common import ROOT



def cache_dir() -> pathlib.Path:
    """The models cache, found as tools/models finds it."""
    if os.environ.get("BOOK_MODELS_DIR"):
        return pathlib.Path(os.environ["BOOK_MODELS_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(pathlib.Path.home() / ".cache")
    return pathlib.Path(base) / "transformers-deep-dive" / "models"

OUT = "listings/ch10-encoder-decoder/tests/golden/whisper_ct2.json"
PROMPT = [50257, 50362]  # <|startoftranscript|> <|notimestamps|>
MAX_LENGTH = 64  # CTranslate2 then generates at most min(64 / 2, 64 - 1) = 32 tokens
ROWS = [0, 1, 2, 500, 749, 1498, 1499]
# Text forced after the prompt (CTranslate2 takes prompt tokens after <|notimestamps|> as a
# prefix the decoder must produce), then greedy; "plain" forces nothing.
PREFIXES = {"plain": None, "fox": " The quick brown fox"}


def synthetic_mel() -> np.ndarray:
    c = np.arange(80, dtype=np.float64)[:, None]
    t = np.arange(3000, dtype=np.float64)[None, :]
    return (0.6 * np.sin(0.37 * c + 0.011 * t) - 0.2).astype(np.float32)[None]


def main() -> None:
    model_dir = cache_dir() / "whisper-tiny.en-ct2"
    model = ctranslate2.models.Whisper(
        str(model_dir), device="cpu", compute_type="float32", intra_threads=1
    )
    mel = synthetic_mel()
    features = ctranslate2.StorageView.from_array(mel)
    enc = np.array(model.encode(features, to_cpu=True))[0]  # [1500, 384]
    tok = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    greedy = {}
    for name, prefix in PREFIXES.items():
        forced = tok.encode(prefix, add_special_tokens=False).ids if prefix else []
        result = model.generate(
            features,
            [PROMPT + forced],
            beam_size=1,
            max_length=MAX_LENGTH,
            return_logits_vocab=True,
            suppress_blank=True,
            suppress_tokens=[-1],
        )[0]
        ids = result.sequences_ids[0]
        steps = []
        for logits in result.logits[0]:
            row = np.array(logits, dtype=np.float32).reshape(-1)
            top = np.argsort(-row, kind="stable")[:5]
            steps.append(
                {
                    "top_ids": [int(i) for i in top],
                    "top_logits": [float(row[i]) for i in top],
                    "margin": float(row[top[0]] - row[top[1]]),
                }
            )
        text = tok.decode(ids, skip_special_tokens=True)
        greedy[name] = {"forced": forced, "ids": [int(i) for i in ids], "steps": steps, "text": text}
        print(f"{name}: {ids} {text!r}; margins {[round(s['margin'], 3) for s in steps]}")
    cases = {
        "formula": "x[c, t] = 0.6 sin(0.37 c + 0.011 t) - 0.2, float64 then float32, [1, 80, 3000]",
        "prompt": PROMPT,
        "max_length": MAX_LENGTH,
        "encoder": {
            "shape": list(enc.shape),
            "rows": ROWS,
            "data": [[float(v) for v in enc[r]] for r in ROWS],
            "mean": float(enc.astype(np.float64).mean()),
            "std": float(enc.astype(np.float64).std()),
            "max_abs": float(np.abs(enc).max()),
            "sum_abs": float(np.abs(enc.astype(np.float64)).sum()),
        },
        "greedy": greedy,
    }
    doc = {
        "generator": "tools/golden/ch10_whisper.py",
        "ctranslate2": ctranslate2.__version__,
        "cases": cases,
    }
    path = ROOT / OUT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
