//! Semantic search over the book (section "Semantic search"): the pages are cut into
//! passages of a few paragraphs, each passage becomes one all-MiniLM-L6-v2 vector, and a
//! query is answered with the sections whose best passage lies closest to it. The
//! appendix's retrieval-augmented generation retrieves its context with this index.

use ndarray::{Array1, Array2};

use crate::book_corpus::FENCE;
use crate::sentence::SentenceEncoder;

// ANCHOR: passage
/// A piece of a page small enough for the encoder's 256-token window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passage {
    pub page: String,    // e.g. "src/ch03-attention/mha.md"
    pub section: String, // the `##` or `###` heading it sits under ("" before one)
    pub text: String,    // the heading, then prose: no code, no display math
}
// ANCHOR_END: passage

// ANCHOR: prose_lines
/// The lines of a markdown page a reader would call prose, and its headings: code
/// fences, display math ($$ on a line of its own, or a one-line $$ … $$), includes,
/// figures, tables and HTML (so the frozen copy's page marks too) are left out.
pub fn prose_lines(markdown: &str) -> impl Iterator<Item = &str> {
    let (mut in_code, mut in_math) = (false, false);
    markdown.lines().map(str::trim).filter(move |l| {
        let fence = l.starts_with(FENCE);
        in_code ^= fence;
        let math = !in_code && l.starts_with("$$");
        let one_line_math = math && l.len() > 4 && l.ends_with("$$");
        in_math ^= math && !one_line_math;
        let other = ["{{#", "![", "|", "<"].iter().any(|p| l.starts_with(p));
        !(fence || in_code || math || in_math || other)
    })
}
// ANCHOR_END: prose_lines

// ANCHOR: passages
/// Groups each section's prose into passages of at most `max_words` words, cut at a
/// paragraph's end once half full (a longer paragraph is cut between words). A passage
/// starts with its heading (or the page's title), so a short one names its subject.
pub fn passages(page: &str, markdown: &str, max_words: usize) -> Vec<Passage> {
    let (mut out, mut title, mut section) = (Vec::new(), "", "");
    let mut words: Vec<&str> = Vec::new();
    let mut flush = |title: &str, section: &str, words: &mut Vec<&str>| {
        for chunk in words.chunks(max_words.max(1)) {
            let heading = if section.is_empty() { title } else { section };
            let (page, section) = (page.to_owned(), section.to_owned());
            let text = format!("{heading}. {}", chunk.join(" "));
            out.push(Passage {
                page,
                section,
                text,
            });
        }
        words.clear();
    };
    for l in prose_lines(markdown) {
        if let Some(heading) = l.strip_prefix('#') {
            flush(title, section, &mut words);
            match heading.strip_prefix('#') {
                Some(sub) => section = sub.trim_start_matches('#').trim(), // ##, ###, …
                None => (title, section) = (heading.trim(), ""),
            }
        } else if l.is_empty() && words.len() >= max_words / 2 {
            flush(title, section, &mut words); // a paragraph ends: a good place to cut
        } else {
            words.extend(l.split_whitespace());
        }
    }
    flush(title, section, &mut words);
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

// ANCHOR_END: index

// ANCHOR: search
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
// ANCHOR_END: search

/// The queries the section asks: five the book answers, and one it does not.
pub const QUERIES: [&str; 6] = [
    "How do I keep the model from attending to padding?",
    "Why divide the scores by the square root of d_k?",
    "How does the tokenizer split a word it has never seen?",
    "Why does the learning rate warm up?",
    "How does beam search choose a translation?",
    "What is the capital of France?",
];

/// Every page of Chapters 1 to 7 (the frozen copy), as passages of at most 80 words.
pub fn book_passages() -> Vec<Passage> {
    let pages = crate::book_corpus::book_pages();
    (pages.iter())
        .flat_map(|p| passages(&p.name, p.text, 80))
        .collect()
}

// ANCHOR: search_report
/// The top `k` sections for each query, scores rounded to 2 decimals.
pub fn search_report(
    index: &Index,
    enc: &mut SentenceEncoder,
    queries: &[&str],
    k: usize,
) -> String {
    let mut s = String::new();
    for q in queries {
        s += &format!("{q}\n");
        for hit in index.search(enc, q, k) {
            let p = &index.passages[hit.passage];
            let place = if p.section.is_empty() {
                "(top of page)"
            } else {
                &p.section
            };
            s += &format!("  {:.2}  {}  {place}\n", hit.score, p.page);
        }
    }
    s
}
// ANCHOR_END: search_report
