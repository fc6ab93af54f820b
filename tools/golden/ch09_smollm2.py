"""Chapter 9 fixture: SmolLM2-135M-Instruct's logits from Hugging Face transformers,
loading the same GGUF in float32 (AutoModelForCausalLM.from_pretrained(dir,
gguf_file=..., dtype=float32), which dequantizes with the gguf package).

Writes listings/ch09-decoder-only/tests/golden/smollm2_logits.json: per prompt the ids
(from the tokenizer HF builds from the GGUF), and per position the top-5 ids and logits,
the logits of a fixed set of ids, and the max, mean and standard deviation of the row;
and the greedy continuation (32 new tokens, or fewer if it ends) with the top-1/top-2
logit margin at each step.
"""
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

from ch09_gguf import GGUF_PATH, OUT

PROMPTS = {
    "plain": "The capital of France is",
    "code": "def add(a, b):\n    return",
    "chat": "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n",
}
GREEDY_TOKENS = 32
FIXED_IDS = [0, 1, 2, 17, 100, 216, 1000, 5000, 10000, 20000, 30000, 40000, 49151]


def main() -> None:
    torch.manual_seed(0)
    d, f = str(GGUF_PATH.parent), GGUF_PATH.name
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32)
    model.eval()
    cases = {}
    for name, text in PROMPTS.items():
        ids = tok.encode(text)
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].to(torch.float32)
        rows = []
        for row in logits:
            top = torch.topk(row, 5)
            rows.append({
                "top_ids": top.indices.tolist(),
                "top_logits": top.values.tolist(),
                "fixed": row[FIXED_IDS].tolist(),
                "max": row.max().item(),
                "mean": row.mean().item(),
                "std": row.std(unbiased=False).item(),
            })
        with torch.no_grad():
            gen = model.generate(
                torch.tensor([ids]), max_new_tokens=GREEDY_TOKENS, do_sample=False,
                output_scores=True, return_dict_in_generate=True,
                pad_token_id=tok.eos_token_id,
            )
        new = gen.sequences[0, len(ids):].tolist()
        margins = []
        for step in gen.scores:
            top2 = torch.topk(step[0].to(torch.float32), 2).values
            margins.append((top2[0] - top2[1]).item())
        cases[name] = {
            "text": text, "ids": ids, "positions": rows,
            "greedy": new, "greedy_margins": margins,
        }
    doc = {
        "generator": "tools/golden/ch09_smollm2.py",
        "transformers": transformers.__version__,
        "torch": torch.__version__.split("+")[0],
        "fixed_ids": FIXED_IDS,
        "cases": cases,
    }
    path = OUT / "smollm2_logits.json"
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
