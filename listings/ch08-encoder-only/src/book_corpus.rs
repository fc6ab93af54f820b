//! The corpus BERT is pretrained on (section "Pretraining on the book"): the book's
//! own text, Chapters 1 to 7, frozen.
//!
//! Chapter 1 is Chapter 2's frozen copy (`ch02_input::corpus::BOOK_CH01`, its pages
//! joined, each starting at its `# ` title). Chapters 2 to 7 are frozen here, in
//! `data/book-ch02-ch07.md`: every `src/ch02-*/ … src/ch07-*/*.md` page as of commit
//! 7982cac, in file-name order, each after a line `<!-- page: src/ch…/name.md -->`.
//! The outputs the section shows must not change whenever someone edits a sentence.
//!
//! A page is a document: NSP's NotNext B comes from another page, so from another topic.
//! Sentences are the page's prose, cut simply: code blocks, display math, tables,
//! headings and `{{#include}}` lines are left out, a blank line ends a paragraph, and
//! within a paragraph a sentence ends at `.`, `?` or `!` followed by a space.

use ch02_input::corpus::BOOK_CH01;

/// Chapters 2 to 7 as of commit 7982cac.
pub const BOOK_CH02_CH07: &str = include_str!("../data/book-ch02-ch07.md");

/// A code fence, written with escapes so that an excerpt of this crate can be shown
/// inside one without ending it.
pub const FENCE: &str = "\u{60}\u{60}\u{60}";

/// The line that starts each page of [`BOOK_CH02_CH07`].
pub const PAGE_MARK: &str = "<!-- page: ";

/// One page of the book: its name (a path or, for Chapter 1, its title) and markdown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub name: String,
    pub text: &'static str,
}

/// Every page of Chapters 1 to 7, in book order.
pub fn book_pages() -> Vec<Page> {
    let mut pages = chapter1_pages(BOOK_CH01);
    for chunk in BOOK_CH02_CH07.split(PAGE_MARK).filter(|c| !c.is_empty()) {
        let (head, text) = chunk.split_once('\n').unwrap_or((chunk, ""));
        let name = head.trim_end_matches(" -->").to_owned();
        pages.push(Page { name, text });
    }
    pages
}

/// Chapter 1's copy has no marks: a page starts at a `# ` title outside a code block.
fn chapter1_pages(text: &'static str) -> Vec<Page> {
    let mut starts = Vec::new();
    let (mut offset, mut in_code) = (0, false);
    for line in text.split_inclusive('\n') {
        in_code ^= line.starts_with(FENCE);
        if !in_code && line.starts_with("# ") {
            starts.push(offset);
        }
        offset += line.len();
    }
    starts.push(text.len());
    (starts.windows(2))
        .map(|w| {
            let text = &text[w[0]..w[1]];
            let title = text.lines().next().unwrap_or("").trim_start_matches("# ");
            Page {
                name: format!("ch01: {title}"),
                text,
            }
        })
        .collect()
}

/// The line that opens and closes display math (not written inside the excerpt below:
/// the book's math renderer would read it as a formula).
const DISPLAY_MATH: &str = "$$";

// ANCHOR: sentences
/// The prose of a markdown page, cut into sentences: code, display math, tables,
/// headings and includes are not prose; a blank line ends a paragraph; a sentence ends
/// at `.`, `?` or `!` before a space. Simple, and wrong on "e.g. x": good enough.
pub fn sentences(page: &str) -> Vec<String> {
    let (mut out, mut paragraph) = (Vec::new(), String::new());
    let (mut in_code, mut in_math) = (false, false);
    for line in page.lines().map(str::trim) {
        let fence = line.starts_with(FENCE);
        let math = line.starts_with(DISPLAY_MATH);
        in_code ^= fence;
        in_math ^= math && !in_code;
        let skip = ["|", "#", "{{#", "<!--"]
            .iter()
            .any(|p| line.starts_with(p));
        if in_code || fence || in_math || math || skip || line.is_empty() {
            split_into(&paragraph, &mut out); // anything not prose ends a paragraph
            paragraph.clear();
        } else {
            paragraph.push_str(line);
            paragraph.push(' ');
        }
    }
    split_into(&paragraph, &mut out);
    out
}

fn split_into(paragraph: &str, out: &mut Vec<String>) {
    let mut start = 0;
    let bytes = paragraph.as_bytes();
    for i in 1..bytes.len() {
        if bytes[i] == b' ' && matches!(bytes[i - 1], b'.' | b'?' | b'!') {
            push_nonempty(&paragraph[start..i], out);
            start = i + 1;
        }
    }
    push_nonempty(&paragraph[start..], out);
}
// ANCHOR_END: sentences

fn push_nonempty(sentence: &str, out: &mut Vec<String>) {
    if !sentence.trim().is_empty() {
        out.push(sentence.trim().to_owned());
    }
}

/// The pages split into training and held-out pages: every `every`-th page (the
/// `every - 1`-th, counting from 0) is held out whole, so no held-out sentence, and
/// no neighbour of one, is ever trained on.
pub fn split_pages(pages: &[Page], every: usize) -> (Vec<Page>, Vec<Page>) {
    assert!(
        every >= 2,
        "split_pages: every = {every} would hold out every page"
    );
    let (mut train, mut heldout) = (Vec::new(), Vec::new());
    for (i, page) in pages.iter().enumerate() {
        if i % every == every - 1 {
            heldout.push(page.clone())
        } else {
            train.push(page.clone())
        }
    }
    (train, heldout)
}
