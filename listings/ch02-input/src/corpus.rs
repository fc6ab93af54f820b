//! The corpus the chapter trains and compares its tokenizers on: the book's own text.
//!
//! It is a frozen copy of Chapter 1 (`data/book-ch01.md`, the chapter's markdown pages
//! concatenated in file-name order, as of commit 45e0a04), not the live `src/` tree: the
//! outputs the chapter shows must not change whenever someone edits a sentence of Chapter
//! 1.

/// Chapter 1's markdown, as of when this chapter's outputs were recorded.
pub const BOOK_CH01: &str = include_str!("../data/book-ch01.md");
