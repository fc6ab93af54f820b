//! The line protocol of the `bpe` example: one line of text in, one line of ids out,
//! and back. Bytes throughout, so text that is not UTF-8 still round-trips.

use super::{Bpe, BpeError, Rank};

/// The lines of `input`, split on `\n` (not kept); a final `\n` does not start a line.
fn lines(input: &[u8]) -> impl Iterator<Item = &[u8]> {
    let input = input.strip_suffix(b"\n").unwrap_or(input);
    let empty = input.is_empty();
    input
        .split(|&b| b == b'\n')
        .take(if empty { 0 } else { usize::MAX })
}

/// Each input line's ids, space-separated, one output line per input line.
pub fn encode_lines(bpe: &Bpe, input: &[u8]) -> String {
    let mut out = String::new();
    for line in lines(input) {
        let ids: Vec<String> = bpe
            .encode_ordinary(line)
            .iter()
            .map(Rank::to_string)
            .collect();
        out.push_str(&ids.join(" "));
        out.push('\n');
    }
    out
}

/// Each input line of space-separated ids back to its bytes, one line per line. `file`
/// names the input in errors, which give the line and the offending id.
pub fn decode_lines(bpe: &Bpe, input: &[u8], file: &str) -> Result<Vec<u8>, BpeError> {
    let mut out = Vec::new();
    for (i, line) in lines(input).enumerate() {
        let err = |msg: String| BpeError::Line {
            file: file.into(),
            line: i + 1,
            msg,
        };
        let line =
            std::str::from_utf8(line).map_err(|e| err(format!("not UTF-8: {e}")))?;
        let mut ids = Vec::new();
        for field in line.split_ascii_whitespace() {
            let id: Rank = field
                .parse()
                .map_err(|_| err(format!("{field:?} is not a token id")))?;
            ids.push(id);
        }
        let bytes = bpe.decode(&ids).map_err(|e| err(e.to_string()))?;
        out.extend_from_slice(&bytes);
        out.push(b'\n');
    }
    Ok(out)
}
