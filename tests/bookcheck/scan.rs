//! A port of mdbook-katex 0.10.0's delimiter scanner (`src/scan.rs`), which
//! decides what text KaTeX renders. It works byte by byte:
//!
//! - the display delimiter (`$$`) is tried before the inline one (`$`);
//! - `\` skips the next byte, so `\$` is a literal dollar;
//! - a run of N backticks skips to the next run of exactly N backticks
//!   (a longer run is skipped whole and the search goes on), which covers
//!   code spans and backtick-fenced code blocks alike; nothing else is skipped
//!   (`~~~` fences, indented code and HTML are scanned as text);
//! - a closing delimiter preceded by an odd number of backslashes is escaped
//!   and the search for the closing delimiter goes on;
//! - when a closing delimiter or backtick run is never found, scanning stops:
//!   no math after that point is rendered.

use std::ops::Range;

use serde::Deserialize;

/// A pair of delimiters (`Delimiter` in mdbook-katex's scan.rs).
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Delimiter {
    pub left: String,
    pub right: String,
}

impl Delimiter {
    pub fn same(s: &str) -> Self {
        Delimiter {
            left: s.to_string(),
            right: s.to_string(),
        }
    }
}

/// A formula mdbook-katex hands to KaTeX.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Formula {
    /// Offset of the opening delimiter.
    pub open: usize,
    /// The TeX between the delimiters.
    pub tex: Range<usize>,
    pub display: bool,
}

/// Why scanning stopped before the end of the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// An opening delimiter at `open` has no closing one.
    UnclosedMath { open: usize, display: bool },
    /// A run of `count` backticks at `open` has no matching run.
    UnclosedBackticks { open: usize, count: usize },
}

/// The formulas in `text`, and why the scan stopped early, if it did.
pub(crate) fn scan(
    text: &str,
    block: &Delimiter,
    inline: &Delimiter,
) -> (Vec<Formula>, Option<Stop>) {
    let mut s = Scanner {
        bytes: text.as_bytes(),
        index: 0,
        formulas: Vec::new(),
        block,
        inline,
    };
    let stop = loop {
        match s.process_byte() {
            Ok(true) => {}
            Ok(false) => break None,
            Err(stop) => break Some(stop),
        }
    };
    (s.formulas, stop)
}

struct Scanner<'a> {
    bytes: &'a [u8],
    index: usize,
    formulas: Vec<Formula>,
    block: &'a Delimiter,
    inline: &'a Delimiter,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl Scanner<'_> {
    /// `process_byte`: Ok(false) at the end of the text.
    fn process_byte(&mut self) -> Result<bool, Stop> {
        let Some(&byte) = self.bytes.get(self.index) else {
            return Ok(false);
        };
        let rest = &self.bytes[self.index..];
        let starts =
            |d: &Delimiter| !d.left.is_empty() && rest.starts_with(d.left.as_bytes());
        if starts(self.block) {
            self.process_delimit(false)?;
        } else if starts(self.inline) {
            self.process_delimit(true)?;
        } else if byte == b'\\' {
            self.index += 2;
        } else if byte == b'`' {
            self.index += 1;
            self.process_backtick()?;
        } else {
            self.index += 1;
        }
        Ok(true)
    }

    /// `process_backtick`, entered just after the first backtick.
    fn process_backtick(&mut self) -> Result<(), Stop> {
        let open = self.index - 1;
        let mut count = 1;
        while self.bytes.get(self.index) == Some(&b'`') {
            self.index += 1;
            count += 1;
        }
        if self.index >= self.bytes.len() {
            // mdbook-katex's `get_byte()?` ends the scan at the end of the text.
            return Ok(());
        }
        let run = vec![b'`'; count];
        loop {
            let Some(pos) = find(&self.bytes[self.index.min(self.bytes.len())..], &run)
            else {
                return Err(Stop::UnclosedBackticks { open, count });
            };
            self.index += pos + count;
            if self.bytes.get(self.index) == Some(&b'`') {
                while self.bytes.get(self.index) == Some(&b'`') {
                    self.index += 1;
                }
            } else {
                return Ok(());
            }
        }
    }

    /// `process_delimit`, entered at the opening delimiter.
    fn process_delimit(&mut self, inline: bool) -> Result<(), Stop> {
        let delim = if inline { self.inline } else { self.block };
        let open = self.index;
        self.index += delim.left.len();
        let begin = self.index;
        loop {
            let hay = &self.bytes[self.index.min(self.bytes.len())..];
            let Some(pos) = find(hay, delim.right.as_bytes()) else {
                return Err(Stop::UnclosedMath {
                    open,
                    display: !inline,
                });
            };
            self.index += pos;
            let mut escaped = false;
            let mut checking = self.index;
            while checking > 0 {
                checking -= 1;
                if self.bytes[checking] == b'\\' {
                    escaped = !escaped;
                } else {
                    break;
                }
            }
            if !escaped {
                self.formulas.push(Formula {
                    open,
                    tex: begin..self.index,
                    display: !inline,
                });
                self.index += delim.right.len();
                return Ok(());
            }
            self.index += delim.right.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tex(text: &str) -> Vec<String> {
        let d = (Delimiter::same("$$"), Delimiter::same("$"));
        scan(text, &d.0, &d.1)
            .0
            .iter()
            .map(|f| text[f.tex.clone()].to_string())
            .collect()
    }

    #[test]
    fn mirrors_mdbook_katex() {
        assert_eq!(tex("a $x$ b $$y$$"), vec!["x", "y"]);
        assert_eq!(tex(r"costs \$5 and \$6"), Vec::<String>::new());
        assert_eq!(tex("`$x$` and ```\n$y$\n``` $z$"), vec!["z"]);
        assert_eq!(tex(r"$a\$b$"), vec![r"a\$b"]);
        assert_eq!(tex("``a`b`` $c$"), vec!["c"]);
    }
}
