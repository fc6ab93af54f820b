//! `cargo xtask <command>`: everything the book needs, from a fresh clone.
//!
//! - `serve [ARGS]`: install the pinned tools if missing, regenerate figures, `mdbook serve ARGS`
//! - `build`: install the pinned tools if missing, write the static site to `book/`, check it
//! - `test`: every check CI runs: fmt, clippy (warnings denied), the workspace's tests, the
//!   real `mdbook build` with its preprocessors, the checks of the built HTML, and every
//!   page opened in headless Chromium (installed with apt-get when missing)
//! - `browser`: only open the already built `book/` in headless Chromium
//! - `figures`: regenerate every chapter's figures from its code
//! - `bench`: rerun the measurements the text quotes and write them into `src/figures/`
//! - `tools`: only install the pinned tools
//! - `models`: fetch the real pretrained checkpoints into the models cache (see `weights.rs`)

use std::env;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

mod weights;

/// The book's tools, pinned here and nowhere else.
const TOOLS: [(&str, &str); 3] = [
    ("mdbook", "0.5.4"),
    ("mdbook-katex", "0.10.0"),
    ("mdbook-mermaid", "0.17.1"),
];

/// Measurements the text quotes: (crate, example, where the output goes). They depend on
/// the machine, so they are rerun by `bench`, never by `test`.
const MEASUREMENTS: [(&str, &str, Output); 41] = [
    (
        "ch01-foundations",
        "matmul_gflops",
        Output::Stdout("src/figures/ch01/matmul-gflops.txt"),
    ),
    (
        "ch01-foundations",
        "tiled_matmul_speed",
        Output::Stdout("src/figures/ch01/tiled-matmul.txt"),
    ),
    (
        "ch03-attention",
        "attention_cost",
        Output::Dir("src/figures/ch03"),
    ),
    (
        "ch03-attention",
        "profile_parts",
        Output::Stdout("src/figures/ch03/profile-parts.txt"),
    ),
    (
        "ch06-decoder",
        "generation_cost",
        Output::Dir("src/figures/ch06"),
    ),
    // A training run: its figures are deterministic, its run file holds wall time.
    (
        "ch07-transformer",
        "translate",
        Output::Args(&["train", "--out", "src/figures/ch07"]),
    ),
    // Seven short training runs: figures and numbers deterministic, no wall time.
    (
        "ch07-transformer",
        "dropout_overfit",
        Output::Dir("src/figures/ch07"),
    ),
    // BERT pretrained on the book: its figure is deterministic, its run file holds wall time.
    (
        "ch08-encoder-only",
        "pretrain",
        Output::Args(&["--out", "src/figures/ch08"]),
    ),
    // Parity with sentence-transformers: needs the real weights (`models` below).
    (
        "ch08-encoder-only",
        "minilm_parity",
        Output::Stdout("src/figures/ch08/minilm-parity.txt"),
    ),
    // Fine-tuning from pretrained and from random weights: needs the real weights; its
    // figure and numbers are deterministic, its run file holds wall time.
    (
        "ch08-encoder-only",
        "finetune",
        Output::Args(&["--out", "src/figures/ch08"]),
    ),
    // The trainable Llama against transformers' LlamaForCausalLM (a committed fixture).
    (
        "ch09-decoder-only",
        "llama_parity",
        Output::Stdout("src/figures/ch09/llama-parity.txt"),
    ),
    // Zero- and few-shot SmolLM2 on Chapter 8's sentiment sentences: needs the real
    // weights; its table, figure and prompts are deterministic (wall time on stderr).
    (
        "ch09-decoder-only",
        "few_shot",
        Output::Args(&["--out", "src/figures/ch09"]),
    ),
    // GPT-2 and Llama trained on the book: its figure and numbers are deterministic, its
    // run file holds wall time.
    (
        "ch09-decoder-only",
        "train_decoders",
        Output::Args(&["--out", "src/figures/ch09"]),
    ),
    // T5 against transformers' T5ForConditionalGeneration (committed fixtures).
    (
        "ch10-encoder-decoder",
        "t5_parity",
        Output::Stdout("src/figures/ch10/t5-parity.txt"),
    ),
    // Span corruption of a short passage, seeded.
    (
        "ch10-encoder-decoder",
        "span_corruption",
        Output::Stdout("src/figures/ch10/span-corruption.txt"),
    ),
    // The real Whisper tiny.en against CTranslate2 (a committed fixture): needs the real
    // weights.
    (
        "ch10-encoder-decoder",
        "whisper_parity",
        Output::Stdout("src/figures/ch10/whisper-parity.txt"),
    ),
    // Whisper tiny.en transcribing every committed clip, with its word error rate: needs
    // the real weights.
    (
        "ch10-encoder-decoder",
        "transcripts",
        Output::Stdout("src/figures/ch10/transcripts.txt"),
    ),
    // Whisper's log-mel of one espeak-ng clip, and its parity with openai-whisper on every
    // clip: deterministic, but needs the mel filters from the models cache.
    (
        "ch10-encoder-decoder",
        "log_mel",
        Output::Args(&[
            "listings/ch10-encoder-decoder/tests/audio/question.wav",
            "--out",
            "src/figures/ch10",
        ]),
    ),
    // T5 pretrained by span corruption on the book vs from scratch, on two prefixed tasks.
    (
        "ch10-encoder-decoder",
        "t5_experiment",
        Output::Args(&["--out", "src/figures/ch10"]),
    ),
    // SGD, Adam and AdamW against torch.optim (a committed fixture).
    (
        "ch11-training",
        "optim_parity",
        Output::Stdout("src/figures/ch11/optim-parity.txt"),
    ),
    // Adam's coupled L2 against AdamW's decay, and the schedules' figure: deterministic.
    (
        "ch11-training",
        "optim_figures",
        Output::Dir("src/figures/ch11"),
    ),
    // One corrupted batch with and without clipping; accumulation against one batch:
    // deterministic, seconds.
    ("ch11-training", "clipping_spike", Output::Args(&[])),
    ("ch11-training", "accumulation", Output::Args(&[])),
    // f32, bf16 and fp16 with and without loss scaling on Chapter 9's Llama: curves
    // deterministic, step times measured (minutes).
    (
        "ch11-training",
        "mixed_precision",
        Output::Args(&["--out", "src/figures/ch11"]),
    ),
    // The initial-loss check, the learning-rate sweep (minutes), warm-up on Post-LN and
    // the resumed run: deterministic.
    (
        "ch11-training",
        "init_loss",
        Output::Dir("src/figures/ch11"),
    ),
    (
        "ch11-training",
        "lr_sweep",
        Output::Args(&["--out", "src/figures/ch11"]),
    ),
    (
        "ch11-training",
        "warmup_postln",
        Output::Dir("src/figures/ch11"),
    ),
    (
        "ch11-training",
        "resume",
        Output::Args(&["--out", "src/figures/ch11"]),
    ),
    // Chapter 9's recipe against the chapter's on Chapter 9's budget (minutes).
    (
        "ch11-training",
        "recipe",
        Output::Args(&["--out", "src/figures/ch11"]),
    ),
    // This machine's bandwidth and SmolLM2 on the roofline; the KV cache against
    // recomputing the prefix; speculative decoding against the draft length (minutes):
    // timings, and they need the real weights.
    // The sampling section's figure: deterministic, instant.
    ("ch12-inference", "sampling_figure", Output::Args(&[])),
    ("ch12-inference", "stream_bandwidth", Output::Args(&[])),
    ("ch12-inference", "kv_speedup", Output::Args(&[])),
    ("ch12-inference", "speculative", Output::Args(&[])),
    // Chapter 13: LoRA against full fine-tuning, and on an NF4 base (minutes each); the
    // 16-bit formats and the integer schemes on SmolLM2's weights and activations; NF4's
    // error and the memory account; Flash Attention's memory and time against T (minutes);
    // SmolLM2's perplexity in every format; PTQ against QAT (minutes).
    ("ch13-optimizations", "lora_finetune", Output::Args(&[])),
    (
        "ch13-optimizations",
        "lora_finetune",
        Output::Args(&["--qlora"]),
    ),
    ("ch13-optimizations", "number_formats", Output::Args(&[])),
    ("ch13-optimizations", "quant_errors", Output::Args(&[])),
    ("ch13-optimizations", "qlora_nf4", Output::Args(&[])),
    ("ch13-optimizations", "flash_measure", Output::Args(&[])),
    ("ch13-optimizations", "quant_quality", Output::Args(&[])),
    ("ch13-optimizations", "qat_vs_ptq", Output::Args(&[])),
];

/// Where a measuring example's results go.
enum Output {
    /// Its standard output is the measurement, written to this file.
    Stdout(&'static str),
    /// It writes its own files into this directory, given as its first argument.
    Dir(&'static str),
    /// It writes its own files where these arguments tell it to.
    Args(&'static [&'static str]),
}

fn main() -> Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask lives inside the workspace")?;
    env::set_current_dir(root)?;
    let started = Instant::now();
    match args.first().map(String::as_str) {
        Some("serve") => {
            install_tools()?;
            figures()?;
            run(Command::new("mdbook").arg("serve").args(&args[1..]))?;
        }
        Some("build") => {
            install_tools()?;
            build_book()?;
        }
        Some("test") => test()?,
        Some("browser") => {
            let chromium = ensure_chromium()?;
            check_in_browser(&chromium)?;
        }
        Some("figures") => figures()?,
        Some("bench") => bench()?,
        Some("tools") => install_tools()?,
        Some("models") => weights::fetch_all()?,
        _ => bail!(
            "usage: cargo xtask serve [mdbook serve args] | build | test | browser | figures | bench | tools | models"
        ),
    }
    eprintln!(
        "xtask {}: done in {:.0} s",
        args[0],
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Installs each pinned tool that is missing or at another version, with `cargo install
/// --locked` so the tools' own dependencies are the versions their authors tested.
fn install_tools() -> Result<()> {
    prepend_cargo_bin_to_path()?;
    for (name, version) in TOOLS {
        let installed = Command::new(name)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        match installed {
            Some(v) if reports_version(&v, version) => {}
            other => {
                let have = other
                    .map_or("not installed".into(), |v| format!("found {}", v.trim()));
                eprintln!(
                    "xtask: installing {name} {version} ({have}); a cold install takes minutes"
                );
                run(Command::new("cargo").args([
                    "install",
                    "--locked",
                    "--version",
                    version,
                    name,
                ]))?;
            }
        }
    }
    Ok(())
}

/// Whether a tool's `--version` output ("mdbook v0.5.4", "mdbook-katex 0.10.0") names
/// exactly `version`: 0.5.40 or 10.5.4 must not pass for 0.5.4.
fn reports_version(output: &str, version: &str) -> bool {
    output
        .split_whitespace()
        .any(|word| word.trim_start_matches('v') == version)
}

/// `cargo install` puts binaries in $CARGO_HOME/bin, which a fresh shell may not have on
/// PATH; mdbook finds its preprocessors through PATH, so put it there for our children.
fn prepend_cargo_bin_to_path() -> Result<()> {
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let mut paths = vec![cargo_home.join("bin")];
    paths.extend(env::split_paths(&env::var_os("PATH").unwrap_or_default()));
    // SAFETY: xtask is single-threaded; nothing reads the environment concurrently.
    unsafe { env::set_var("PATH", env::join_paths(paths)?) };
    Ok(())
}

/// Everything CI checks, in order of how fast each fails.
fn test() -> Result<()> {
    weights::fetch_all()?;
    install_tools()?;
    // Before `cargo test`: the browser check's own test needs Chromium too.
    let chromium = ensure_chromium()?;
    run(Command::new("cargo").args(["fmt", "--all", "--check"]))?;
    run(Command::new("cargo").args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    // Snapshots are compared, never written, in a check.
    run(Command::new("cargo")
        .args(["test", "--workspace", "--locked"])
        .env("INSTA_UPDATE", "no"))?;
    build_book()?;
    check_in_browser(&chromium)?;
    eprintln!("xtask test: all checks passed");
    Ok(())
}

/// `mdbook build` with the real preprocessors, then the checks of its output that only the
/// built pages can show (KaTeX errors the preprocessor only warned about).
fn build_book() -> Result<()> {
    run(Command::new("mdbook").arg("build"))?;
    let problems = book_checks::check_built_html(Path::new("book"));
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        bail!("{} problem(s) in the built book", problems.len());
    }
    Ok(())
}

/// The Chromium the browser check runs. When none is installed, installs Debian's
/// `chromium` package: with apt-get as root (as in CI containers), through `sudo -n` where
/// that works without a password (GitHub's runners); otherwise fails naming the command.
fn ensure_chromium() -> Result<PathBuf> {
    if let Some(path) = book_checks::find_chromium() {
        return Ok(path);
    }
    if let Some(chrome) = env::var_os("CHROME") {
        bail!(
            "CHROME is set to {}, which is not a file: point it at a Chrome or Chromium binary, \
             or unset it to use (or install) Debian's chromium",
            Path::new(&chrome).display()
        );
    }
    let sudo = if is_root() {
        false
    } else if Command::new("sudo")
        .args(["-n", "true"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        true
    } else {
        bail!(
            "Chromium is not installed, and the browser check opens every page in it. \
             Install it with: sudo sh -c '{}' (or set CHROME to a Chrome or Chromium binary)",
            book_checks::INSTALL_CHROMIUM
        );
    };
    eprintln!(
        "xtask: Chromium is not installed; the browser check opens every page of the book \
         in it, so installing Debian's `chromium` package with apt-get (a minute or two)"
    );
    apt_get(sudo, &["update"])?;
    apt_get(sudo, &["install", "-y", "chromium"]).context(
        "installing Debian's `chromium` failed; where the distribution has no such package \
         (Ubuntu ships Chromium as a snap), install Chrome or Chromium and set CHROME to it",
    )?;
    book_checks::find_chromium()
        .context("apt-get installed `chromium`, but no chromium binary is on PATH")
}

/// `apt-get ARGS`, non-interactive, as root or through `sudo -n`.
fn apt_get(sudo: bool, args: &[&str]) -> Result<()> {
    let mut cmd = if sudo {
        // sudo resets the environment; `env` passes on the one setting apt needs.
        let mut cmd = Command::new("sudo");
        cmd.args(["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        cmd
    } else {
        let mut cmd = Command::new("apt-get");
        cmd.env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(cmd.args(args))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Opens every page of the built `book/` in headless Chromium: JavaScript errors, mermaid
/// diagrams that did not draw, KaTeX errors and images that did not load.
fn check_in_browser(chromium: &Path) -> Result<()> {
    let book = Path::new("book");
    eprintln!(
        "xtask: opening every page of book/ in headless Chromium ({})",
        chromium.display()
    );
    let started = Instant::now();
    let report = book_checks::check_in_browser(book, chromium);
    for p in &report.problems {
        eprintln!("{p}");
    }
    eprintln!(
        "xtask: browser check: {} pages, {} mermaid diagrams, {} images, {} formulas in {:.1} s",
        report.pages,
        report.diagrams,
        report.images,
        report.formulas,
        started.elapsed().as_secs_f64()
    );
    if !report.problems.is_empty() {
        bail!(
            "{} problem(s) in the book in a browser",
            report.problems.len()
        );
    }
    Ok(())
}

/// Runs each chapter's `chNN_figures` example, writing into `src/figures/chNN/`. Example
/// names carry the chapter because cargo wants them unique across the workspace.
fn figures() -> Result<()> {
    for (krate, chapter) in chapter_crates()? {
        let example = format!("{chapter}_figures");
        if Path::new("listings")
            .join(&krate)
            .join(format!("examples/{example}.rs"))
            .exists()
        {
            let out = env::current_dir()?.join("src/figures").join(&chapter);
            run(Command::new("cargo")
                .args([
                    "run",
                    "--release",
                    "--quiet",
                    "-p",
                    &krate,
                    "--example",
                    &example,
                    "--",
                ])
                .arg(&out))?;
        }
    }
    Ok(())
}

/// Measurements side by side with Python references (tiktoken, Hugging Face tokenizers,
/// PyTorch, sentence-transformers, transformers, llama.cpp through llama-cpp-python,
/// faster-whisper and openai-whisper):
/// scripts under tools/golden/ that need its virtual environment and write their own files.
const REFERENCE_BENCHES: [&str; 10] = [
    "bench_ch02_bpe.py",
    "bench_ch03.py",
    "bench_ch04.py",
    "bench_ch07.py",
    "bench_ch08.py",
    "bench_ch09.py",
    "bench_ch10.py",
    "bench_ch11.py",
    "bench_ch12.py",
    "bench_ch13.py",
];

/// Reruns the measurements the text quotes, writing each example's output to its file.
fn bench() -> Result<()> {
    weights::fetch_all()?;
    let python = Path::new("tools/golden/.venv/bin/python");
    for script in REFERENCE_BENCHES {
        if python.exists() {
            eprintln!("xtask bench: tools/golden/{script}");
            // Not canonicalize(): that follows the venv's symlink to the system interpreter.
            let python = env::current_dir()?.join(python);
            run(Command::new(python).arg(script).current_dir("tools/golden"))?;
        } else {
            eprintln!(
                "xtask bench: skipping tools/golden/{script}: it compares with Python references; \
                 set up tools/golden/.venv first (see tools/golden/README.md)"
            );
        }
    }
    for (krate, example, output) in MEASUREMENTS {
        let mut cmd = Command::new("cargo");
        cmd.args([
            "run",
            "--release",
            "--quiet",
            "-p",
            krate,
            "--example",
            example,
        ]);
        match output {
            Output::Dir(dir) => {
                eprintln!("xtask bench: {krate} --example {example} -> {dir}/");
                run(cmd.arg("--").arg(dir))?;
            }
            Output::Args(args) => {
                eprintln!(
                    "xtask bench: {krate} --example {example} {}",
                    args.join(" ")
                );
                run(cmd.arg("--").args(args))?;
            }
            Output::Stdout(file) => {
                eprintln!("xtask bench: {krate} --example {example} -> {file}");
                let out = cmd
                    .output()
                    .with_context(|| format!("running {krate} --example {example}"))?;
                if !out.status.success() {
                    bail!(
                        "{krate} --example {example} failed:\n{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                std::fs::write(file, &out.stdout)
                    .with_context(|| format!("writing {file}"))?;
                print!("{}", String::from_utf8_lossy(&out.stdout));
            }
        }
    }
    Ok(())
}

/// (crate name, chapter prefix) for every crate under `listings/`, e.g.
/// ("ch01-foundations", "ch01").
fn chapter_crates() -> Result<Vec<(String, String)>> {
    let mut crates = Vec::new();
    for entry in std::fs::read_dir("listings").context("reading listings/")? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(prefix) = name.split('-').next().filter(|p| p.starts_with("ch")) {
            crates.push((name.clone(), prefix.to_owned()));
        }
    }
    crates.sort();
    Ok(crates)
}

fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args()
            .map(OsStr::to_string_lossy)
            .collect::<Vec<_>>()
            .join(" ")
    );
    eprintln!("xtask: {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed with {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::reports_version;

    #[test]
    fn version_check_matches_the_tools_output_exactly() {
        assert!(reports_version("mdbook v0.5.4\n", "0.5.4"));
        assert!(reports_version("mdbook-katex 0.10.0", "0.10.0"));
        assert!(reports_version("mdbook-mermaid 0.17.1", "0.17.1"));
        assert!(!reports_version("mdbook v0.5.40", "0.5.4"));
        assert!(!reports_version("mdbook v10.5.4", "0.5.4"));
        assert!(!reports_version("mdbook-katex 0.9.0", "0.10.0"));
        assert!(!reports_version("", "0.5.4"));
    }
}
