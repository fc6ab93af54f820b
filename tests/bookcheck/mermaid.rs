//! Mermaid diagrams: every ```` ```mermaid ```` block names a diagram type.

use std::ops::Range;
use std::path::Path;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use crate::config::BookConfig;
use crate::expand::{Expander, Mapped};
use crate::files::{chapter_files, markdown_files};
use crate::{Problem, finish};

/// The words a Mermaid diagram can start with (Mermaid 11).
pub const DIAGRAM_TYPES: &[&str] = &[
    "graph",
    "flowchart",
    "sequenceDiagram",
    "classDiagram",
    "classDiagram-v2",
    "stateDiagram",
    "stateDiagram-v2",
    "erDiagram",
    "journey",
    "gantt",
    "pie",
    "quadrantChart",
    "requirementDiagram",
    "gitGraph",
    "C4Context",
    "C4Container",
    "C4Component",
    "C4Dynamic",
    "C4Deployment",
    "mindmap",
    "timeline",
    "zenuml",
    "sankey-beta",
    "xychart-beta",
    "block-beta",
    "packet-beta",
    "kanban",
    "architecture-beta",
    "radar-beta",
];

/// A mermaid code block in a page.
pub(crate) struct Diagram {
    /// The whole fenced block, fences included.
    pub block: Range<usize>,
    /// The block's text as pulldown-cmark yields it, with the offset in the
    /// page of each piece.
    pub pieces: Vec<(usize, String)>,
}

/// The fenced code blocks whose info string is exactly `mermaid`, found as
/// mdbook-mermaid finds them: pulldown-cmark with tables, footnotes,
/// strikethrough and task lists on (so ```` ``` ```` and `~~~` fences of any
/// length, but not indented code).
pub(crate) fn diagrams(text: &str) -> Vec<Diagram> {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_FOOTNOTES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_TASKLISTS);
    let mut out = Vec::new();
    let mut current: Option<Vec<(usize, String)>> = None;
    for (event, range) in Parser::new_ext(text, opts).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info)))
                if &*info == "mermaid" =>
            {
                current = Some(Vec::new());
            }
            Event::Text(t) => {
                if let Some(pieces) = current.as_mut() {
                    pieces.push((range.start, t.to_string()));
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(pieces) = current.take() {
                    out.push(Diagram {
                        block: range,
                        pieces,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// `page` as mdbook-mermaid leaves it: each mermaid block replaced by
/// `<pre class="mermaid">…</pre>` (its HTML escaping touches none of `$`, `\`
/// or backticks, so the diagram text is kept as is). Also returns where each
/// diagram's text now lies.
pub(crate) fn render_like_mdbook_mermaid(page: &Mapped) -> (Mapped, Vec<Range<usize>>) {
    let mut out = Mapped::default();
    let mut inside = Vec::new();
    let mut previous = 0;
    for d in diagrams(&page.text) {
        out.push_from(page, previous..d.block.start);
        let (file, line) = page.origin(d.block.start);
        out.push_synthetic("\n<pre class=\"mermaid\">", file.clone(), line);
        let start = out.text.len();
        for (offset, piece) in &d.pieces {
            let end = (offset + piece.len()).min(page.text.len());
            out.push_from(page, *offset..end);
        }
        inside.push(start..out.text.len());
        out.push_synthetic("</pre>\n\n", file, line);
        previous = d.block.end;
    }
    out.push_from(page, previous..page.text.len());
    (out, inside)
}

/// Checks every mermaid code block in the book (after include expansion, as
/// mdbook-mermaid sees it when the `links` preprocessor runs first): it is
/// not empty, and its first meaningful line, after blank lines, `%%` comments
/// and a leading `---` front-matter block, starts with a Mermaid diagram type
/// (`DIAGRAM_TYPES`). An empty block is reported at its opening fence, a
/// wrong type at the offending line.
pub fn check_mermaid(root: &Path) -> Vec<Problem> {
    let cfg = BookConfig::load(root);
    let (markdown, mut problems) = markdown_files(&cfg);
    problems.extend(cfg.problems.iter().cloned());
    let expand = cfg.includes_expanded_before("mermaid");
    let mut expander = Expander::new(&cfg.root);
    for chapter in chapter_files(&cfg, &markdown) {
        let Some(page) = expander.page(&chapter, expand) else {
            continue;
        };
        for d in diagrams(&page.text) {
            if let Some((offset, message)) = diagram_problem(&d) {
                let (file, line) = page.origin(offset);
                problems.push(Problem::new(&cfg.root, &file, line, message));
            }
        }
    }
    finish(problems)
}

/// What is wrong with a diagram, and the page offset to report it at.
fn diagram_problem(d: &Diagram) -> Option<(usize, String)> {
    let lines = diagram_lines(d);
    if lines.iter().all(|(_, l)| l.trim().is_empty()) {
        return Some((
            d.block.start,
            "mermaid block is empty: expected a diagram, e.g. `flowchart LR` followed by its nodes and edges".to_string(),
        ));
    }
    let mut seen_content = false;
    let mut front_matter_open: Option<usize> = None;
    for (offset, line) in &lines {
        let t = line.trim();
        if front_matter_open.is_some() {
            if t == "---" {
                front_matter_open = None;
            }
            continue;
        }
        if t.is_empty() || t.starts_with("%%") {
            continue;
        }
        if t == "---" && !seen_content {
            seen_content = true;
            front_matter_open = Some(*offset);
            continue;
        }
        let word: String = t
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        if DIAGRAM_TYPES.contains(&word.as_str()) {
            return None;
        }
        return Some((
            *offset,
            format!(
                "mermaid block starts with `{}`, which is not a Mermaid diagram type; expected one of: {}",
                crate::preview(t, 40),
                DIAGRAM_TYPES.join(", ")
            ),
        ));
    }
    Some(match front_matter_open {
        Some(open) => (
            open,
            "mermaid front matter opened with `---` is never closed by another `---`".to_string(),
        ),
        None => (
            d.block.start,
            "mermaid block holds only comments or front matter: expected a diagram type such as `flowchart` on its first line".to_string(),
        ),
    })
}

/// The diagram's lines with the page offset each starts at.
fn diagram_lines(d: &Diagram) -> Vec<(usize, String)> {
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut at_line_start = true;
    for (offset, piece) in &d.pieces {
        let mut pos = 0;
        for part in piece.split_inclusive('\n') {
            let text = part.trim_end_matches(['\n', '\r']);
            if at_line_start {
                lines.push((offset + pos, text.to_string()));
            } else if let Some(last) = lines.last_mut() {
                last.1.push_str(text);
            }
            at_line_start = part.ends_with('\n');
            pos += part.len();
        }
    }
    lines
}
