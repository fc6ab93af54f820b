//! Entity-level precision, recall and F1 (section "Fine-tuning"), as seqeval computes
//! them by default: BIO tags are cut into chunks conlleval's way, and a predicted entity
//! counts only if its type, first and last word all match a true one.

use std::collections::BTreeSet;

/// A tag that is not `O`, `B-TYPE` or `I-TYPE`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("tag {tag:?} in sentence {sentence}: expected O, B-TYPE or I-TYPE")]
pub struct TagError {
    pub sentence: usize,
    pub tag: String,
}

/// One entity: its type and its first and last word (inclusive), seqeval's triple.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entity {
    pub kind: String,
    pub start: usize,
    pub end: usize,
}

// ANCHOR: entities
/// The entities of one sentence's tags. An entity starts at `B-X`, and also at `I-X`
/// when the previous tag is `O` or of another type (conlleval's lenient rule, seqeval's
/// default); it ends before `O`, before a `B-`, and before a tag of another type.
pub fn entities(tags: &[&str], sentence: usize) -> Result<Vec<Entity>, TagError> {
    let mut out = Vec::new();
    let mut open: Option<(String, usize)> = None; // (type, start) of the current entity
    for (i, &tag) in tags.iter().enumerate() {
        let bad = || TagError {
            sentence,
            tag: tag.to_owned(),
        };
        let (prefix, kind) = match tag.split_once('-') {
            Some((p @ ("B" | "I"), kind)) if !kind.is_empty() => (p, kind),
            None if tag == "O" => ("O", ""),
            _ => return Err(bad()),
        };
        let continues = prefix == "I" && open.as_ref().is_some_and(|(k, _)| k == kind);
        if !continues {
            if let Some((kind, start)) = open.take() {
                out.push(Entity {
                    kind,
                    start,
                    end: i - 1,
                });
            }
            if prefix != "O" {
                open = Some((kind.to_owned(), i));
            }
        }
    }
    if let Some((kind, start)) = open {
        out.push(Entity {
            kind,
            start,
            end: tags.len() - 1,
        });
    }
    Ok(out)
}
// ANCHOR_END: entities

/// Micro-averaged scores over a corpus, and the counts they come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub correct: usize,
    pub predicted: usize,
    pub actual: usize,
}

// ANCHOR: prf
/// P = correct / predicted, R = correct / true, F1 = 2PR / (P + R), over all sentences
/// at once (micro average); an empty denominator gives 0, as seqeval with
/// `zero_division=0` does. `truth[i]` and `pred[i]` tag the same words.
pub fn precision_recall_f1(
    truth: &[Vec<&str>],
    pred: &[Vec<&str>],
) -> Result<Scores, TagError> {
    let n = (truth.len(), pred.len());
    assert!(n.0 == n.1, "precision_recall_f1: {n:?} sentences");
    let (mut want, mut got) = (BTreeSet::new(), BTreeSet::new());
    for (s, (t, p)) in truth.iter().zip(pred).enumerate() {
        assert!(
            t.len() == p.len(),
            "sentence {s}: {:?} tags",
            (t.len(), p.len())
        );
        // (sentence, entity): the same span in two sentences is two entities
        want.extend(entities(t, s)?.into_iter().map(|e| (s, e)));
        got.extend(entities(p, s)?.into_iter().map(|e| (s, e)));
    }
    let correct = want.intersection(&got).count();
    let (predicted, actual) = (got.len(), want.len());
    let precision = ratio(correct as f64, predicted as f64);
    let recall = ratio(correct as f64, actual as f64);
    let f1 = ratio(2.0 * precision * recall, precision + recall);
    Ok(Scores {
        precision,
        recall,
        f1,
        correct,
        predicted,
        actual,
    })
}

/// a / b, and 0 when b is 0.
fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}
// ANCHOR_END: prf
