//! Semantic search over the book (section "Semantic search"): the pages are cut into
//! passages of a few paragraphs, each passage becomes one all-MiniLM-L6-v2 vector, and a
//! query is answered with the sections whose best passage lies closest to it. The
//! appendix's retrieval-augmented generation retrieves its context with this index.

use ndarray::{Array1, Array2};

use crate::sentence::SentenceEncoder;

// ANCHOR: passage
/// A piece of a page small enough for the encoder's 256-token window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passage {
    pub page: String,    // e.g. "ch03-attention/sdpa.md"
    pub section: String, // the heading it sits under ("" before the first heading)
    pub text: String,    // the heading, then prose: no code, no display math
}
// ANCHOR_END: passage

/// Lines that carry no prose for a reader to search: listings, includes, display math,
/// figures, tables and raw HTML.
fn is_prose(line: &str) -> bool {
    let l = line.trim_start();
    !(l.starts_with("{{#")
        || l.starts_with("![")
        || l.starts_with('|')
        || l.starts_with('<'))
}

// ANCHOR: passages
/// Splits a markdown page at its headings, drops code fences and $$ blocks, and groups
/// each section's paragraphs into passages of at most `max_words` words (a longer
/// paragraph is cut between words). Every passage starts with its section's heading, so
/// that a short paragraph still says what it is about.
pub fn passages(page: &str, markdown: &str, max_words: usize) -> Vec<Passage> {
    let (mut out, mut section, mut words) = (Vec::new(), String::new(), Vec::new());
    let (mut in_code, mut in_math) = (false, false);
    let mut flush = |section: &str, words: &mut Vec<String>| {
        for chunk in words.chunks(max_words.max(1)) {
            let body = chunk.join(" ");
            let text = if section.is_empty() {
                body
            } else {
                format!("{section}. {body}")
            };
            out.push(Passage {
                page: page.to_owned(),
                section: section.to_owned(),
                text,
            });
        }
        words.clear();
    };
    for line in markdown.lines() {
        let l = line.trim();
        if l.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let one_line_math = l.len() > 4 && l.starts_with("$$") && l.ends_with("$$");
        if !in_code && l.starts_with("$$") && !one_line_math {
            in_math = !in_math;
            continue;
        }
        if in_code || in_math || one_line_math || !is_prose(line) {
            continue;
        }
        if let Some(heading) = l.strip_prefix('#') {
            flush(&section, &mut words);
            section = heading.trim_start_matches('#').trim().to_owned();
        } else if l.is_empty() && words.len() >= max_words / 2 {
            flush(&section, &mut words); // a paragraph ends: a good place to cut
        } else {
            words.extend(l.split_whitespace().map(str::to_owned));
        }
    }
    flush(&section, &mut words);
    out
}
// ANCHOR_END: passages

// ANCHOR: index
/// Every passage and its unit vector: cosine similarity is then a dot product.
pub struct Index {
    pub passages: Vec<Passage>,
    pub vectors: Array2<f32>, // [N, C], rows of length 1
}

/// One answer: a section, its best passage and that passage's cosine similarity.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub passage: usize, // index into `Index::passages`
    pub score: f32,
}

impl Index {
    pub fn build(
        enc: &mut SentenceEncoder,
        passages: Vec<Passage>,
        batch: usize,
    ) -> Self {
        let texts: Vec<&str> = passages.iter().map(|p| p.text.as_str()).collect();
        let vectors = enc.embed_sorted(&texts, batch);
        Index { passages, vectors }
    }

    /// The `k` sections closest to `query`, each by its best passage, best first.
    pub fn search(&self, enc: &mut SentenceEncoder, query: &str, k: usize) -> Vec<Hit> {
        let q: Array1<f32> = enc.embed(&[query]).row(0).to_owned(); // [C]
        let scores = self.vectors.dot(&q); // [N]: cos(query, passage)
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        let mut hits: Vec<Hit> = Vec::new();
        for i in order {
            let p = &self.passages[i];
            let seen = hits.iter().any(|h| {
                let s = &self.passages[h.passage];
                s.page == p.page && s.section == p.section
            });
            if !seen {
                hits.push(Hit {
                    passage: i,
                    score: scores[i],
                });
            }
            if hits.len() == k {
                break;
            }
        }
        hits
    }
}
// ANCHOR_END: index
