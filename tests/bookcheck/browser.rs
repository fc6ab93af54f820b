//! The built book in a real browser: every page opened in headless Chromium, the way a
//! reader's browser shows it.
//!
//! The source checks and [`check_built_html`](crate::check_built_html) read files; this
//! check runs the page's scripts, so it also sees what only a browser can: a JavaScript
//! error, a mermaid diagram that mermaid refused (it draws a "Syntax error" diagram rather
//! than throwing), an image that does not load, KaTeX's stylesheet missing.

mod server;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use headless_chrome::protocol::cdp::Log::LogEntryLevel;
use headless_chrome::protocol::cdp::Runtime::{
    ConsoleAPICalledEventTypeOption, RemoteObject,
};
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde::Deserialize;
use walkdir::WalkDir;

use crate::{Problem, finish};
use server::{Server, same_url};

/// Flags Chromium starts with. The machines the book is checked on may have no network:
/// without the flags that stop background networking, QUIC, component updates and sync,
/// Chromium keeps opening connections that are refused. A fresh `--user-data-dir` (added
/// by [`check_in_browser`]) keeps any profile out of it.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    // Even with the flags above, Chromium 156 still looked up content-autofill, accounts
    // and update hosts at Google and its default search engine: about 500 DNS queries
    // for the book. The book is served from 127.0.0.1 by address and must read offline,
    // so no host name needs resolving; a page that asks for one (a CDN) gets an error.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-features=AutofillServerCommunication,OptimizationHints,Translate,MediaRouter",
    // Containers often have a small /dev/shm, which crashes tabs.
    "--disable-dev-shm-usage",
];

/// How long one page may take to load and draw its diagrams. A page normally settles in
/// well under a second; the bound only matters for a page that never does.
const PAGE_TIMEOUT: Duration = Duration::from_secs(15);
/// How often a loading page is asked whether it has settled.
const POLL: Duration = Duration::from_millis(25);

/// The JavaScript that reports what a page shows (see `Probe`).
const PROBE: &str = include_str!("browser/probe.js");

/// The command that installs Chromium on Debian and Ubuntu, for messages.
pub const INSTALL_CHROMIUM: &str = "apt-get update && apt-get install -y chromium";

/// The Chromium (or Chrome) to run: `$CHROME` when set (None when it names no file, so
/// that a wrong setting is not silently replaced), else the first of `chromium`,
/// `chromium-browser`, `google-chrome-stable` and `google-chrome` on `PATH`.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROME").map(PathBuf::from) {
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome-stable",
        "google-chrome",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|candidate| candidate.is_file())
}

/// The pages the browser check opens: every `.html` file under `html_dir` but two that
/// mdBook writes besides the chapters. `print.html` is all chapters on one page: opening it
/// would report each chapter's problems a second time, under the wrong name, and cost as
/// much as all chapters together. `toc.html` is the table of contents that the sidebar
/// loads into a frame for readers without JavaScript; it has no content of its own, and
/// opened alone it has no favicon link, so Chromium asks for `/favicon.ico`, which mdBook
/// does not write.
pub fn pages_to_open(html_dir: &Path) -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = WalkDir::new(html_dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.path().strip_prefix(html_dir).ok().map(Path::to_path_buf))
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .filter(|p| p != Path::new("print.html") && p != Path::new("toc.html"))
        .collect();
    pages.sort();
    pages
}

/// Opens every page of the built book at `html_dir` (see [`pages_to_open`]) in headless
/// Chromium (`chromium`, e.g. from [`find_chromium`]), served from a loopback HTTP server,
/// and reports, naming the page (`html_dir` joined with its path) and where possible the
/// line of its HTML:
///
/// - a console error or an uncaught exception, including a resource that failed to load;
///   Chromium resolves no host name, so anything not on the book's own server fails (the
///   book must read offline);
/// - a KaTeX error (class `katex-error`), TeX left unrendered in the text, or formulas
///   shown without KaTeX's stylesheet;
/// - a mermaid block that did not become an SVG, or became mermaid's error diagram;
/// - an image that did not load (`complete` false or `naturalWidth` 0).
///
/// Chromium that cannot start is one problem on `html_dir`.
pub fn check_in_browser(html_dir: &Path, chromium: &Path) -> BrowserReport {
    let mut report = BrowserReport::default();
    let mut fail = |message: String| {
        report.problems.push(Problem {
            file: html_dir.to_path_buf(),
            line: 1,
            message,
        });
    };
    if !html_dir.is_dir() {
        fail(
            "not a directory: expected the built book (run the book build first)".into(),
        );
        return report;
    }
    let server = match Server::start(html_dir) {
        Ok(server) => server,
        Err(e) => {
            fail(format!("cannot serve the book on 127.0.0.1: {e}"));
            return report;
        }
    };
    match Session::start(chromium) {
        Ok(session) => report.open_all(html_dir, &server, &session),
        Err(e) => fail(format!(
            "cannot start Chromium ({}): {e:#}",
            chromium.display()
        )),
    }
    report.problems = finish(std::mem::take(&mut report.problems));
    report
}

/// What the browser check opened and found. The counts show that it saw the book's
/// content, not only that it found nothing wrong.
#[derive(Debug, Default)]
pub struct BrowserReport {
    /// Pages opened.
    pub pages: usize,
    /// Mermaid diagrams, drawn or not.
    pub diagrams: usize,
    /// Images, loaded or not.
    pub images: usize,
    /// Formulas KaTeX rendered.
    pub formulas: usize,
    /// What is wrong, by page.
    pub problems: Vec<Problem>,
}

impl BrowserReport {
    fn open_all(&mut self, html_dir: &Path, server: &Server, session: &Session) {
        for page in pages_to_open(html_dir) {
            let file = html_dir.join(&page);
            let html = std::fs::read_to_string(&file).unwrap_or_default();
            self.pages += 1;
            let found = match session.open(&server.url(&page)) {
                Ok(seen) => {
                    self.diagrams += seen.probe.diagrams.len();
                    self.images += seen.probe.images.len();
                    self.formulas += seen.probe.formulas;
                    seen.problems()
                }
                Err(e) => {
                    vec![(None, format!("the browser could not open the page: {e:#}"))]
                }
            };
            self.problems
                .extend(found.into_iter().map(|(needle, message)| Problem {
                    file: file.clone(),
                    line: needle.map_or(1, |n| n.line_in(&html)),
                    message,
                }));
        }
    }
}

/// A running headless Chromium with one tab, and the errors its pages log.
struct Session {
    // The browser must outlive its tab; dropping it ends the Chromium process.
    _browser: Browser,
    tab: Arc<Tab>,
    errors: Arc<Mutex<Vec<Logged>>>,
    // Last, so that it is removed after Chromium has been told to end.
    _profile: Profile,
}

/// Chromium's fresh profile directory, removed when dropped. Chromium's helper processes
/// outlive the browser process by a moment and may still write into it, so removal is
/// retried for a while rather than tried once.
struct Profile(PathBuf);

impl Profile {
    fn new() -> std::io::Result<Profile> {
        let dir = tempfile::Builder::new()
            .prefix("book-checks-chromium-")
            .tempdir()?;
        Ok(Profile(dir.keep()))
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        for _ in 0..40 {
            if std::fs::remove_dir_all(&self.0).is_ok() || !self.0.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Session {
    fn start(chromium: &Path) -> anyhow::Result<Session> {
        let profile = Profile::new()?;
        let options = LaunchOptions {
            path: Some(chromium.to_path_buf()),
            headless: true,
            sandbox: false,
            user_data_dir: Some(profile.0.clone()),
            // Ours instead of the crate's defaults, so that this file says every flag.
            disable_default_args: true,
            args: CHROMIUM_FLAGS.iter().map(std::ffi::OsStr::new).collect(),
            idle_browser_timeout: Duration::from_secs(60),
            ..LaunchOptions::default()
        };
        let browser = Browser::new(options)?;
        let tab = browser.new_tab()?;
        tab.set_default_timeout(PAGE_TIMEOUT);
        tab.enable_runtime()?;
        tab.enable_log()?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&errors);
        tab.add_event_listener(Arc::new(move |event: &Event| {
            if let Some(logged) = Logged::from_event(event) {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(logged);
            }
        }))?;
        Ok(Session {
            _browser: browser,
            tab,
            errors,
            _profile: profile,
        })
    }

    /// Loads `url` and waits until it has settled (loaded, diagrams drawn, images done)
    /// or [`PAGE_TIMEOUT`] has passed.
    fn open(&self, url: &str) -> anyhow::Result<Seen> {
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.tab.navigate_to(url)?;
        let started = Instant::now();
        let probe = loop {
            let probe = self.probe();
            match probe {
                // Until the new page has replaced the old one, the probe may see the old.
                Ok(p) if p.settled && same_url(&p.href, url) => break Ok(p),
                _ if started.elapsed() > PAGE_TIMEOUT => break probe,
                _ => std::thread::sleep(POLL),
            }
        };
        // A page that never settled still reports what it shows, and says so.
        let probe = probe?;
        let timed_out = !(probe.settled && same_url(&probe.href, url));
        let logged =
            std::mem::take(&mut *self.errors.lock().unwrap_or_else(|e| e.into_inner()));
        Ok(Seen {
            probe,
            logged,
            timed_out,
            url: url.to_string(),
        })
    }

    fn probe(&self) -> anyhow::Result<Probe> {
        let value = self.tab.evaluate(PROBE, false)?.value;
        let json = value
            .as_ref()
            .and_then(|v| v.as_str())
            .ok_or_else(|| anyhow::anyhow!("the page probe returned {value:?}"))?;
        Ok(serde_json::from_str(json)?)
    }
}

/// What `probe.js` reports about a page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    href: String,
    settled: bool,
    ready: bool,
    mermaid_loaded: bool,
    images: Vec<Image>,
    diagrams: Vec<Diagram>,
    formulas: usize,
    katex_errors: Vec<KatexError>,
    katex_styled: bool,
    raw_tex: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Image {
    /// As written in the page.
    src: String,
    /// As the browser resolved it.
    url: String,
    loaded: bool,
}

#[derive(Debug, Deserialize)]
struct Diagram {
    svg: bool,
    error: bool,
    text: String,
}

#[derive(Debug, Deserialize)]
struct KatexError {
    tex: String,
    why: String,
}

/// An error the page logged: console.error, an uncaught exception, or a browser log entry
/// (a resource that failed to load).
#[derive(Debug)]
struct Logged {
    what: &'static str,
    text: String,
    /// The script that raised it (the page itself for an inline script), or the resource
    /// that failed to load.
    url: Option<String>,
    /// The 1-based line in that script; None for a resource.
    line: Option<usize>,
}

impl Logged {
    fn from_event(event: &Event) -> Option<Logged> {
        match event {
            Event::RuntimeConsoleAPICalled(e)
                if matches!(
                    e.params.Type,
                    ConsoleAPICalledEventTypeOption::Error
                        | ConsoleAPICalledEventTypeOption::Assert
                ) =>
            {
                let frame = e
                    .params
                    .stack_trace
                    .as_ref()
                    .and_then(|s| s.call_frames.first());
                Some(Logged {
                    what: "console error",
                    text: e
                        .params
                        .args
                        .iter()
                        .map(remote_text)
                        .collect::<Vec<_>>()
                        .join(" "),
                    url: frame.map(|f| f.url.clone()),
                    line: frame.map(|f| f.line_number as usize + 1),
                })
            }
            Event::RuntimeExceptionThrown(e) => {
                let d = &e.params.exception_details;
                let detail = d.exception.as_ref().and_then(|x| x.description.clone());
                Some(Logged {
                    what: "uncaught exception",
                    text: match detail {
                        Some(detail) => format!("{}: {}", d.text, first_line(&detail)),
                        None => d.text.clone(),
                    },
                    url: d.url.clone(),
                    line: Some(d.line_number as usize + 1),
                })
            }
            Event::LogEntryAdded(e)
                if matches!(e.params.entry.level, LogEntryLevel::Error) =>
            {
                let entry = &e.params.entry;
                Some(Logged {
                    what: "console error",
                    text: entry.text.clone(),
                    url: entry.url.clone(),
                    line: None,
                })
            }
            _ => None,
        }
    }
}

fn remote_text(arg: &RemoteObject) -> String {
    match &arg.value {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => arg.description.clone().unwrap_or_default(),
    }
}

/// A URL on the loopback server as a path from the book's root: the port changes from
/// run to run and says nothing.
fn short(url: &str) -> &str {
    url.strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or(url)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Everything one page showed and logged.
struct Seen {
    probe: Probe,
    logged: Vec<Logged>,
    timed_out: bool,
    url: String,
}

/// Where a problem is in the page's HTML: the `nth` (0-based) occurrence of `text`, or a
/// line known from the browser.
enum Needle {
    Nth(&'static str, usize),
    First(String),
    Line(usize),
}

impl Needle {
    fn line_in(&self, html: &str) -> usize {
        let offset = match self {
            Needle::Nth(text, n) => html.match_indices(text).nth(*n).map(|(i, _)| i),
            Needle::First(text) => html.find(text.as_str()),
            Needle::Line(line) => return *line,
        };
        offset.map_or(1, |o| crate::line_of(html, o))
    }
}

impl Seen {
    /// The page's problems, each with where to find it in the HTML.
    fn problems(&self) -> Vec<(Option<Needle>, String)> {
        let mut out = Vec::new();
        self.logged_problems(&mut out);
        self.diagram_problems(&mut out);
        self.math_problems(&mut out);
        for image in self.probe.images.iter().filter(|i| !i.loaded) {
            out.push((
                Some(Needle::First(format!("src=\"{}\"", image.src))),
                format!("image did not load: {}", image.src),
            ));
        }
        // A diagram or image that never finished is reported above; only a page that
        // never finished loading needs saying here.
        let loaded = self.probe.ready && same_url(&self.probe.href, &self.url);
        if self.timed_out && !loaded {
            out.push((
                None,
                format!(
                    "gave up after {} s waiting for the page to finish loading",
                    PAGE_TIMEOUT.as_secs()
                ),
            ));
        }
        out
    }

    fn logged_problems(&self, out: &mut Vec<(Option<Needle>, String)>) {
        for logged in &self.logged {
            let url = logged.url.as_deref().unwrap_or("");
            let broken_image =
                self.probe.images.iter().any(|i| !i.loaded && i.url == url);
            if broken_image && logged.line.is_none() {
                // Its 404 is the image problem, which says where the image is.
                continue;
            }
            // A line number only points into the HTML when the page itself raised it.
            let (needle, place) = match logged.line {
                Some(line) if url == self.url => {
                    (Some(Needle::Line(line)), String::new())
                }
                Some(line) if !url.is_empty() => {
                    (None, format!(" (at {}:{line})", short(url)))
                }
                // A resource written out in full in the HTML (another host) is found there.
                None if !url.is_empty() => (
                    Some(Needle::First(url.to_string())),
                    format!(" ({})", short(url)),
                ),
                _ => (None, String::new()),
            };
            out.push((needle, format!("{}: {}{place}", logged.what, logged.text)));
        }
    }

    fn diagram_problems(&self, out: &mut Vec<(Option<Needle>, String)>) {
        let diagrams = &self.probe.diagrams;
        if !self.probe.mermaid_loaded && !diagrams.is_empty() {
            out.push((
                Some(Needle::Nth("class=\"mermaid\"", 0)),
                format!(
                    "mermaid's script did not load: {} diagram(s) not drawn",
                    diagrams.len()
                ),
            ));
            return;
        }
        for (n, d) in diagrams.iter().enumerate() {
            let message = if d.error {
                format!(
                    "mermaid diagram {} is mermaid's error diagram: {}",
                    n + 1,
                    d.text
                )
            } else if !d.svg {
                format!(
                    "mermaid diagram {} did not become an SVG within {} s: `{}`",
                    n + 1,
                    PAGE_TIMEOUT.as_secs(),
                    d.text
                )
            } else {
                continue;
            };
            out.push((Some(Needle::Nth("class=\"mermaid\"", n)), message));
        }
    }

    fn math_problems(&self, out: &mut Vec<(Option<Needle>, String)>) {
        for (n, e) in self.probe.katex_errors.iter().enumerate() {
            out.push((
                Some(Needle::Nth("class=\"katex-error\"", n)),
                format!("KaTeX error: `{}`: {}", e.tex, e.why),
            ));
        }
        for tex in &self.probe.raw_tex {
            out.push((
                Some(Needle::First(tex.chars().take(20).collect())),
                format!("TeX left unrendered in the page text: `{tex}`"),
            ));
        }
        if !self.probe.katex_styled {
            out.push((
                None,
                "formulas are shown without KaTeX's stylesheet (katex.min.css did not load)".into(),
            ));
        }
    }
}
