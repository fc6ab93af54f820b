"""Chapter 8's entity-level metric: seqeval's precision, recall and F1 (default mode:
conlleval-style chunking, micro average) on tag sequences chosen to exercise every rule:
an I- after O or after another type starts an entity, B- after B- splits, a span must
match exactly (type, start and end) to count, and empty predictions give 0, not NaN.

Run: tools/golden/.venv/bin/python tools/golden/ch08_seqeval.py
"""
import json
import pathlib

import seqeval
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

ROOT = pathlib.Path(__file__).resolve().parents[2]

# name -> (true sentences, predicted sentences)
CASES = {
    "perfect": (
        [["B-PER", "I-PER", "O", "B-LOC"]],
        [["B-PER", "I-PER", "O", "B-LOC"]],
    ),
    "span_too_short": (
        [["B-PER", "I-PER", "O", "B-LOC", "I-LOC"]],
        [["B-PER", "O", "O", "B-LOC", "I-LOC"]],
    ),
    "wrong_type": (
        [["B-ORG", "I-ORG", "O"]],
        [["B-LOC", "I-LOC", "O"]],
    ),
    "i_after_o_starts_entity": (
        [["O", "B-PER", "I-PER", "O"]],
        [["O", "I-PER", "I-PER", "O"]],
    ),
    "i_of_other_type_splits": (
        [["B-PER", "I-PER", "I-PER"]],
        [["B-PER", "I-LOC", "I-PER"]],
    ),
    "b_after_b_splits": (
        [["B-LOC", "B-LOC", "O"]],
        [["B-LOC", "I-LOC", "O"]],
    ),
    "entity_at_end": (
        [["O", "O", "B-ORG", "I-ORG"]],
        [["O", "O", "B-ORG", "I-ORG"]],
    ),
    "no_predictions": (
        [["B-PER", "O"], ["O", "B-LOC"]],
        [["O", "O"], ["O", "O"]],
    ),
    "no_true_entities": (
        [["O", "O", "O"]],
        [["O", "B-PER", "O"]],
    ),
    "nothing_anywhere": (
        [["O", "O"]],
        [["O", "O"]],
    ),
    "across_sentences": (
        [["O", "B-PER"], ["I-PER", "O"], ["B-ORG", "I-ORG", "I-ORG", "O", "B-LOC"]],
        [["O", "B-PER"], ["I-PER", "O"], ["B-ORG", "I-ORG", "O", "O", "B-LOC"]],
    ),
    "mixed": (
        [
            ["B-PER", "I-PER", "O", "O", "B-ORG", "O", "B-LOC", "I-LOC"],
            ["O", "B-LOC", "O", "B-PER", "O"],
            ["B-ORG", "I-ORG", "O", "B-PER", "I-PER", "I-PER"],
        ],
        [
            ["B-PER", "I-PER", "O", "O", "B-LOC", "O", "B-LOC", "I-LOC"],
            ["O", "B-LOC", "I-LOC", "B-PER", "O"],
            ["I-ORG", "I-ORG", "O", "B-PER", "I-PER", "B-PER"],
        ],
    ),
}


def main() -> None:
    cases = {}
    for name, (y_true, y_pred) in CASES.items():
        assert [len(s) for s in y_true] == [len(s) for s in y_pred], name
        cases[name] = {
            "true": y_true,
            "pred": y_pred,
            # (type, start, end) in each sentence, end inclusive, as get_entities gives
            "true_entities": [get_entities(s) for s in y_true],
            "pred_entities": [get_entities(s) for s in y_pred],
            "precision": precision_score(y_true, y_pred, zero_division=0),
            "recall": recall_score(y_true, y_pred, zero_division=0),
            "f1": f1_score(y_true, y_pred, zero_division=0),
        }
    doc = {
        "generator": "tools/golden/ch08_seqeval.py",
        "seqeval": "1.2.2",
        "cases": cases,
    }
    path = ROOT / "listings/ch08-encoder-only/tests/golden/seqeval.json"
    path.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
