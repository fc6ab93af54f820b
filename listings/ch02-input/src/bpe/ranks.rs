//! tiktoken's `.tiktoken` rank files: one token a line, `base64(token bytes) rank`.
//!
//! Rules, the same as tiktoken's `load_tiktoken_bpe` and `CoreBPE::new` where they have
//! one: empty lines are skipped; a line has exactly two fields separated by one space; no
//! token and no rank appears twice; ranks may have gaps (tiktoken allows them, and
//! `cl100k_base` has one). The file must be UTF-8 (base64 is ASCII).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustc_hash::{FxHashMap, FxHashSet};

use super::{BpeError, Rank};

// ANCHOR: parse
/// Parses the text of a rank file; `file` names it in errors.
pub fn parse_tiktoken(text: &[u8], file: &str) -> Result<Vec<(Vec<u8>, Rank)>, BpeError> {
    let mut ranks = Vec::new();
    let (mut seen_tokens, mut seen_ranks) = (FxHashSet::default(), FxHashSet::default());
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let err = |msg: String| BpeError::Line {
            file: file.into(),
            line: i + 1,
            msg,
        };
        let line = std::str::from_utf8(line.strip_suffix(b"\r").unwrap_or(line))
            .map_err(|e| err(format!("not UTF-8: {e}")))?;
        if line.is_empty() {
            continue;
        }
        let (token, rank) = parse_line(line).map_err(err)?;
        if !seen_tokens.insert(token.clone()) {
            return Err(err(format!("duplicate token {:?}", show(&token))));
        }
        if !seen_ranks.insert(rank) {
            return Err(err(format!("duplicate rank {rank}")));
        }
        ranks.push((token, rank));
    }
    Ok(ranks)
}
// ANCHOR_END: parse

// ANCHOR: parse_line
/// One line, `base64 rank`. The error is what is wrong; the caller adds where.
fn parse_line(line: &str) -> Result<(Vec<u8>, Rank), String> {
    let fields: Vec<&str> = line.split(' ').collect();
    let [token, rank] = fields[..] else {
        return Err(format!(
            "expected 2 fields `base64 rank`, found {}",
            fields.len()
        ));
    };
    let token = STANDARD
        .decode(token)
        .map_err(|e| format!("bad base64 {token:?}: {e}"))?;
    let rank: Rank = rank
        .parse()
        .map_err(|_| format!("rank {rank:?} is not an integer in 0..2^32"))?;
    if token.is_empty() {
        return Err("empty token".into());
    }
    Ok((token, rank))
}
// ANCHOR_END: parse_line

/// Reads a rank file.
pub fn read_tiktoken(path: &Path) -> Result<Vec<(Vec<u8>, Rank)>, BpeError> {
    let file = path.display().to_string();
    let text = std::fs::read(path).map_err(|source| BpeError::Io {
        file: file.clone(),
        source,
    })?;
    parse_tiktoken(&text, &file)
}

/// The text of a rank file, lines in rank order.
pub fn format_tiktoken(ranks: &[(Vec<u8>, Rank)]) -> String {
    let mut sorted: Vec<&(Vec<u8>, Rank)> = ranks.iter().collect();
    sorted.sort_by_key(|(_, r)| *r);
    let mut out = String::new();
    for (token, rank) in sorted {
        out.push_str(&STANDARD.encode(token));
        out.push(' ');
        out.push_str(&rank.to_string());
        out.push('\n');
    }
    out
}

/// Writes a rank file that tiktoken's `load_tiktoken_bpe` reads.
pub fn write_tiktoken(path: &Path, ranks: &[(Vec<u8>, Rank)]) -> Result<(), BpeError> {
    std::fs::write(path, format_tiktoken(ranks)).map_err(|source| BpeError::Io {
        file: path.display().to_string(),
        source,
    })
}

/// Token bytes for people: the string if it is UTF-8, else the bytes escaped.
pub fn show(token: &[u8]) -> String {
    match std::str::from_utf8(token) {
        Ok(s) => s.to_owned(),
        Err(_) => token.escape_ascii().to_string(),
    }
}

/// Rank by token bytes, the map the encoder looks pieces up in.
pub fn rank_map(ranks: &[(Vec<u8>, Rank)]) -> FxHashMap<Vec<u8>, Rank> {
    ranks.iter().cloned().collect()
}
