//! ROUGE-L (section "Scoring a summary"), as Google's `rouge-score` package computes it
//! with its default tokenizer and no stemming: lower-case, every run of characters
//! other than a-z and 0-9 is a separator; the longest common subsequence (LCS) of the
//! two token lists gives precision, recall and their harmonic mean.

// ANCHOR: tokenize
/// "Anna sold 12 lamps, in Oslo!" -> ["anna", "sold", "12", "lamps", "in", "oslo"].
/// Letters outside a-z (é, ß) are separators too, as `rouge-score` has it.
pub fn tokenize(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}
// ANCHOR_END: tokenize

// ANCHOR: lcs
/// The LCS length by dynamic programming: row i, column j holds the LCS of a[..i] and
/// b[..j]; one row at a time is all it needs.
pub fn lcs_len<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev = vec![0; b.len() + 1];
    for x in a {
        let mut row = vec![0; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
            row[j + 1] = if x == y {
                prev[j] + 1
            } else {
                row[j].max(prev[j + 1])
            };
        }
        prev = row;
    }
    prev[b.len()]
}
// ANCHOR_END: lcs

/// Precision, recall and F-measure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    pub precision: f64,
    pub recall: f64,
    pub fmeasure: f64,
}

// ANCHOR: rouge_l
/// P = LCS / |prediction|, R = LCS / |reference|, F = 2PR / (P + R); all 0 when either
/// side has no token (or nothing in common), as in `rouge-score`.
pub fn rouge_l(reference: &str, prediction: &str) -> Score {
    let (r, p) = (tokenize(reference), tokenize(prediction));
    let zero = Score {
        precision: 0.0,
        recall: 0.0,
        fmeasure: 0.0,
    };
    if r.is_empty() || p.is_empty() {
        return zero;
    }
    let lcs = lcs_len(&r, &p) as f64;
    let (precision, recall) = (lcs / p.len() as f64, lcs / r.len() as f64);
    if precision + recall == 0.0 {
        return zero;
    }
    let fmeasure = 2.0 * precision * recall / (precision + recall);
    Score {
        precision,
        recall,
        fmeasure,
    }
}
// ANCHOR_END: rouge_l
