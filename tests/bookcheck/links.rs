//! mdBook's `{{#...}}` helpers, parsed exactly as mdBook 0.5.4 parses them
//! (mdbook-driver `src/builtin_preprocessors/links.rs` and `links/take_lines.rs`).

use std::ops::Range;
use std::path::PathBuf;
use std::sync::LazyLock;

use regex::Regex;

/// `find_links` in links.rs: an escaped helper (`\{{#...}}`, up to the last `}}`
/// on its line) or `{{ #type rest }}`, where `rest` may span lines.
static LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        \\\{\{\#.*\}\}
        |
        \{\{\s*
        \#([a-zA-Z0-9_]+)
        \s+
        ([^}]+)
        \}\}",
    )
    .expect("link regex compiles")
});

/// `ANCHOR_START` / `ANCHOR_END` in take_lines.rs.
static ANCHOR_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"ANCHOR:\s*(?P<anchor_name>[\w_-]+)").expect("regex compiles")
});
static ANCHOR_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"ANCHOR_END:\s*(?P<anchor_name>[\w_-]+)").expect("regex compiles")
});

/// One `{{#...}}` occurrence in a text.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    /// Byte range of the whole directive.
    pub range: Range<usize>,
    /// The directive as written.
    pub text: String,
    pub kind: LinkKind,
}

#[derive(Debug, Clone)]
pub(crate) enum LinkKind {
    /// `\{{#...}}`: mdBook drops the backslash and leaves the rest as text.
    Escaped,
    Include(PathBuf, Selection),
    RustdocInclude(PathBuf, Selection),
    Playground(PathBuf, Vec<String>),
    /// `{{#title ...}}`: replaced by nothing.
    Title,
    /// `{{#type ...}}` with a type mdBook does not know: left in the page as is.
    Unknown(String),
    /// A known type with nothing but whitespace after it: left in the page as is.
    NoPath(String),
}

/// Which lines of a file an include takes (`parse_range_or_anchor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selection {
    Anchor(String),
    /// 0-based first line (inclusive) and end line (exclusive); `None` is unbounded.
    Lines {
        start: Option<usize>,
        end: Option<usize>,
        /// Things mdBook accepts silently but that are almost surely typos.
        doubts: Vec<String>,
    },
}

/// Every helper in `text`, in order, including those mdBook ignores
/// (unknown types, missing paths), which the checks report.
pub(crate) fn find_links(text: &str) -> Vec<Link> {
    LINK.captures_iter(text)
        .filter_map(|cap| {
            let whole = cap.get(0)?;
            let kind = match (cap.get(1), cap.get(2)) {
                (Some(typ), Some(rest)) => parse_helper(typ.as_str(), rest.as_str()),
                (None, None) if whole.as_str().starts_with('\\') => LinkKind::Escaped,
                _ => return None,
            };
            Some(Link {
                range: whole.range(),
                text: whole.as_str().to_string(),
                kind,
            })
        })
        .collect()
}

fn parse_helper(typ: &str, rest: &str) -> LinkKind {
    if typ == "title" {
        return LinkKind::Title;
    }
    let mut words = rest.split_whitespace();
    let Some(file_arg) = words.next() else {
        return match typ {
            "include" | "rustdoc_include" | "playground" | "playpen" => {
                LinkKind::NoPath(typ.to_string())
            }
            other => LinkKind::Unknown(other.to_string()),
        };
    };
    match typ {
        "include" => {
            let (path, sel) = parse_path_and_selection(file_arg);
            LinkKind::Include(path, sel)
        }
        "rustdoc_include" => {
            let (path, sel) = parse_path_and_selection(file_arg);
            LinkKind::RustdocInclude(path, sel)
        }
        "playground" | "playpen" => LinkKind::Playground(
            PathBuf::from(file_arg),
            words.map(str::to_string).collect(),
        ),
        other => LinkKind::Unknown(other.to_string()),
    }
}

/// `parse_include_path` + `parse_range_or_anchor`.
fn parse_path_and_selection(arg: &str) -> (PathBuf, Selection) {
    let mut parts = arg.splitn(2, ':');
    let path = PathBuf::from(parts.next().unwrap_or(""));
    (path, parse_selection(parts.next()))
}

fn parse_selection(spec: Option<&str>) -> Selection {
    let mut doubts = Vec::new();
    let mut parts = spec.unwrap_or("").splitn(3, ':').fuse();
    let first = parts.next();
    let start = match first {
        Some(value) if value.parse::<usize>().is_ok() => {
            let n: usize = value.parse().unwrap_or(0);
            if n == 0 {
                doubts.push(
                    "line numbers start at 1; mdBook reads line 0 as line 1".to_string(),
                );
            }
            Some(n.saturating_sub(1))
        }
        Some("") | None => None,
        Some(anchor) => return Selection::Anchor(anchor.to_string()),
    };
    let end_text = parts.next();
    let end = end_text.map(|s| s.parse::<usize>());
    if let Some(Err(_)) = end {
        let raw = end_text.unwrap_or("");
        if !raw.is_empty() {
            doubts.push(format!(
                "`{raw}` is not a line number, so mdBook ignores it and reads the range as open-ended"
            ));
        }
    }
    let (start, end) = match (start, end) {
        (Some(s), Some(Ok(e))) => (Some(s), Some(e)),
        (Some(s), Some(Err(_))) => (Some(s), None),
        (Some(s), None) => (Some(s), Some(s + 1)),
        (None, Some(Ok(e))) => (None, Some(e)),
        (None, None) | (None, Some(Err(_))) => (None, None),
    };
    Selection::Lines { start, end, doubts }
}

/// Byte ranges of the lines of `text` as `str::lines` yields them (without
/// the `\n` and without a `\r` before it; no empty last line after a final `\n`).
pub(crate) fn line_ranges(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    while start < text.len() {
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |p| start + p);
        let content_end = if end > start && bytes[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        ranges.push(start..content_end);
        start = end + 1;
    }
    ranges
}

/// One line an include shows: its index in the file, and, for
/// `rustdoc_include`, whether it is hidden behind `# `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Taken {
    pub index: usize,
    pub hidden: bool,
}

/// The lines an include of `text` produces, in order (`take_lines`,
/// `take_anchored_lines`, `take_rustdoc_include_lines`,
/// `take_rustdoc_include_anchored_lines`).
pub(crate) fn take(text: &str, selection: &Selection, rustdoc: bool) -> Vec<Taken> {
    let lines: Vec<&str> = line_ranges(text).into_iter().map(|r| &text[r]).collect();
    let mut out = Vec::new();
    match selection {
        Selection::Lines { start, end, .. } => {
            let start = start.unwrap_or(0);
            let end = end.unwrap_or(usize::MAX);
            for index in 0..lines.len() {
                let inside = index >= start && index < end;
                if inside || rustdoc {
                    out.push(Taken {
                        index,
                        hidden: !inside,
                    });
                }
            }
        }
        Selection::Anchor(anchor) if !rustdoc => {
            let mut found = false;
            for (index, l) in lines.iter().enumerate() {
                if found {
                    match ANCHOR_END.captures(l) {
                        Some(cap) if &cap["anchor_name"] == anchor => break,
                        Some(_) => {}
                        None if !ANCHOR_START.is_match(l) => out.push(Taken {
                            index,
                            hidden: false,
                        }),
                        None => {}
                    }
                } else if let Some(cap) = ANCHOR_START.captures(l) {
                    found = &cap["anchor_name"] == anchor;
                }
            }
        }
        Selection::Anchor(anchor) => {
            let mut within = false;
            for (index, l) in lines.iter().enumerate() {
                if within {
                    match ANCHOR_END.captures(l) {
                        Some(cap) if &cap["anchor_name"] == anchor => within = false,
                        Some(_) => {}
                        None if !ANCHOR_START.is_match(l) => out.push(Taken {
                            index,
                            hidden: false,
                        }),
                        None => {}
                    }
                } else if let Some(cap) = ANCHOR_START.captures(l) {
                    if &cap["anchor_name"] == anchor {
                        within = true;
                    }
                } else if !ANCHOR_END.is_match(l) {
                    out.push(Taken {
                        index,
                        hidden: true,
                    });
                }
            }
        }
    }
    out
}

/// Where `anchor` starts and ends in `text` (0-based line indices), as mdBook
/// finds them: the first line whose first `ANCHOR:` marker names it, and the
/// first line after that whose first `ANCHOR_END:` marker names it.
pub(crate) fn anchor_lines(text: &str, anchor: &str) -> (Option<usize>, Option<usize>) {
    let lines: Vec<&str> = line_ranges(text).into_iter().map(|r| &text[r]).collect();
    let start = lines.iter().position(|l| {
        ANCHOR_START
            .captures(l)
            .is_some_and(|c| &c["anchor_name"] == anchor)
    });
    let end = start.and_then(|s| {
        lines[s + 1..]
            .iter()
            .position(|l| {
                ANCHOR_END
                    .captures(l)
                    .is_some_and(|c| &c["anchor_name"] == anchor)
            })
            .map(|p| s + 1 + p)
    });
    (start, end)
}

/// An excerpt may show at most this many lines (DESIGN.md: "under ~40 lines").
pub(crate) const MAX_EXCERPT_LINES: usize = 40;

/// What an `ANCHOR:` line says after the anchor's name about the length limit.
///
/// A deliberate exception is written on the start line itself,
/// `// ANCHOR: name (long: <reason>)`: mdBook drops every line its `ANCHOR_START`
/// regex matches from an anchored include, and that regex stops at the name, so the
/// marker never reaches the rendered listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LongMarker {
    /// Nothing about length after the name.
    Absent,
    /// `(long: <reason>)`; the reason runs to the last `)` on the line, trimmed,
    /// and may be empty (which the checks report).
    Reason(String),
    /// Text that starts like a marker but does not read `(long: <reason>)`.
    Malformed(String),
}

static LONG_MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\(long:(?P<reason>.*)\)").expect("regex compiles"));

/// The length marker on `line`, an `ANCHOR:` line.
pub(crate) fn long_marker(line: &str) -> LongMarker {
    let Some(name) = ANCHOR_START
        .captures(line)
        .and_then(|c| c.name("anchor_name"))
    else {
        return LongMarker::Absent;
    };
    let rest = line[name.end()..].trim();
    if !rest.starts_with("(long") {
        return LongMarker::Absent;
    }
    match LONG_MARKER.captures(rest) {
        Some(cap) => LongMarker::Reason(cap["reason"].trim().to_string()),
        None => LongMarker::Malformed(rest.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_mdbook() {
        let sel = |s: &str| parse_path_and_selection(s).1;
        let lines = |start, end| Selection::Lines {
            start,
            end,
            doubts: vec![],
        };
        assert_eq!(sel("f.rs"), lines(None, None));
        assert_eq!(sel("f.rs:3"), lines(Some(2), Some(3)));
        assert_eq!(sel("f.rs:3:5"), lines(Some(2), Some(5)));
        assert_eq!(sel("f.rs:3:"), lines(Some(2), None));
        assert_eq!(sel("f.rs::5"), lines(None, Some(5)));
        assert_eq!(sel("f.rs:name"), Selection::Anchor("name".into()));
    }

    #[test]
    fn escaped_and_real_links() {
        let links = find_links("a \\{{#include x}}\nb {{#include y.rs:2}} {{#bogus z}}");
        assert!(matches!(links[0].kind, LinkKind::Escaped));
        assert!(matches!(links[1].kind, LinkKind::Include(..)));
        assert!(matches!(links[2].kind, LinkKind::Unknown(_)));
        // As in mdBook, an escaped helper runs to the last `}}` on its line.
        let links = find_links("\\{{#include x}} and {{#include y}}");
        assert_eq!(links.len(), 1);
        assert!(matches!(links[0].kind, LinkKind::Escaped));
    }

    #[test]
    fn anchored_lines_drop_nested_markers() {
        let text =
            "a\n// ANCHOR: x\nb\n// ANCHOR: y\nc\n// ANCHOR_END: y\n// ANCHOR_END: x\nd";
        let taken: Vec<usize> = take(text, &Selection::Anchor("x".into()), false)
            .into_iter()
            .map(|t| t.index)
            .collect();
        assert_eq!(taken, vec![2, 4]);
    }

    #[test]
    fn long_marker_follows_the_name() {
        use LongMarker::*;
        assert_eq!(long_marker("// ANCHOR: x"), Absent);
        assert_eq!(
            long_marker("// ANCHOR: x (long: a table)"),
            Reason("a table".into())
        );
        assert_eq!(
            long_marker("<!-- ANCHOR: x (long: one (row) a case) -->"),
            Reason("one (row) a case".into())
        );
        assert_eq!(long_marker("# ANCHOR: x (long:  )"), Reason(String::new()));
        assert_eq!(
            long_marker("// ANCHOR: x (long)"),
            Malformed("(long)".into())
        );
        assert_eq!(
            long_marker("// ANCHOR: x (longer) text"),
            Malformed("(longer) text".into())
        );
        assert_eq!(long_marker("no marker (long: x)"), Absent);
    }
}
