"""Chapter 9 fixture for exercise 3: SmolLM2-Instruct's chat template on whole
conversations (a system turn or none, several turns, with and without the generation
prompt), rendered by Hugging Face transformers from the template stored in the GGUF.
Writes listings/ch09-decoder-only/tests/golden/chat.json: per case its turns, the flag
and the rendered text.
"""
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import transformers
from transformers import AutoTokenizer

from ch09_gguf import GGUF_PATH, OUT

CONVERSATIONS = {
    "one_user_turn": ([("user", "What is the capital of France?")], True),
    "own_system": ([("system", "Answer in one word."), ("user", "Capital of Italy?")], True),
    "three_turns": (
        [
            ("user", "Name a prime."),
            ("assistant", "7"),
            ("user", "Another one, please.\nBigger than 10."),
        ],
        True,
    ),
    "no_generation_prompt": ([("user", "Hi"), ("assistant", "Hello! 👋")], False),
    "empty_content": ([("user", "")], True),
}


def main() -> None:
    tok = AutoTokenizer.from_pretrained(str(GGUF_PATH.parent), gguf_file=GGUF_PATH.name)
    cases = {}
    for name, (turns, gen) in CONVERSATIONS.items():
        messages = [{"role": r, "content": c} for r, c in turns]
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)
        cases[name] = {"turns": turns, "add_generation_prompt": gen, "text": text}
    doc = {
        "generator": "tools/golden/ch09_chat.py",
        "transformers": transformers.__version__,
        "cases": cases,
    }
    path = OUT / "chat.json"
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
