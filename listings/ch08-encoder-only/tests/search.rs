//! Semantic search over the book (needs `cargo xtask models`): passages cut from the
//! frozen Chapters 1-7, embedded by the real all-MiniLM-L6-v2, and the top-3 sections
//! for the section's queries, rounded to 2 decimals.

mod common;

use ch08_encoder_only::search::{Index, QUERIES, book_passages, passages, search_report};

#[test]
fn passages_leave_out_code_and_math_and_keep_their_heading() {
    let page = "# Title\n\nIntro words here.\n\n```rust\nlet x = 1;\n```\n\n## Part\n\n$$\nx^2\n$$\n\nProse about a part.\n{{#include f.rs:a}}\n";
    let got = passages("p.md", page, 50);
    let texts: Vec<&str> = got.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(
        texts,
        ["Title. Intro words here.", "Part. Prose about a part."]
    );
    assert_eq!(got[1].section, "Part");
    // A long paragraph is cut between words, never dropped.
    let long = format!("# T\n{}\n", vec!["w"; 25].join(" "));
    let words: usize = passages("p", &long, 10)
        .iter()
        .map(|p| p.text.split_whitespace().count() - 1)
        .sum();
    assert_eq!(words, 25);
}

#[test]
fn the_book_answers_its_own_questions() {
    let mut enc = common::minilm().lock().unwrap();
    let passages = book_passages();
    let over: Vec<usize> = (passages.iter())
        .map(|p| enc.tokenize(&p.text).full_len)
        .filter(|&n| n > 256)
        .collect();
    assert_eq!(
        (passages.len(), over.len()),
        (703, 1),
        "the counts the text gives"
    );
    let index = Index::build(&mut enc, passages, 32);
    let report = search_report(&index, &mut enc, &QUERIES, 3);
    insta::assert_snapshot!("book-search", report);
    // What the text says: four queries find the section that answers them first; the
    // padding query finds a sliding-window exercise first and the two sections on
    // padding second and third; the off-topic query's best score is below every other
    // query's best.
    let mut sections = |q: &str| -> Vec<(String, f32)> {
        let hits = index.search(&mut enc, q, 3);
        (hits.iter())
            .map(|h| (index.passages[h.passage].section.clone(), h.score))
            .collect()
    };
    let firsts = [
        "Why divide by $\\sqrt{d_k}$",
        "The basic tokenizer",
        "The Noam schedule",
        "Length normalisation",
    ];
    let mut lowest = f32::INFINITY;
    for (q, want) in QUERIES[1..5].iter().zip(firsts) {
        let top = sections(q);
        assert_eq!(top[0].0, want, "{q}");
        lowest = lowest.min(top[0].1);
    }
    let padding: Vec<String> = sections(QUERIES[0]).into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        padding,
        [
            "1. Past the context: a sliding window",
            "Padding",
            "Padding on both sides"
        ]
    );
    let off_topic = sections(QUERIES[5])[0].1;
    assert!(
        off_topic < sections(QUERIES[0])[0].1 && off_topic < lowest,
        "{off_topic}"
    );
}
