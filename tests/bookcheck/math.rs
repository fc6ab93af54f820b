//! Every formula renders with KaTeX, found and rendered as mdbook-katex 0.10.0
//! finds and renders it.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::config::BookConfig;
use crate::expand::Expander;
use crate::files::{chapter_files, markdown_files};
use crate::scan::{Delimiter, Stop, scan};
use crate::{Problem, finish, preview};

/// `KatexConfig` in mdbook-katex 0.10.0 `src/cfg.rs`, with its defaults:
/// the keys of `[preprocessor.katex]` that change what gets rendered and how.
#[derive(Debug, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct KatexConfig {
    output: String,
    leqno: bool,
    fleqn: bool,
    error_color: String,
    min_rule_thickness: f64,
    max_size: f64,
    max_expand: i32,
    trust: bool,
    macros: Option<String>,
    block_delimiter: Delimiter,
    inline_delimiter: Delimiter,
}

impl Default for KatexConfig {
    fn default() -> Self {
        KatexConfig {
            output: "html".into(),
            leqno: false,
            fleqn: false,
            error_color: "#cc0000".into(),
            min_rule_thickness: -1.0,
            max_size: f64::INFINITY,
            max_expand: 1000,
            trust: false,
            macros: None,
            block_delimiter: Delimiter::same("$$"),
            inline_delimiter: Delimiter::same("$"),
        }
    }
}

/// mdbook-katex's configuration for this book, and problems reading it.
fn katex_config(
    cfg: &BookConfig,
) -> (KatexConfig, HashMap<String, String>, Vec<Problem>) {
    let mut problems = Vec::new();
    let book_toml = cfg.root.join("book.toml");
    let line = cfg.table_line("katex");
    // `get_config`: a table that does not deserialize silently becomes the defaults.
    let katex = match cfg.katex.clone().map(|v| v.try_into::<KatexConfig>()) {
        None => KatexConfig::default(),
        Some(Ok(k)) => k,
        Some(Err(e)) => {
            problems.push(Problem::new(
                &cfg.root,
                &book_toml,
                line,
                format!(
                    "mdbook-katex cannot read [preprocessor.katex] ({}), so it silently ignores the whole table",
                    e.message().trim()
                ),
            ));
            KatexConfig::default()
        }
    };
    if !matches!(katex.output.as_str(), "html" | "mathml" | "htmlAndMathml") {
        problems.push(Problem::new(
            &cfg.root,
            &book_toml,
            line,
            format!(
                "[preprocessor.katex] output = `{}` is not one of html, mathml, htmlAndMathml",
                katex.output
            ),
        ));
    }
    for (name, d) in [
        ("block", &katex.block_delimiter),
        ("inline", &katex.inline_delimiter),
    ] {
        if d.left.is_empty() || d.right.is_empty() {
            problems.push(Problem::new(
                &cfg.root,
                &book_toml,
                line,
                format!("[preprocessor.katex] {name}-delimiter has an empty side; mdbook-katex panics on it"),
            ));
        }
    }
    let macros = match &katex.macros {
        None => HashMap::new(),
        Some(rel) => load_macros(cfg, &cfg.root.join(rel), &mut problems),
    };
    (katex, macros, problems)
}

/// `load_macros` in mdbook-katex `src/render/cfg.rs`: each line that starts
/// with `\` is `name:definition` (split at the first `:`, nothing trimmed).
/// mdbook-katex panics on an unreadable file or a macro line without `:`.
fn load_macros(
    cfg: &BookConfig,
    path: &Path,
    problems: &mut Vec<Problem>,
) -> HashMap<String, String> {
    let mut map = HashMap::new();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            problems.push(Problem::new(
                &cfg.root,
                &cfg.root.join("book.toml"),
                cfg.table_line("katex"),
                format!(
                    "[preprocessor.katex] macros file `{}` cannot be read ({e}); mdbook-katex panics",
                    crate::relative_to(&cfg.root, path).display()
                ),
            ));
            return map;
        }
    };
    for (i, line) in text.split('\n').enumerate() {
        if line.starts_with('\\') {
            match line.split_once(':') {
                Some((name, def)) => {
                    map.insert(name.to_string(), def.to_string());
                }
                None => problems.push(Problem::new(
                    &cfg.root,
                    path,
                    i + 1,
                    "macro line has no `:` between name and definition; mdbook-katex panics on it",
                )),
            }
        }
    }
    map
}

/// KaTeX options as `build_opts_from_macros` builds them, except that
/// `throw_on_error` is always on, so every error surfaces.
fn katex_opts(
    k: &KatexConfig,
    macros: HashMap<String, String>,
    display: bool,
) -> katex::Opts {
    let output = match k.output.as_str() {
        "mathml" => katex::OutputType::Mathml,
        "htmlAndMathml" => katex::OutputType::HtmlAndMathml,
        _ => katex::OutputType::Html,
    };
    katex::Opts::builder()
        .output_type(output)
        .leqno(k.leqno)
        .fleqn(k.fleqn)
        .throw_on_error(true)
        .error_color(k.error_color.clone())
        .macros(macros)
        .min_rule_thickness(k.min_rule_thickness)
        .max_size(k.max_size)
        .max_expand(k.max_expand)
        .trust(k.trust)
        .display_mode(display)
        .build()
        .expect("every KaTeX option is set")
}

/// KaTeX's own words for why it failed. The quick-js engine hands the
/// exception over in Rust debug form (`String("ParseError: …")`); this undoes
/// that, and drops the combining underlines (U+0332) KaTeX puts under the
/// offending characters.
fn katex_message(e: katex::Error) -> String {
    let raw = match e {
        katex::Error::JsExecError(msg) => msg,
        other => other.to_string(),
    };
    let text = raw
        .strip_prefix("String(\"")
        .and_then(|r| r.strip_suffix("\")"))
        .map_or_else(|| raw.clone(), unescape_debug);
    let text: String = text.chars().filter(|&c| c != '\u{332}').collect();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reverses `{:?}` escaping of a string: `\\`, `\"`, `\'`, `\n`, `\r`, `\t`, `\u{…}`.
fn unescape_debug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('u') => {
                let code: String =
                    chars.by_ref().skip(1).take_while(|&c| c != '}').collect();
                if let Some(ch) =
                    u32::from_str_radix(&code, 16).ok().and_then(char::from_u32)
                {
                    out.push(ch);
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Checks every formula in the book with KaTeX (the `katex` crate 0.4.6,
/// which mdbook-katex 0.10.0 uses), with `throw_on_error` on and otherwise
/// the options mdbook-katex builds from `[preprocessor.katex]` (its defaults
/// when absent: `$$…$$` display, `$…$` inline, no macros, `trust = false`).
///
/// Formulas are found in each page as mdbook-katex finds them: after mdBook
/// has expanded includes (when the `links` preprocessor runs first, as it does
/// when `katex` has `after = ["links"]`), skipping backtick code spans and
/// fences and backslash-escaped characters. Each problem is reported at the
/// formula's opening delimiter, in the file where it is written. Also
/// reported: a delimiter that is never closed and a backtick run that is never
/// closed (mdbook-katex renders no math after either), an inline formula
/// running across a blank line (an unescaped `$`), and a formula inside a
/// mermaid diagram when mdbook-mermaid runs before mdbook-katex.
pub fn check_math(root: &Path) -> Vec<Problem> {
    let cfg = BookConfig::load(root);
    let (markdown, mut problems) = markdown_files(&cfg);
    problems.extend(cfg.problems.iter().cloned());
    let (k, macros, config_problems) = katex_config(&cfg);
    problems.extend(config_problems);
    let inline_opts = katex_opts(&k, macros.clone(), false);
    let display_opts = katex_opts(&k, macros, true);
    let expand = cfg.includes_expanded_before("katex");
    let mermaid_first = cfg.runs_before("mermaid", "katex");

    let mut expander = Expander::new(&cfg.root);
    for chapter in chapter_files(&cfg, &markdown) {
        let Some(page) = expander.page(&chapter, expand) else {
            continue;
        };
        let (page, diagrams) = if mermaid_first {
            crate::mermaid::render_like_mdbook_mermaid(&page)
        } else {
            (page, Vec::new())
        };
        let mut report = |offset: usize, message: String| {
            let (file, line) = page.origin(offset);
            problems.push(Problem::new(&cfg.root, &file, line, message));
        };
        let (formulas, stop) = scan(&page.text, &k.block_delimiter, &k.inline_delimiter);
        for f in &formulas {
            let tex = &page.text[f.tex.clone()];
            let (kind, d) = if f.display {
                ("display", &k.block_delimiter)
            } else {
                ("inline", &k.inline_delimiter)
            };
            let shown = format!("{}{}{}", d.left, preview(tex, 60), d.right);
            if diagrams.iter().any(|r| r.contains(&f.open)) {
                report(
                    f.open,
                    format!(
                        "`{shown}` inside a mermaid diagram: mdbook-katex runs after mdbook-mermaid and replaces it with KaTeX HTML, breaking the diagram; write the dollar as `#36;`, or run mermaid after katex (`after = [\"katex\"]` in [preprocessor.mermaid])"
                    ),
                );
                continue;
            }
            if !f.display && has_blank_line(tex) {
                report(
                    f.open,
                    format!(
                        "inline formula `{shown}` runs across a blank line: probably an unescaped `$` (write a literal dollar as `\\$`)"
                    ),
                );
                continue;
            }
            let opts = if f.display {
                &display_opts
            } else {
                &inline_opts
            };
            if let Err(e) = katex::render_with_opts(tex, opts) {
                report(
                    f.open,
                    format!(
                        "KaTeX cannot render {kind} formula `{shown}`: {}",
                        katex_message(e)
                    ),
                );
            }
        }
        match stop {
            Some(Stop::UnclosedMath { open, display }) => {
                let d = if display {
                    &k.block_delimiter
                } else {
                    &k.inline_delimiter
                };
                report(
                    open,
                    format!(
                        "`{}` opens a formula that is never closed by `{}`: mdbook-katex renders no math after this point (write a literal dollar as `\\$`)",
                        d.left, d.right
                    ),
                );
            }
            Some(Stop::UnclosedBackticks { open, count }) => {
                // Only a defect when it hides math: scan what follows as if
                // the backticks were not there.
                let after = open + count;
                let (lost, _) =
                    scan(&page.text[after..], &k.block_delimiter, &k.inline_delimiter);
                if let Some(first) = lost.first() {
                    let (file, line) = page.origin(after + first.open);
                    report(
                        open,
                        format!(
                            "a run of {count} backtick(s) is never closed by another run of exactly {count}, so mdbook-katex renders no math after it ({} formula(s) left as raw TeX, the first at {}:{line})",
                            lost.len(),
                            crate::relative_to(&cfg.root, &file).display()
                        ),
                    );
                }
            }
            None => {}
        }
    }
    finish(problems)
}

fn has_blank_line(tex: &str) -> bool {
    let lines: Vec<&str> = tex.split('\n').collect();
    lines.len() > 2
        && lines[1..lines.len() - 1]
            .iter()
            .any(|l| l.trim().is_empty())
}
