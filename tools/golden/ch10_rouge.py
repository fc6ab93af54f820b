"""Chapter 10's summary metric: ROUGE-L (precision, recall, F-measure) as Google's
rouge-score computes it with its default tokenizer and no stemming, on pairs chosen to
exercise every rule: case folds, punctuation and non-ASCII letters separate tokens,
repeated tokens match once each, a subsequence need not be contiguous, and an empty
side (or one with no a-z/0-9 token) gives 0, not NaN. Also the tokens, so that the
tokenizer is checked on its own, and ROUGE-1 and ROUGE-2 for the chapter's exercise.

Run: tools/golden/.venv/bin/python tools/golden/ch10_rouge.py
"""
import json
import pathlib

from rouge_score import rouge_scorer, tokenize

ROOT = pathlib.Path(__file__).resolve().parents[2]

# name -> (reference, prediction)
CASES = {
    "identical": ("anna sold 12 lamps in oslo.", "anna sold 12 lamps in oslo."),
    "case_and_punctuation": ("Anna sold 12 lamps, in Oslo!", "anna SOLD 12 lamps in oslo"),
    "in_order_gaps": ("the cat sat on the mat", "the cat was on a mat"),
    "reordered": ("anna sold lamps in oslo", "in oslo anna sold lamps"),
    "repeats_in_prediction": ("a b c", "a a a b b c c"),
    "repeats_in_reference": ("in in in oslo", "in oslo"),
    "no_overlap": ("anna sold lamps", "ben bought chairs"),
    "empty_prediction": ("anna sold lamps", ""),
    "empty_reference": ("", "anna sold lamps"),
    "punctuation_only": ("anna sold lamps", "... !!! ,"),
    "non_ascii_letters": ("café déjà vu", "caf d j vu"),
    "hyphens_and_digits": ("2004-03-23", "2004 03 23"),
    "digit_order": ("2004-03-23", "2004-23-03"),
    "underscores_apostrophes": ("it's the model_name", "it s the model name"),
    "longer_prediction": ("emma sold 34 tables in delhi.", "emma sold 34 tables in delhi on a sunny tuesday."),
}


def main() -> None:
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
    cases = {}
    for name, (reference, prediction) in CASES.items():
        scores = scorer.score(reference, prediction)  # score(target, prediction)
        s = scores["rougeL"]
        cases[name] = {
            "reference": reference,
            "prediction": prediction,
            "reference_tokens": tokenize.tokenize(reference, None),
            "prediction_tokens": tokenize.tokenize(prediction, None),
            "precision": s.precision,
            "recall": s.recall,
            "fmeasure": s.fmeasure,
            # ROUGE-1 and ROUGE-2 (the exercise): clipped n-gram overlap
            "rouge1": [scores["rouge1"].precision, scores["rouge1"].recall, scores["rouge1"].fmeasure],
            "rouge2": [scores["rouge2"].precision, scores["rouge2"].recall, scores["rouge2"].fmeasure],
        }
    doc = {
        "generator": "tools/golden/ch10_rouge.py",
        "rouge-score": "0.1.2",
        "cases": cases,
    }
    path = ROOT / "listings/ch10-encoder-decoder/tests/golden/ch10_rouge.json"
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
