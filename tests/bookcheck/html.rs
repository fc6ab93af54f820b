//! The built book: no KaTeX error and no TeX left unrendered.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::{Problem, finish, preview};

/// Elements whose text is code or machinery, not prose (and KaTeX's own
/// output, whose text may legitimately hold a `$`).
const SKIPPED: &[&str] = &[
    "code",
    "pre",
    "script",
    "style",
    "textarea",
    "math",
    "annotation",
    "svg",
    "template",
    "title",
];
/// Elements whose content is raw text, not markup.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title"];
/// Elements without an end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
];
/// Inline elements: their tags do not break a line of text.
const INLINE: &[&str] = &[
    "a", "abbr", "b", "em", "i", "mark", "q", "s", "small", "span", "strong", "sub",
    "sup", "u", "del", "ins",
];

/// Checks a built book (mdBook's HTML output directory, e.g. `book/`): every
/// `.html` page under it must have no element with class `katex-error`, and
/// no unrendered TeX in its text outside `<code>`, `<pre>`, `<script>`,
/// `<style>` and KaTeX's own output: no `$$`, and no inline `$…$` pair (an
/// opening `$` followed by a non-space, a closing `$` preceded by a non-space
/// and not followed by a digit, on one line, so that prices such as
/// "$5 and $10" pass). Problems name the page (`html_dir` joined with its path)
/// and the line.
pub fn check_built_html(html_dir: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    if !html_dir.is_dir() {
        problems.push(Problem {
            file: html_dir.to_path_buf(),
            line: 1,
            message:
                "not a directory: expected the built book (run the book build first)"
                    .into(),
        });
        return problems;
    }
    for entry in WalkDir::new(html_dir).sort_by_file_name() {
        let path: PathBuf = match entry {
            Ok(e)
                if e.file_type().is_file()
                    && e.path().extension().is_some_and(|x| x == "html") =>
            {
                e.into_path()
            }
            Ok(_) => continue,
            Err(e) => {
                let path = e.path().unwrap_or(html_dir).to_path_buf();
                problems.push(Problem {
                    file: path,
                    line: 1,
                    message: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let lines = LineIndex::new(&text);
                for (offset, message) in page_problems(&text) {
                    problems.push(Problem {
                        file: path.clone(),
                        line: lines.line(offset),
                        message,
                    });
                }
            }
            Err(e) => problems.push(Problem {
                file: path,
                line: 1,
                message: format!("cannot read page: {e}"),
            }),
        }
    }
    finish(problems)
}

struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> Self {
        LineIndex(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        )
    }
    fn line(&self, offset: usize) -> usize {
        1 + self.0.partition_point(|&nl| nl < offset)
    }
}

/// A start tag: lower-case name, attributes, and where it ends.
struct StartTag {
    name: String,
    attrs: Vec<(String, String)>,
    self_closing: bool,
    end: usize,
}

impl StartTag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn classes(&self) -> impl Iterator<Item = &str> {
        self.attr("class").unwrap_or("").split_whitespace()
    }
}

/// Problems in one page, as (byte offset, message).
fn page_problems(html: &str) -> Vec<(usize, String)> {
    let bytes = html.as_bytes();
    let mut problems = Vec::new();
    // Visible prose, and for each of its bytes the page offset it came from.
    let mut visible = String::new();
    let mut origin: Vec<usize> = Vec::new();
    // Open elements: name, whether their text is skipped, whether they are a
    // mermaid diagram.
    let mut stack: Vec<(String, bool, bool)> = Vec::new();
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        if rest.starts_with("<!--") {
            i = rest.find("-->").map_or(html.len(), |p| i + p + 3);
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            i = rest.find('>').map_or(html.len(), |p| i + p + 1);
            continue;
        }
        if rest.starts_with("</") && bytes.get(i + 2).is_some_and(u8::is_ascii_alphabetic)
        {
            let end = rest.find('>').map_or(html.len(), |p| i + p + 1);
            let name = tag_name(&html[i + 2..end]);
            if let Some(pos) = stack.iter().rposition(|(n, _, _)| *n == name) {
                stack.truncate(pos);
            }
            if !INLINE.contains(&name.as_str()) {
                visible.push('\n');
                origin.push(i);
            }
            i = end;
            continue;
        }
        if rest.starts_with('<') && bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic)
        {
            let tag = parse_start_tag(html, i);
            if tag.classes().any(|c| c == "katex-error") {
                let why = tag
                    .attr("title")
                    .map(decode_entities)
                    .unwrap_or_else(|| "no reason given".into());
                problems.push((
                    i,
                    format!("KaTeX error in the page (class \"katex-error\"): {why}"),
                ));
            }
            let katex = tag.classes().any(|c| c == "katex" || c == "katex-display");
            if katex && stack.iter().any(|(_, _, mermaid)| *mermaid) {
                problems.push((
                    i,
                    "KaTeX output inside a mermaid diagram: mdbook-katex rendered a `$…$` in the diagram source, which breaks the diagram".to_string(),
                ));
            }
            let skip = SKIPPED.contains(&tag.name.as_str())
                || tag.classes().any(|c| c.starts_with("katex"));
            let mermaid = tag.classes().any(|c| c == "mermaid");
            if !INLINE.contains(&tag.name.as_str()) {
                visible.push('\n');
                origin.push(i);
            }
            i = tag.end;
            if RAW_TEXT.contains(&tag.name.as_str()) && !tag.self_closing {
                let close = format!("</{}", tag.name);
                i = find_ascii_ci(&html[i..], &close).map_or(html.len(), |p| i + p);
                continue;
            }
            if !tag.self_closing && !VOID.contains(&tag.name.as_str()) {
                stack.push((tag.name, skip, mermaid));
            }
            continue;
        }
        // Text up to the next '<'.
        let end = bytes[i + 1..]
            .iter()
            .position(|&b| b == b'<')
            .map_or(html.len(), |p| i + 1 + p);
        if !stack.iter().any(|(_, skip, _)| *skip) {
            origin.extend(i..end);
            visible.push_str(&html[i..end]);
        }
        i = end;
    }
    leftover_tex(&visible, &origin, &mut problems);
    problems
}

/// Reports `$$` and inline `$…$` pairs in the visible text, line by line.
fn leftover_tex(visible: &str, origin: &[usize], problems: &mut Vec<(usize, String)>) {
    let mut line_start = 0;
    for line in visible.split('\n') {
        let at = |k: usize| origin.get(line_start + k).copied().unwrap_or(0);
        if let Some(k) = line.find("$$") {
            problems.push((
                at(k),
                format!(
                    "unrendered display math in the page text: `{}`",
                    preview(&line[k..], 60)
                ),
            ));
        } else {
            for (open, close) in inline_pairs(line) {
                problems.push((
                    at(open),
                    format!(
                        "unrendered inline math in the page text: `{}`",
                        preview(&line[open..=close], 60)
                    ),
                ));
            }
        }
        line_start += line.len() + 1;
    }
}

/// `$…$` pairs in one line of text, by the usual (pandoc) rule.
fn inline_pairs(line: &str) -> Vec<(usize, usize)> {
    let b = line.as_bytes();
    let dollars: Vec<usize> = (0..b.len())
        .filter(|&k| b[k] == b'$' && (k == 0 || b[k - 1] != b'\\'))
        .collect();
    let mut pairs = Vec::new();
    let mut k = 0;
    while k < dollars.len() {
        let open = dollars[k];
        let opens = b.get(open + 1).is_some_and(|c| !c.is_ascii_whitespace());
        if opens
            && let Some(j) = (k + 1..dollars.len()).find(|&j| {
                let close = dollars[j];
                !b[close - 1].is_ascii_whitespace()
                    && !b.get(close + 1).is_some_and(u8::is_ascii_digit)
            })
        {
            pairs.push((open, dollars[j]));
            k = j + 1;
            continue;
        }
        k += 1;
    }
    pairs
}

fn tag_name(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == ':')
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Parses the start tag at `start` (which holds `<` and a letter).
fn parse_start_tag(html: &str, start: usize) -> StartTag {
    let b = html.as_bytes();
    let name = tag_name(&html[start + 1..]);
    let mut i = start + 1 + name.len();
    let mut attrs = Vec::new();
    let mut self_closing = false;
    while i < b.len() {
        match b[i] {
            b'>' => {
                i += 1;
                break;
            }
            b'/' if b.get(i + 1) == Some(&b'>') => {
                self_closing = true;
                i += 2;
                break;
            }
            c if c.is_ascii_whitespace() || c == b'/' => i += 1,
            _ => {
                let name_start = i;
                while i < b.len()
                    && !b[i].is_ascii_whitespace()
                    && !matches!(b[i], b'=' | b'>' | b'/')
                {
                    i += 1;
                }
                let attr_name = html[name_start..i].to_ascii_lowercase();
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                let mut value = String::new();
                if b.get(i) == Some(&b'=') {
                    i += 1;
                    while i < b.len() && b[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    match b.get(i) {
                        Some(&q) if q == b'"' || q == b'\'' => {
                            let end = html[i + 1..]
                                .find(q as char)
                                .map_or(b.len(), |p| i + 1 + p);
                            value = html[i + 1..end].to_string();
                            i = (end + 1).min(b.len());
                        }
                        _ => {
                            let v_start = i;
                            while i < b.len()
                                && !b[i].is_ascii_whitespace()
                                && b[i] != b'>'
                            {
                                i += 1;
                            }
                            value = html[v_start..i].to_string();
                        }
                    }
                }
                attrs.push((attr_name, value));
            }
        }
    }
    StartTag {
        name,
        attrs,
        self_closing,
        end: i,
    }
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    let h = haystack.as_bytes();
    let n = needle.as_bytes();
    (0..h.len().saturating_sub(n.len()) + 1)
        .find(|&k| h.len() >= k + n.len() && h[k..k + n.len()].eq_ignore_ascii_case(n))
}

fn decode_entities(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
