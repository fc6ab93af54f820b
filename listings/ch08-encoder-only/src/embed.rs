//! The `embed` example's core (section "Run it"): UTF-8 lines in, one line of C floats
//! out for each, in batches.

use std::io::{BufRead, Write};

use ndarray::Array2;

use crate::sentence::{SentenceEncoder, Tokens};

/// What can go wrong reading the input or writing the output.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("{source_name}: line {line}: not valid UTF-8 (at byte {byte} of the line)")]
    Utf8 {
        source_name: String,
        line: usize,
        byte: usize,
    },
    #[error("{source_name}: {error}")]
    Io {
        source_name: String,
        error: std::io::Error,
    },
}

// ANCHOR: embed_lines
/// Reads `input` (named `source_name` in errors) line by line and writes one line of
/// space-separated floats for each, `batch` lines at a time. Returns the lines embedded.
pub fn embed_lines(
    enc: &mut SentenceEncoder,
    mut input: impl BufRead,
    mut output: impl Write,
    source_name: &str,
    batch: usize,
) -> Result<usize, EmbedError> {
    let io = |error| EmbedError::Io {
        source_name: source_name.to_owned(),
        error,
    };
    let (mut pending, mut n, mut raw) = (Vec::<Tokens>::new(), 0, Vec::new());
    loop {
        raw.clear();
        let eof = input.read_until(b'\n', &mut raw).map_err(io)? == 0;
        if !eof {
            n += 1;
            let text = line_text(&raw, source_name, n)?;
            let tokens = enc.tokenize(text);
            if tokens.truncated() {
                let what = format!("{source_name}: line {n}");
                eprintln!("{}", enc.truncation_note(&what, &tokens));
            }
            pending.push(tokens);
        }
        if pending.len() == batch.max(1) || (eof && !pending.is_empty()) {
            write_rows(&enc.embed_tokens(&pending), &mut output).map_err(io)?;
            pending.clear();
        }
        if eof {
            output.flush().map_err(io)?;
            return Ok(n);
        }
    }
}

// ANCHOR_END: embed_lines

/// Floats with 9 significant digits: enough to give back the exact f32.
// e: [B, C] -> B lines
fn write_rows(e: &Array2<f32>, output: &mut impl Write) -> std::io::Result<()> {
    for row in e.rows() {
        let floats: Vec<String> = row.iter().map(|x| format!("{x:.8e}")).collect();
        writeln!(output, "{}", floats.join(" "))?;
    }
    Ok(())
}

/// One raw line without its `\n` or `\r\n`, as UTF-8.
fn line_text<'a>(
    raw: &'a [u8],
    source_name: &str,
    line: usize,
) -> Result<&'a str, EmbedError> {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    std::str::from_utf8(raw).map_err(|e| EmbedError::Utf8 {
        source_name: source_name.to_owned(),
        line,
        byte: e.valid_up_to(),
    })
}
